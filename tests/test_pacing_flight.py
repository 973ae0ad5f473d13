"""A window scope's permits taken for a write count as in flight until the write is over, then
a window from then; a write that sent nothing gives them back; nobody ending them, they stop
counting by themselves. On the real Redis scripts."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import ClientSession, TraceConfig, web
from yarl import URL

from bridge import pacing
from bridge.contracts import Allowance, EditRate, Grant, Priority, fencing, writing
from bridge.contracts.toolkit.arrival import Scope, pace_requests
from bridge.pacing import EditBudget
from bridge.store import Store
from tests.loopback import serving

WINDOW = 0.2


def window(name: str, burst: int = 2) -> tuple[Allowance, ...]:
    return (
        Allowance(name, EditRate(per_second=burst / WINDOW, burst=float(burst), window=WINDOW)),
    )


async def fill(budget: EditBudget, scope: tuple[Allowance, ...], grant: Grant) -> None:
    for _ in range(2):
        assert await budget.take(scope, priority=Priority.FINAL, grant=grant) == 0


async def test_permits_in_flight_count_past_the_window_and_the_wait_is_a_short_poll(
    store: Store,
) -> None:
    budget = EditBudget(store.redis, store.keys)
    scope = window("flying")
    grant = Grant()
    await fill(budget, scope, grant)
    assert grant.open
    await asyncio.sleep(3 * WINDOW)
    wait = await budget.take(scope, priority=Priority.FINAL)
    assert 0 < wait <= 0.1


async def test_a_write_that_sent_counts_a_window_from_its_end(store: Store) -> None:
    budget = EditBudget(store.redis, store.keys)
    scope = window("settled")
    grant = Grant()
    await fill(budget, scope, grant)
    await asyncio.sleep(2 * WINDOW)
    grant.sent = True
    ended = time.monotonic()
    await grant.end()
    assert not grant.open
    wait = await budget.take(scope, priority=Priority.FINAL)
    assert WINDOW - 0.05 <= wait <= WINDOW
    await asyncio.sleep(wait - (time.monotonic() - ended) + 0.01)
    assert await budget.take(scope, priority=Priority.FINAL) == 0


async def test_a_write_that_sent_nothing_gives_its_permits_back(store: Store) -> None:
    """The write fails before its request leaves (or is cancelled): its permits are free at
    once, not a window later."""
    budget = EditBudget(store.redis, store.keys)
    scope = window("unused")
    with pytest.raises(RuntimeError):
        async with writing(Priority.FINAL) as grant:
            await fill(budget, scope, grant)
            raise RuntimeError("refused before sending")
    assert await budget.take(scope, priority=Priority.FINAL) == 0
    assert await budget.take(scope, priority=Priority.FINAL) == 0


async def test_writing_ends_a_sent_write_when_the_block_is_over(store: Store) -> None:
    budget = EditBudget(store.redis, store.keys)
    scope = window("block")
    async with writing(Priority.FINAL) as grant:
        await fill(budget, scope, grant)
        grant.sent = True
    assert not grant.open
    assert 0.1 < await budget.take(scope, priority=Priority.FINAL) <= WINDOW


async def test_permits_nobody_ends_stop_counting_after_the_flight_bound(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that died mid-write leaves its permits in flight: they count for `FLIGHT`,
    then a window, then the slots are free again."""
    monkeypatch.setattr(pacing, "FLIGHT", 0.3)
    budget = EditBudget(store.redis, store.keys)
    scope = window("orphan")
    await fill(budget, scope, Grant())
    assert await budget.take(scope, priority=Priority.FINAL) > 0
    await asyncio.sleep(0.3 + WINDOW + 0.05)
    assert await budget.take(scope, priority=Priority.FINAL) == 0


async def test_a_refused_take_gives_back_the_window_permits_it_took_before(store: Store) -> None:
    budget = EditBudget(store.redis, store.keys)
    free, full = window("free", burst=1), window("full", burst=1)
    assert await budget.take(full, priority=Priority.FINAL) == 0
    grant = Grant()
    assert await budget.take((*free, *full), priority=Priority.FINAL, grant=grant) > 0
    assert not grant.open
    assert await budget.take(free, priority=Priority.FINAL) == 0


async def test_a_token_bucket_takes_nothing_into_a_grant(store: Store) -> None:
    """Slack's and Mattermost's scopes are token buckets: nothing of theirs is in flight."""
    budget = EditBudget(store.redis, store.keys)
    bucket = (Allowance("bucket", EditRate(per_second=1.0, burst=2.0)),)
    grant = Grant()
    assert await budget.take(bucket, priority=Priority.FINAL, grant=grant) == 0
    assert not grant.open
    assert await budget.take(bucket, priority=Priority.FINAL) == 0
    assert await budget.take(bucket, priority=Priority.FINAL) > 0


class Refused(Exception):
    pass


def refuse() -> None:
    raise Refused


async def test_a_request_the_fence_refuses_gives_back_the_permit_it_took(store: Store) -> None:
    """Requests made outside a write take their shared permit as they leave; two refused by
    the write fence give it back, so two more go at once on a window of two."""
    budget = EditBudget(store.redis, store.keys)
    shared = window("hook")
    app = web.Application()
    app.router.add_get("/x", lambda _: web.Response(text="ok"))

    async def permit(_: str, __: URL, priority: Priority, grant: Grant) -> None:
        await budget.acquire(shared, priority=priority, grant=grant)

    trace = pace_requests(
        TraceConfig(), lambda _, __: (Scope("hook", 100, 0.01),), permit, check=fencing.check
    )
    async with serving(app) as port, ClientSession(trace_configs=[trace]) as session:
        url = f"http://127.0.0.1:{port}/x"
        with fencing.fenced(refuse):
            for _ in range(2):
                with pytest.raises(Refused):
                    await session.get(url)
        async with asyncio.timeout(WINDOW / 2):
            for _ in range(2):
                async with session.get(url) as answer:
                    assert answer.status == 200
    assert 0.1 < await budget.take(shared, priority=Priority.FINAL) <= WINDOW
