"""The bot's global limit, kept as each request leaves, for every request discord.py makes.

A reply's writes take their global permit in the shared budget, with their priority, before
they are made; but a permit is not yet a request: a busy event loop can hold a batch of granted
writes back and send them together with the next window's, and Discord counts when they
arrive. So the session's aiohttp trace also holds every request to the window by when it can
have arrived (`SendWindow`), and a request discord.py makes on its own (history read, a
message deleted, start-up) takes its permit there, with a first text's priority: no part of
the window is left spare for them. Interaction callbacks and follow-ups are not bound to the
global limit (Discord's rate limits reference, "Global Rate Limit"), so they pass untouched.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import heapq
import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import SimpleNamespace

from aiohttp import (
    ClientSession,
    TraceConfig,
    TraceRequestEndParams,
    TraceRequestExceptionParams,
    TraceRequestStartParams,
)

from bridge.contracts import Allowance, Permits, Priority

WINDOW = 1.0
"""Discord's global window: a second."""
STALE = 30.0
"""A request neither answered nor failed after this long stops counting (its trace was cut
short before it was sent)."""
UNBOUND = ("/interactions/", "/webhooks/")
"""Paths of interaction responses and follow-ups (webhook-token routes), which the global
limit does not count."""

_granted: ContextVar[Priority | None] = ContextVar("threadbridge_discord_granted", default=None)


@contextmanager
def granted(priority: Priority) -> Iterator[None]:
    """Requests made in this block already hold a global permit of the shared budget, taken
    with `priority`: they leave in that order when this process's window is full too."""
    token = _granted.set(priority)
    try:
        yield
    finally:
        _granted.reset(token)


class SendWindow:
    """At most `allowance`'s burst requests that may have reached Discord in any one of its
    windows, as this process can know it: a request counts from the moment it is sent until a
    window's length after its answer came (it reached Discord somewhere in between), so however
    late or unevenly requests travel, no window of the platform's length holds more. Waiting
    requests leave by priority, then first come first served."""

    def __init__(self, allowance: Allowance, clock: Callable[[], float] = time.monotonic) -> None:
        self._size = max(1, int(allowance.rate.burst))
        self._length = WINDOW
        self._flying: dict[int, float] = {}
        self._answered: collections.deque[float] = collections.deque()
        self._queue: list[tuple[int, int]] = []
        self._order = itertools.count()
        self._changed = asyncio.Event()
        self._clock = clock

    async def enter(self, request: object, priority: Priority) -> None:
        """Return when `request` may be sent, counting it from now."""
        place = (int(priority), next(self._order))
        heapq.heappush(self._queue, place)
        try:
            while True:
                changed = self._changed
                first = self._queue[0] == place
                wake = self._free_at() if first else None
                if first and wake is None:
                    heapq.heappop(self._queue)
                    self._flying[id(request)] = self._clock()
                    self._signal()
                    return
                timeout = None if wake is None else max(0.001, wake - self._clock())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), timeout)
        except BaseException:
            if place in self._queue:
                self._queue.remove(place)
                heapq.heapify(self._queue)
                self._signal()
            raise

    def leave(self, request: object) -> None:
        """`request` was answered (or failed): it stops counting a window after now."""
        if self._flying.pop(id(request), None) is not None:
            self._answered.append(self._clock())
            self._signal()

    def _signal(self) -> None:
        """Wake every waiter to look again (the next in line may go now)."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _free_at(self) -> float | None:
        """None if one more request fits now, else when to look again."""
        now = self._clock()
        while self._answered and self._answered[0] <= now - self._length:
            self._answered.popleft()
        if len(self._flying) + len(self._answered) < self._size:
            return None
        for key, sent in list(self._flying.items()):
            if sent <= now - STALE:
                del self._flying[key]
        if len(self._flying) + len(self._answered) < self._size:
            return None
        return self._answered[0] + self._length if self._answered else now + STALE


def pace_requests(trace: TraceConfig, budget: Permits, allowance: Allowance) -> TraceConfig:
    """Make `trace` hold each request the session sends to the bot's global `allowance` in the
    shared `budget` (unless the write took its permit already) and by its time of sending."""
    window = SendWindow(allowance)

    async def on_start(
        _: ClientSession, context: SimpleNamespace, params: TraceRequestStartParams
    ) -> None:
        if any(part in params.url.path for part in UNBOUND):
            return
        priority = _granted.get()
        if priority is None:
            priority = Priority.FIRST
            await budget.acquire((allowance,), priority=priority)
        await window.enter(context, priority)

    async def on_end(
        _: ClientSession,
        context: SimpleNamespace,
        __: TraceRequestEndParams | TraceRequestExceptionParams,
    ) -> None:
        window.leave(context)

    trace.on_request_start.append(on_start)
    trace.on_request_end.append(on_end)
    trace.on_request_exception.append(on_end)
    return trace
