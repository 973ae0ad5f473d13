"""The best schedule any bridge could achieve for a load, under the budgets the emulators enforce.

Given each thread's post time and the provider's token timing in a run (first token, last
token; the bench places them as if the provider was asked at the post), this plays out every
write a reply needs on the messenger's budgets, exactly as the emulators count them, with no
cost of our own: no processing time, no interim edits, and every write sent the moment its
budget allows. First texts go first; a reply's completion comes next. What it gives is a floor
for each latency figure, so a measurement can be read as "measured / floor" instead of against
a guess.

Slack (one workspace, `emulators/slack/ratelimit.py`): a first text opens a native stream
(`chat.startStream`, Tier 2) while that budget allows, else it is posted (`chat.postMessage`,
per channel); a stream's last piece is an `chat.appendStream` (Tier 4), a posted reply's is a
`chat.update` (Tier 3). The stream's `chat.stopStream` changes no text and is not counted.
Discord (`emulators/discord/ratelimit.py`): a thread is created from the post (its parent's
bucket), the first text is posted in it, the final text is an edit; every request also counts on
the bot's global limit, a one-second window opened by the first request after the last closed.
Pages beyond the first are posts, written with the final text.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

FIRST, FINAL = 0, 1
"""Priorities: a reply's first text, then its completion."""
TICK = 1e-6
"""A write refused now is asked again no sooner than this (float rounding never stalls)."""


@dataclass(frozen=True)
class Load:
    """One thread's reply as the provider produced it (seconds on one clock).

    posted: the user's post; first_token / done: the provider's first and last token;
    pages: the messages the whole answer needs; channel: where it is written (Slack posting
    is limited per channel; each Discord reply gets its own thread).
    """

    posted: float
    first_token: float
    done: float
    pages: int = 1
    channel: str = ""


@dataclass
class Best:
    """When a reply's first text and its whole answer could be visible at the earliest."""

    first_text: float = math.inf
    final: float = math.inf


class Budget(Protocol):
    def allows(self, at: float) -> bool: ...

    def next_at(self, at: float) -> float: ...

    def take(self, at: float) -> None: ...


@dataclass
class TokenBucket:
    """A token bucket, full at the start (Slack's per-method and per-channel limits)."""

    per_second: float
    burst: float
    tokens: float | None = None
    at: float = -math.inf

    def _refill(self, at: float) -> float:
        if self.tokens is None:
            self.tokens, self.at = self.burst, at
        self.tokens = min(self.burst, self.tokens + max(0.0, at - self.at) * self.per_second)
        self.at = max(self.at, at)
        return self.tokens

    def allows(self, at: float) -> bool:
        return self._refill(at) >= 1.0 - 1e-9

    def next_at(self, at: float) -> float:
        return at + max(0.0, 1.0 - self._refill(at)) / self.per_second

    def take(self, at: float) -> None:
        self.tokens = self._refill(at) - 1.0


@dataclass
class FixedWindow:
    """`limit` requests per window of `length` s, opened by the first request after the last
    window closed (Discord's per-route buckets and global limit, as the emulator counts)."""

    limit: int
    length: float
    used: int = 0
    resets_at: float = -math.inf

    def allows(self, at: float) -> bool:
        return at >= self.resets_at or self.used < self.limit

    def next_at(self, at: float) -> float:
        return at if self.allows(at) else self.resets_at

    def take(self, at: float) -> None:
        if at >= self.resets_at:
            self.used, self.resets_at = 0, at + self.length
        self.used += 1


Route = tuple[Budget, ...]
Granted = Callable[[float, int], None]
"""Called with the time a write went out and the index of the route it took."""


@dataclass(order=True)
class _Write:
    priority: int
    ready: float
    seq: int
    routes: tuple[Route, ...] = field(compare=False)
    granted: Granted = field(compare=False)


class Scheduler:
    """Greedy, work-conserving: at every moment the ready writes go in priority order, each by
    the first of its routes whose budgets all allow it then."""

    def __init__(self) -> None:
        self._later: list[tuple[float, int, _Write]] = []
        self._seq = itertools.count()

    def add(self, ready: float, priority: int, routes: tuple[Route, ...], granted: Granted) -> None:
        write = _Write(priority, ready, next(self._seq), routes, granted)
        heapq.heappush(self._later, (ready, write.seq, write))

    def run(self) -> None:
        now = -math.inf
        ready: list[_Write] = []
        while self._later or ready:
            if not ready:
                now = max(now, self._later[0][0])
            while self._later and self._later[0][0] <= now:
                heapq.heappush(ready, heapq.heappop(self._later)[2])
            waiting: list[_Write] = []
            while ready:
                write = heapq.heappop(ready)
                if not self._grant(write, now):
                    waiting.append(write)
            for write in waiting:
                at = max(self._next_at(write, now), now + TICK)
                heapq.heappush(self._later, (at, write.seq, write))
            if self._later:
                now = max(now, self._later[0][0])

    @staticmethod
    def _grant(write: _Write, now: float) -> bool:
        for index, route in enumerate(write.routes):
            if all(budget.allows(now) for budget in route):
                for budget in route:
                    budget.take(now)
                write.granted(now, index)
                return True
        return False

    @staticmethod
    def _next_at(write: _Write, now: float) -> float:
        return min(max(b.next_at(now) for b in route) for route in write.routes)


@dataclass(frozen=True)
class SlackBudgets:
    """Calls per minute and burst per method and workspace; posting per channel."""

    start: tuple[float, float] = (20.0, 5.0)
    append: tuple[float, float] = (100.0, 10.0)
    update: tuple[float, float] = (50.0, 5.0)
    post_per_channel: tuple[float, float] = (60.0, 3.0)
    streams: bool = True


def _bucket(per_minute_and_burst: tuple[float, float]) -> TokenBucket:
    per_minute, burst = per_minute_and_burst
    return TokenBucket(per_minute / 60.0, burst)


def slack(loads: list[Load], budgets: SlackBudgets | None = None) -> list[Best]:
    """The earliest first text and whole answer of every reply in one Slack workspace."""
    b = budgets or SlackBudgets()
    start, append, update = _bucket(b.start), _bucket(b.append), _bucket(b.update)
    posts: dict[str, TokenBucket] = {}
    plan = Scheduler()
    best = [Best() for _ in loads]

    def first(i: int, load: Load) -> None:
        post = posts.setdefault(load.channel or f"#{i}", _bucket(b.post_per_channel))

        def granted(at: float, route: int) -> None:
            best[i].first_text = at
            if load.done <= at and load.pages == 1:
                best[i].final = at
                return
            finals: list[float] = []
            last = (append,) if route == 0 and b.streams else (update,)
            pieces = [last] + [(post,)] * (load.pages - 1)
            for piece in pieces:
                plan.add(max(load.done, at), FINAL, (piece,), _finished(i, finals, len(pieces)))

        routes = ((start,), (post,)) if b.streams else ((post,),)
        plan.add(load.first_token, FIRST, routes, granted)

    def _finished(i: int, finals: list[float], needed: int) -> Granted:
        def granted(at: float, _route: int) -> None:
            finals.append(at)
            if len(finals) == needed:
                best[i].final = max(finals)

        return granted

    for i, load in enumerate(loads):
        first(i, load)
    plan.run()
    return best


@dataclass(frozen=True)
class DiscordBudgets:
    """Per route and channel: `per_channel` requests per `per_seconds`; the bot's global limit
    per second (None: not enforced); whether each reply first opens a thread from the post."""

    per_channel: int = 5
    per_seconds: float = 5.0
    global_per_second: int | None = 50
    new_threads: bool = True


def discord(loads: list[Load], budgets: DiscordBudgets | None = None) -> list[Best]:
    """The earliest first text and whole answer of every reply of one bot."""
    b = budgets or DiscordBudgets()
    bot: tuple[Budget, ...] = ()
    if b.global_per_second is not None:
        bot = (FixedWindow(b.global_per_second, 1.0),)
    plan = Scheduler()
    best = [Best() for _ in loads]

    def window() -> FixedWindow:
        return FixedWindow(b.per_channel, b.per_seconds)

    def reply(i: int, load: Load) -> None:
        create, edit = window(), window()

        def first_text(ready: float) -> None:
            plan.add(max(ready, load.first_token), FIRST, ((*bot, create),), shown)

        def shown(at: float, _route: int) -> None:
            best[i].first_text = at
            if load.done <= at and load.pages == 1:
                best[i].final = at
                return
            finals: list[float] = []
            pieces = [edit] + [create] * (load.pages - 1)

            def finished(at: float, _route: int) -> None:
                finals.append(at)
                if len(finals) == len(pieces):
                    best[i].final = max(finals)

            for piece in pieces:
                plan.add(max(load.done, at), FINAL, ((*bot, piece),), finished)

        if b.new_threads:
            parent = window()
            plan.add(load.posted, FIRST, ((*bot, parent),), lambda at, _r: first_text(at))
        else:
            first_text(load.first_token)

    for i, load in enumerate(loads):
        reply(i, load)
    plan.run()
    return best


@dataclass
class SlidingWindow:
    """At most `limit` requests in any `length` s (Teams' per-conversation and per-app limits,
    as `emulators/teams/limits.py` counts them)."""

    limit: int
    length: float
    times: list[float] = field(default_factory=list)

    def _recent(self, at: float) -> list[float]:
        self.times = [t for t in self.times if t > at - self.length]
        return self.times

    def allows(self, at: float) -> bool:
        return len(self._recent(at)) < self.limit

    def next_at(self, at: float) -> float:
        recent = self._recent(at)
        return at if len(recent) < self.limit else recent[len(recent) - self.limit] + self.length

    def take(self, at: float) -> None:
        self.times.append(at)


TEAMS_CONVERSATION = ((1.0, 7), (2.0, 8), (30.0, 60), (3600.0, 1800))


def mattermost(loads: list[Load], per_second: float = 10.0, burst: float = 100.0) -> list[Best]:
    """The earliest first text and whole answer of every reply of one bot token: the server's
    limiter is one GCRA bucket per token (a token bucket of `burst` refilled at `per_second`),
    whatever the channel; a reply's first text is its first post, its final one write per page."""
    return _one_route(loads, (TokenBucket(per_second, burst),))


def teams(loads: list[Load], per_app: int = 50) -> list[Best]:
    """Every reply in one Teams channel: each write (the first text's post, the final edit,
    later pages' posts) counts on the channel's windows and the app's."""
    channel: tuple[Budget, ...] = tuple(SlidingWindow(n, s) for s, n in TEAMS_CONVERSATION)
    return _one_route(loads, (*channel, SlidingWindow(per_app, 1.0)))


def _one_route(loads: list[Load], route: tuple[Budget, ...]) -> list[Best]:
    """Every write of every reply on the same budgets: first texts first, then finals."""
    plan = Scheduler()
    best = [Best() for _ in loads]

    def reply(i: int, load: Load) -> None:
        def shown(at: float, _route: int) -> None:
            best[i].first_text = at
            if load.done <= at and load.pages == 1:
                best[i].final = at
                return
            finals: list[float] = []

            def finished(at: float, _route: int) -> None:
                finals.append(at)
                if len(finals) == load.pages:
                    best[i].final = max(finals)

            for _ in range(load.pages):
                plan.add(max(load.done, at), FINAL, (route,), finished)

        plan.add(load.first_token, FIRST, (route,), shown)

    for i, load in enumerate(loads):
        reply(i, load)
    plan.run()
    return best
