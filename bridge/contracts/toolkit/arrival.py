"""A messenger's request limits kept by when a request can have arrived, not when its permit was
granted.

A permit of the shared budget is not yet a request: a busy event loop can send granted requests
late and bunched, together with the next window's, and the platform counts them by arrival. A
request reaches the platform somewhere between the moment it is sent and its answer, so
`ArrivalWindow` counts it on each of its scopes from sending until that scope's window length
after the answer: every instant of a platform window that holds the request's arrival is inside
that span, so no window of the scope's length (fixed or sliding, any alignment) holds more than
the scope's limit of this process's requests, whatever the latency. Between replicas the shared
budget counts its window permits the same way (`bridge.pacing`: in flight from the grant until
the write that holds them is over, then a window), so no margin is kept there either. A request
waits until every one of its scopes has room; waiters leave by priority, then first come first
served, and the first one waiting on a full scope keeps a slot on each of its other scopes (no
later request of lower rank takes the last one; those behind it on the same scope keep none, so
a busy conversation does not hold the app's slots from the others).

`pace_requests` hooks it into an aiohttp session's trace; requests made under
`bridge.contracts.writing(priority)` (the renderer's writes; a surface's typing) already hold
their shared permit, the others take theirs as they leave and end it with their answer.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace

from aiohttp import (
    ClientSession,
    TraceConfig,
    TraceRequestEndParams,
    TraceRequestExceptionParams,
    TraceRequestStartParams,
)
from yarl import URL

from bridge.contracts import Grant, Priority, write_grant, write_priority

STALE = 300.0
"""A request neither answered nor failed after this long stops counting. Every request let go
is answered, fails or is cancelled (`pace_requests`), so this is a safety net only, longer than
any request of these sessions runs (aiohttp's default total timeout is five minutes)."""
SWEEP = 60.0
"""How often scopes nobody used for a window are forgotten."""


@dataclass(frozen=True, slots=True)
class Scope:
    """One limit a request counts on: at most `limit` requests in any `seconds`."""

    key: str
    limit: int
    seconds: float


@dataclass(eq=False, slots=True)
class _Count:
    """What one scope holds now: requests sent and not yet answered, answers still counting."""

    limit: int
    seconds: float
    flying: int = 0
    answered: collections.deque[float] = field(default_factory=collections.deque)
    waiting: int = 0

    def used(self, now: float) -> int:
        answered = self.answered
        while answered and answered[0] <= now - self.seconds:
            answered.popleft()
        return self.flying + len(answered)

    def idle(self, now: float) -> bool:
        return not self.flying and not self.waiting and self.used(now) == 0


@dataclass(eq=False, slots=True)
class _Waiter:
    key: object
    counts: tuple[_Count, ...]
    admitted: asyncio.Future[None]


class ArrivalWindow:
    """Requests held to their scopes' limits by when they can have arrived (module doc).

    Cheap per request: one that finds room and nobody waiting costs a few operations per
    scope; only while requests wait is the queue walked, on each answer and expiry."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._counts: dict[str, _Count] = {}
        self._flying: collections.OrderedDict[object, tuple[float, tuple[_Count, ...]]] = (
            collections.OrderedDict()
        )
        """Requests sent and not yet answered, keyed by the request's own ticket (an object
        kept alive here, so no later request can take its key)."""
        self._queues: dict[int, dict[int, _Waiter]] = {}
        self._waiters = 0
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._swept = clock()

    async def enter(self, request: object, scopes: Sequence[Scope], priority: Priority) -> None:
        """Return when `request` may be sent, counting it on each of `scopes` from now."""
        now = self._clock()
        counts = tuple(self._count(scope) for scope in scopes)
        if not self._waiters and all(c.used(now) < c.limit for c in counts):
            self._send(request, counts, now)
            return
        waiter = _Waiter(request, counts, asyncio.get_running_loop().create_future())
        place = next(self._order)
        self._queues.setdefault(int(priority), {})[place] = waiter
        self._waiters += 1
        for count in counts:
            count.waiting += 1
        try:
            self._pump()
            await waiter.admitted
        except BaseException:
            if waiter.admitted.done() and not waiter.admitted.cancelled():
                self._drop(request)
            else:
                self._unqueue(int(priority), place)
            self._pump()
            raise

    def leave(self, request: object) -> None:
        """`request` was answered (or failed): it stops counting a window after now."""
        sent = self._flying.pop(request, None)
        if sent is None:
            return
        now = self._clock()
        for count in sent[1]:
            count.flying -= 1
            count.answered.append(now)
        if self._waiters:
            self._pump()
        elif now - self._swept > SWEEP:
            self._sweep(now)

    def _count(self, scope: Scope) -> _Count:
        count = self._counts.get(scope.key)
        if count is None:
            count = self._counts[scope.key] = _Count(scope.limit, scope.seconds)
        else:
            count.limit, count.seconds = scope.limit, scope.seconds
        return count

    def _send(self, key: object, counts: tuple[_Count, ...], now: float) -> None:
        self._flying[key] = (now, counts)
        for count in counts:
            count.flying += 1

    def cancel(self, request: object) -> None:
        """`request` was let go but never sent (refused on the way out): it stops counting."""
        self._drop(request)
        if self._waiters:
            self._pump()

    def _drop(self, key: object) -> None:
        """Forget a request that was never sent, or whose end we will not hear of."""
        sent = self._flying.pop(key, None)
        if sent is not None:
            for count in sent[1]:
                count.flying -= 1

    def _unqueue(self, priority: int, place: int) -> None:
        waiter = self._queues[priority].pop(place, None)
        if waiter is not None:
            self._waiters -= 1
            for count in waiter.counts:
                count.waiting -= 1

    def _pump(self) -> None:
        """Let go every waiter whose scopes all have room, in order; the first that must wait
        for a full scope keeps a slot on each of its scopes from those behind it (those behind
        it on the same full scope cannot pass it anyway, so they keep none: a busy conversation
        does not take the app's slots from the others). Then look again when the first slot a
        waiter needs frees."""
        now = self._clock()
        while self._flying:
            key, (sent, _) = next(iter(self._flying.items()))
            if sent > now - STALE:
                break
            self._drop(key)
        held: dict[int, int] = {}
        blocking: set[int] = set()
        wake = math.inf
        for priority in sorted(self._queues):
            queue = self._queues[priority]
            for place, waiter in list(queue.items()):
                if waiter.admitted.done():
                    self._unqueue(priority, place)
                    continue
                full = [c for c in waiter.counts if c.used(now) + held.get(id(c), 0) >= c.limit]
                if not full:
                    self._unqueue(priority, place)
                    self._send(waiter.key, waiter.counts, now)
                    waiter.admitted.set_result(None)
                    continue
                wake = min(wake, *(self._frees_at(c, now) for c in full))
                if all(id(c) in blocking for c in full):
                    continue
                blocking.update(id(c) for c in full)
                for count in waiter.counts:
                    held[id(count)] = held.get(id(count), 0) + 1
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if wake < math.inf:
            loop = asyncio.get_running_loop()
            delay = max(0.001, wake - now)
            self._timer = loop.call_at(loop.time() + delay, self._pump)

    def _frees_at(self, count: _Count, now: float) -> float:
        """When `count` may next have a slot more (an answer ages out, or a request goes stale)."""
        if count.answered:
            return count.answered[0] + count.seconds
        oldest = next(iter(self._flying.values()), (now, ()))[0]
        return oldest + STALE

    def _sweep(self, now: float) -> None:
        """Forget scopes that hold nothing (a conversation quiet for its longest window)."""
        self._swept = now
        for key in [k for k, c in self._counts.items() if c.idle(now)]:
            del self._counts[key]


Scopes = Callable[[str, URL], Sequence[Scope]]
"""The scopes a request (method, URL) counts on; none: the request is not paced at all."""
Permit = Callable[[str, URL, Priority, Grant], Awaitable[None]]
"""Takes the shared permit of a request made outside `bridge.contracts.writing`, into the
grant given (ended when the request is)."""


def pace_requests(
    trace: TraceConfig,
    scopes: Scopes,
    permit: Permit,
    window: ArrivalWindow | None = None,
    ungranted: Priority = Priority.FIRST,
    check: Callable[[], None] | None = None,
) -> TraceConfig:
    """Make `trace` hold each request its session sends to `scopes` by when it can have
    arrived, after `permit` for a request that holds no shared permit yet (with `ungranted`'s
    rank: no part of a window is left spare for them). A write's grant learns that a request
    of it was sent; a permit taken here is ended with the request (given back if it was never
    sent).

    `check` (the write fence) runs once the request is let go, as the last step before it is
    sent; if it refuses, the request's slot is given back. Append this hook after every other
    `on_request_start` hook of `trace`: aiohttp runs no end hook for a request whose start
    hooks raised, so a hook that raised after this one would keep its slot."""
    held = window or ArrivalWindow()

    async def on_start(
        _: ClientSession, context: SimpleNamespace, params: TraceRequestStartParams
    ) -> None:
        counted = scopes(params.method, params.url)
        priority, grant = write_priority(), write_grant()
        if not counted:
            if grant is not None:
                grant.sent = True  # not paced here, but its write's permits may count it
            return
        own = None
        if priority is None or grant is None:
            priority, grant = ungranted, Grant()
            own = grant
            try:
                await permit(params.method, params.url, priority, grant)
            except BaseException:
                await grant.end()
                raise
        ticket = object()
        try:
            await held.enter(ticket, counted, priority)
            if check is not None:
                try:
                    check()
                except BaseException:
                    held.cancel(ticket)
                    raise
        except BaseException:
            if own is not None:
                await own.end()
            raise
        grant.sent = True
        context.arrival_ticket = ticket
        context.arrival_grant = own

    async def on_end(
        _: ClientSession,
        context: SimpleNamespace,
        __: TraceRequestEndParams | TraceRequestExceptionParams,
    ) -> None:
        ticket = getattr(context, "arrival_ticket", None)
        if ticket is not None:
            held.leave(ticket)
        own: Grant | None = getattr(context, "arrival_grant", None)
        if own is not None:
            context.arrival_grant = None
            await own.end()

    trace.on_request_start.append(on_start)
    trace.on_request_end.append(on_end)
    trace.on_request_exception.append(on_end)
    return trace
