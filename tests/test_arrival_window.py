"""`ArrivalWindow`: a request counts on each of its scopes from sending until that scope's window
after its answer, waits until every scope has room, and waiters leave by priority, then first
come first served, without holding back requests whose scopes are free."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import ClientSession, TraceConfig, web

from bridge.contracts import Priority, fencing
from bridge.contracts.fencing import fence_requests
from bridge.contracts.toolkit.arrival import ArrivalWindow, Scope, pace_requests
from tests.loopback import serving

WINDOW = 1.0


def scope(key: str, limit: int, seconds: float = WINDOW) -> Scope:
    return Scope(key, limit, seconds)


async def test_a_request_counts_until_a_window_after_its_answer() -> None:
    """Ten requests through a window of four, each answered 0.1 s after it left: when one
    leaves, fewer than four others were sent and not yet a window past their answer."""
    window = ArrivalWindow()
    scopes = (scope("global", 4),)
    entered: dict[int, float] = {}
    answered: dict[int, float] = {}

    async def request(i: int) -> None:
        token = object()
        await window.enter(token, scopes, Priority.FINAL)
        entered[i] = time.monotonic()
        await asyncio.sleep(0.1)
        answered[i] = time.monotonic()
        window.leave(token)

    await asyncio.gather(*(request(i) for i in range(10)))
    for j, sent in entered.items():
        counting = [
            i for i in entered if i != j and entered[i] <= sent < answered[i] + WINDOW - 0.01
        ]
        assert len(counting) < 4, (j, sorted(counting))
    assert max(entered.values()) - min(entered.values()) >= 2 * (WINDOW + 0.1) - 0.02


async def test_a_full_window_lets_a_first_text_go_before_waiting_interim_edits() -> None:
    window = ArrivalWindow()
    scopes = (scope("global", 1),)
    held = object()
    await window.enter(held, scopes, Priority.FINAL)
    order: list[str] = []

    async def request(name: str, priority: Priority) -> None:
        token = object()
        await window.enter(token, scopes, priority)
        order.append(name)
        window.leave(token)

    edits = [asyncio.create_task(request(f"edit {i}", Priority.INTERIM)) for i in range(2)]
    await asyncio.sleep(0.05)
    first = asyncio.create_task(request("first text", Priority.FIRST))
    await asyncio.sleep(0.05)
    window.leave(held)
    await asyncio.gather(*edits, first)
    assert order == ["first text", "edit 0", "edit 1"]


async def test_a_request_waits_for_every_scope_and_each_scope_keeps_its_own_window() -> None:
    """A conversation of two per 0.5 s inside an app of four per 0.2 s: the conversation's third
    request waits for its own window, keeping an app slot; another conversation's first takes
    the last one, its second waits for the app's window."""
    window = ArrivalWindow()
    app = scope("app", 4, 0.2)
    a = (scope("a", 2, 0.5), app)
    b = (scope("b", 2, 0.5), app)
    sent: dict[str, float] = {}

    async def request(name: str, scopes: tuple[Scope, ...]) -> None:
        token = object()
        await window.enter(token, scopes, Priority.FINAL)
        sent[name] = time.monotonic()
        window.leave(token)

    start = time.monotonic()
    await asyncio.gather(
        request("a1", a), request("a2", a), request("a3", a), request("b1", b), request("b2", b)
    )
    assert sent["a3"] - start >= 0.5 - 0.01
    assert sent["a1"] - start < 0.1 and sent["a2"] - start < 0.1
    assert 0.2 - 0.01 <= sent["b2"] - start < 0.45, sent
    assert sent["b1"] - start < 0.1


async def test_a_waiter_keeps_its_place_on_its_other_scopes() -> None:
    """A final waiting for its full conversation keeps the app's last slot: a later interim
    edit in another conversation does not take it; a later first text does."""
    window = ArrivalWindow()
    app = scope("app", 2)
    full = scope("full", 1)
    busy, other = object(), object()
    await window.enter(busy, (full, app), Priority.FINAL)
    final = asyncio.create_task(window.enter(object(), (full, app), Priority.FINAL))
    edit = asyncio.create_task(window.enter(object(), (scope("c", 5), app), Priority.INTERIM))
    await asyncio.sleep(0.05)
    assert not final.done() and not edit.done()
    await asyncio.wait_for(window.enter(other, (scope("d", 5), app), Priority.FIRST), 0.1)
    final.cancel()
    edit.cancel()
    await asyncio.gather(final, edit, return_exceptions=True)


async def test_a_cancelled_waiter_leaves_the_line() -> None:
    window = ArrivalWindow()
    scopes = (scope("one", 1),)
    held = object()
    await window.enter(held, scopes, Priority.FINAL)
    gone = asyncio.create_task(window.enter(object(), scopes, Priority.FIRST))
    await asyncio.sleep(0.01)
    gone.cancel()
    later = asyncio.create_task(window.enter(object(), scopes, Priority.INTERIM))
    await asyncio.sleep(0.01)
    window.leave(held)
    await asyncio.wait_for(later, WINDOW + 0.5)


async def test_thousands_of_requests_in_flight_cost_little_each() -> None:
    """Limits far above the load (Discord with its global limit off): no request waits, and
    twenty thousand of them, half still in flight, pass in well under a second."""
    window = ArrivalWindow()
    scopes = (scope("global", 1_000_000), scope("conversation", 1_000_000, 3600.0))
    tokens = [object() for _ in range(20_000)]
    start = time.process_time()
    for token in tokens:
        await window.enter(token, scopes, Priority.FINAL)
    for token in tokens[::2]:
        window.leave(token)
    assert time.process_time() - start < 1.0


async def test_requests_queued_on_a_busy_conversation_leave_the_app_to_the_others() -> None:
    """Five requests wait for conversation A's window (one per 30 s); a request to idle
    conversation B, on the same app scope of five a second, goes at once: the waiters behind
    the first on A keep no app slot from it."""
    window = ArrivalWindow()
    app = scope("app", 5)
    a, b = (scope("A", 1, 30.0), app), (scope("B", 1, 30.0), app)
    sent = object()
    await window.enter(sent, a, Priority.FINAL)
    window.leave(sent)
    waiting = [asyncio.create_task(window.enter(object(), a, Priority.FINAL)) for _ in range(5)]
    await asyncio.sleep(0.05)
    try:
        async with asyncio.timeout(0.5):
            await window.enter(object(), b, Priority.FINAL)
    finally:
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)


class Refused(Exception):
    """The write fence's answer in these tests."""


def refuse() -> None:
    raise Refused


async def test_a_request_the_fence_refuses_gives_its_slot_back() -> None:
    """Five requests refused by the write fence after the window let them go, then two more:
    the refused ones hold no slot, so the two go at once (a scope of two a second)."""
    app = web.Application()
    app.router.add_get("/x", lambda _: web.Response(text="ok"))

    async def permit(*_: object) -> None:
        return None

    async with serving(app) as port:
        trace = pace_requests(
            fence_requests(TraceConfig()),
            lambda _, __: (scope("global", 2),),
            permit,
            check=fencing.check,
        )
        async with ClientSession(trace_configs=[trace]) as session:
            url = f"http://127.0.0.1:{port}/x"
            with fencing.fenced(refuse):
                for _ in range(5):
                    with pytest.raises(Refused):
                        await session.get(url)
            async with asyncio.timeout(0.5):
                for _ in range(2):
                    async with session.get(url) as answer:
                        assert answer.status == 200
