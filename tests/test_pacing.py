"""The shared edit budget's priorities, on the real Redis scripts."""

from __future__ import annotations

import asyncio
import time

from bridge import pacing
from bridge.contracts import Allowance, EditRate, Priority
from bridge.pacing import EditBudget, reserve
from bridge.store import Store


def test_first_texts_and_finals_spend_the_burst_interim_only_a_full_buckets_surplus() -> None:
    tier3 = EditRate(per_second=50 / 60, burst=5.0)
    assert reserve(Priority.FIRST, tier3) == 0
    assert reserve(Priority.FINAL, tier3) == 0
    assert reserve(Priority.INTERIM, tier3) == 4
    assert reserve(Priority.STATUS, tier3) == 4
    assert reserve(Priority.INTERIM, EditRate(per_second=1.0, burst=1.0)) == 0
    window = EditRate(per_second=50 / 1.15, burst=50.0, window=1.15)
    assert reserve(Priority.FINAL, window) == 0
    assert reserve(Priority.INTERIM, window) == 5
    assert reserve(Priority.STATUS, window) == 25
    channel = EditRate(per_second=5 / 5.15, burst=5.0, window=5.15)
    assert reserve(Priority.INTERIM, channel) == 1
    assert reserve(Priority.STATUS, channel) == 3


async def test_five_finals_go_at_once_on_a_burst_of_five(store: Store) -> None:
    """Five replies completing together on a Tier 3 scope (burst 5): none waits for a refill."""
    budget = EditBudget(store.redis, store.keys)
    scope = (Allowance("tier3", EditRate(per_second=50 / 60, burst=5.0)),)
    waits = [await budget.take(scope, priority=Priority.FINAL) for _ in range(5)]
    assert waits == [0.0] * 5
    assert await budget.take(scope, priority=Priority.FINAL) > 1.0


async def test_an_interim_edit_leaves_the_rest_of_the_burst_to_finals(store: Store) -> None:
    budget = EditBudget(store.redis, store.keys)
    scope = (Allowance("tier3", EditRate(per_second=50 / 60, burst=5.0)),)
    assert await budget.take(scope, priority=Priority.INTERIM) == 0
    assert await budget.take(scope, priority=Priority.INTERIM) > 0
    waits = [await budget.take(scope, priority=Priority.FINAL) for _ in range(4)]
    assert waits == [0.0] * 4


async def test_a_waiting_final_holds_interim_edits_back(store: Store) -> None:
    """A final refused on a busy scope: no interim edit is granted there, even with a token
    free, until the final has had its permit."""
    budget = EditBudget(store.redis, store.keys)
    scope = (Allowance("busy", EditRate(per_second=20.0, burst=1.0)),)
    assert await budget.take(scope, priority=Priority.FINAL) == 0
    assert await budget.take(scope, priority=Priority.FINAL, waiter="final") > 0
    refused_until = time.monotonic() + 0.3
    while time.monotonic() < refused_until:
        assert await budget.take(scope, priority=Priority.INTERIM) > 0
        await asyncio.sleep(0.02)
    assert await budget.take(scope, priority=Priority.FINAL, waiter="final") == 0
    deadline = time.monotonic() + 5
    while await budget.take(scope, priority=Priority.INTERIM) > 0:
        assert time.monotonic() < deadline, "interim edits stayed held after the final"
        await asyncio.sleep(0.02)


async def test_a_sliding_window_grants_its_whole_allowance_then_waits_for_the_oldest(
    store: Store,
) -> None:
    """50 per 1.15 s: fifty at once, the 51st when the first grant leaves the window; interim
    edits leave a tenth of the window to first texts and finals."""
    budget = EditBudget(store.redis, store.keys)
    scope = (Allowance("global", EditRate(per_second=50 / 1.15, burst=50.0, window=1.15)),)
    started = time.monotonic()
    interim = [await budget.take(scope, priority=Priority.INTERIM) for _ in range(50)]
    assert interim.count(0.0) == 45
    firsts = [await budget.take(scope, priority=Priority.FIRST) for _ in range(5)]
    assert firsts == [0.0] * 5
    wait = await budget.take(scope, priority=Priority.FIRST)
    assert 1.15 - (time.monotonic() - started) - 0.05 <= wait <= 1.15


async def test_a_429_pauses_a_sliding_window_too(store: Store) -> None:
    budget = EditBudget(store.redis, store.keys)
    allowance = Allowance("paused", EditRate(per_second=50.0, burst=50.0, window=1.0))
    await budget.pause(allowance, 2.0)
    assert 1.5 < await budget.take((allowance,), priority=Priority.FIRST) <= 2.0


def long_window(burst: int) -> tuple[Allowance, ...]:
    seconds = pacing.LONG_WINDOW
    return (Allowance("long", EditRate(per_second=burst / seconds, burst=burst, window=seconds)),)


async def test_on_a_long_window_interim_edits_leave_a_final_for_every_open_reply(
    store: Store,
) -> None:
    """Three replies open on a 10-slot window that holds a refused final for its whole length:
    their interim edits stop while three slots are left, so all three finish at once."""
    budget = EditBudget(store.redis, store.keys)
    scope = long_window(10)
    replies = ["a", "b", "c"]
    for reply in replies:
        assert await budget.take(scope, priority=Priority.FIRST, reply=reply) == 0
    interims = 0
    while await budget.take(scope, priority=Priority.INTERIM, reply="a") == 0:
        interims += 1
    assert interims == 4
    for reply in replies:
        assert await budget.take(scope, priority=Priority.FINAL, reply=reply) == 0


async def test_a_finished_reply_leaves_its_slot_to_interim_edits(store: Store) -> None:
    budget = EditBudget(store.redis, store.keys)
    scope = long_window(10)
    for reply in ("a", "b"):
        assert await budget.take(scope, priority=Priority.FIRST, reply=reply) == 0
    assert await budget.take(scope, priority=Priority.FINAL, reply="b") == 0
    interims = 0
    while await budget.take(scope, priority=Priority.INTERIM, reply="a") == 0:
        interims += 1
    assert interims == 10 - 3 - 1


async def test_many_waiters_on_one_scope_ask_redis_a_few_times_per_permit(store: Store) -> None:
    """Forty writes queued on a scope that frees 20 permits a second: all are granted at that
    pace, and Redis is asked a few times per permit, not by every waiter every 50 ms."""
    budget = EditBudget(store.redis, store.keys)
    script = budget._script
    calls = 0

    async def counted(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        return await script(*args, **kwargs)

    budget._script = counted  # type: ignore[assignment]
    scope = (Allowance("crowded", EditRate(per_second=20.0, burst=1.0)),)
    started = time.monotonic()
    await asyncio.gather(*(budget.acquire(scope, priority=Priority.FINAL) for _ in range(40)))
    took = time.monotonic() - started
    assert 1.8 <= took < 4.0
    assert calls < 200, calls


async def test_a_long_window_with_as_many_open_replies_as_slots_refuses_interim_edits(
    store: Store,
) -> None:
    """Every slot is some open reply's: an interim edit or status is told to ask again after
    a slot's share of the window (the script once failed here instead)."""
    budget = EditBudget(store.redis, store.keys)
    scope = long_window(4)
    for reply in "abcd":
        assert await budget.take(scope, priority=Priority.FIRST, reply=reply) == 0
    for priority in (Priority.INTERIM, Priority.STATUS):
        assert 0 < await budget.take(scope, priority=priority, reply="a") <= 2.6


async def test_an_open_replys_interim_edit_keeps_the_open_replies_alive(store: Store) -> None:
    budget = EditBudget(store.redis, store.keys)
    scope = long_window(10)
    key = store.keys.budget_replies("long")
    assert await budget.take(scope, priority=Priority.FIRST, reply="a") == 0
    await asyncio.sleep(0.3)
    before = await store.redis.pttl(key)
    assert await budget.take(scope, priority=Priority.INTERIM, reply="a") == 0
    assert await store.redis.pttl(key) > before + 200
