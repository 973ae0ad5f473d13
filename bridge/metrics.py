"""What a process exposes at /metrics, through prometheus_client in the process's own registry.

Names follow Prometheus conventions: a `threadbridge_` prefix, units in names, counters end in
`_total`, labels come from small fixed sets (platform, method, provider, outcome, code) and never
carry a user, channel or thread id. `inc(name, by, **labels)` stays for any counter a module
wants without a typed method: it is declared on first use with the labels it was first given.
Beside them: `threadbridge_build_info{version}`, prometheus_client's process and platform
collectors, and no `_created` series (a start timestamp per series that doubles the series a
scrape stores and that dashboards of counters do not use).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

from bridge.contracts import Allowance

log = logging.getLogger(__name__)

PREFIX = "threadbridge_"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0)
WAIT_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
"""A connection is usually in hand within a millisecond; anything past that is a queue."""
DURATION_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)
REDIS_GAUGES_SECONDS = 5.0
"""How long gauges read from Redis at scrape time (the inbox backlog) are reused: scrapes
within it, from one Prometheus or several, cost Redis nothing."""

T = TypeVar("T")


def version() -> str:
    """The installed threadbridge's version; "unknown" when run from a tree not installed."""
    try:
        return importlib.metadata.version("threadbridge")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _bare(name: str) -> str:
    """`name` without the project prefix and the `_total` suffix (prometheus_client adds it)."""
    name = name.removeprefix(PREFIX)
    return name.removesuffix("_total")


class Metrics:
    """Every metric of one process; typed methods for the core, `inc` for anything else."""

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # unannotated upstream
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        build = Info(f"{PREFIX}build", "The threadbridge version running.", registry=self.registry)
        build.info({"version": version()})
        self._counters: dict[str, tuple[Counter, tuple[str, ...]]] = {}
        self._counter("posts_received", "Posts accepted into the inbox.", "platform")
        self._counter("replies", "Replies finished, by outcome.", "outcome")
        self._counter("messenger_calls", "Messenger API calls.", "platform", "method")
        self._counter("messenger_rate_limited", "Messenger 429 answers.", "platform", "method")
        self._counter("messenger_writes", "Messages posted or edited for replies.", "platform")
        self._counter("provider_errors", "Provider failures.", "provider", "code")
        self._counter("dead_letters", "Posts moved to the dead-letter stream.")
        self._counter("posts_refused", "Posts not forwarded, by reason.", "platform", "reason")
        self._counter("replies_cut", "Replies cut at a limit (time, idle, size).", "reason")
        self._counter("messenger_write_failures", "Replies given up: writes refused.", "platform")
        self._counter("feedback", "Feedback presses kept, by provider.", "provider", "outcome")
        self._counter(
            "budget_waits", "Edit-budget requests refused: a write waits.", "platform", "method"
        )
        self.post_to_first_text = self._histogram(
            "post_to_first_text_seconds",
            "User post to the reply's first text on the messenger.",
            "platform",
        )
        self.first_token_to_first_text = self._histogram(
            "first_token_to_first_text_seconds",
            "Provider's first token to first text shown.",
            "platform",
        )
        self.final_lag = self._histogram(
            "final_lag_seconds", "Provider done to the final text written.", "platform"
        )
        self.provider_first_token = self._histogram(
            "provider_first_token_seconds",
            "Request sent to the provider's first token.",
            "provider",
        )
        self.provider_connection_wait = Histogram(
            f"{PREFIX}provider_connection_wait_seconds",
            "A provider request's start to a connection in hand (pooled, or newly connected).",
            buckets=WAIT_BUCKETS,
            registry=self.registry,
        )
        self.reply_duration = Histogram(
            f"{PREFIX}reply_duration_seconds",
            "A reply from start to final text.",
            ["platform"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.active_streams = self._gauge("active_streams", "Replies streaming in this process.")
        self.busy_threads = self._gauge("busy_threads", "Threads with a worker in this process.")
        self.inbox_pending = self._gauge("inbox_pending", "Inbox entries read but not acked.")
        self.inbox_oldest_pending_age = self._gauge(
            "inbox_oldest_pending_age_seconds", "Age of the oldest pending inbox entry."
        )
        self.redis_up = self._gauge("redis_up", "1 if Redis answered the last check.")
        self.loop_lag = self._gauge("event_loop_lag_seconds", "How late a short sleep woke.")
        self.inbox_paused = self._gauge(
            "inbox_paused", "1 while the process lags too much to take new posts."
        )
        self.gateway_behind = self._gauge(
            "gateway_behind_seconds", "How far the messengers' event connections run behind."
        )

    def _counter(self, name: str, doc: str, *labels: str) -> Counter:
        counter = Counter(f"{PREFIX}{name}", doc, labels, registry=self.registry)
        self._counters[name] = (counter, labels)
        return counter

    def _histogram(self, name: str, doc: str, label: str) -> Histogram:
        """A latency histogram by `label` (platform or provider): operators compare them."""
        return Histogram(
            f"{PREFIX}{name}", doc, [label], buckets=LATENCY_BUCKETS, registry=self.registry
        )

    def _gauge(self, name: str, doc: str) -> Gauge:
        return Gauge(f"{PREFIX}{name}", doc, registry=self.registry)

    def inc(self, name: str, by: float = 1.0, **labels: str) -> None:
        """Add `by` to the counter `name` (`_total` optional), declared on first use.

        A counter keeps the label names it was declared with: a missing label is empty and an
        unknown one is dropped, so a caller's mistake never breaks the reply it counts.
        """
        bare = _bare(name)
        if bare not in self._counters:
            self._counter(bare, f"{bare.replace('_', ' ')}.", *sorted(labels))
        counter, names = self._counters[bare]
        if not names:
            counter.inc(by)
            return
        counter.labels(**{n: str(labels.get(n, "")) for n in names}).inc(by)

    def post(self, platform: str) -> None:
        self.inc("posts_received", platform=platform)

    def reply(self, outcome: str) -> None:
        self.inc("replies", outcome=outcome)

    def call(self, platform: str, method: str) -> None:
        self.inc("messenger_calls", platform=platform, method=method)

    def rate_limited(self, platform: str, method: str) -> None:
        self.inc("messenger_rate_limited", platform=platform, method=method)

    def provider_error(self, provider: str, code: str) -> None:
        self.inc("provider_errors", provider=provider, code=code)

    def budget_wait(self, allowance: Allowance) -> None:
        """A budget scope is `platform:…` and names workspaces and channels: only its platform
        and the allowance's method are labels."""
        platform = allowance.scope.split(":", 1)[0]
        self.inc("budget_waits", platform=platform, method=allowance.method or "other")

    def value(self, name: str, **labels: str) -> float:
        """The current value of a sample (tests and the doctor read it); 0 when absent."""
        full = name if name.startswith(PREFIX) else f"{PREFIX}{name}"
        return float(self.registry.get_sample_value(full, labels) or 0.0)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class Cached(Generic[T]):
    """The value `load` returned, loaded again only once it is `seconds` old; concurrent
    callers share one load. A load that raises is not kept, so the next call tries again."""

    def __init__(
        self,
        load: Callable[[], Awaitable[T]],
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._seconds = seconds
        self._clock = clock
        self._lock = asyncio.Lock()
        self._kept: tuple[float, T] | None = None

    async def get(self) -> T:
        async with self._lock:
            kept = self._kept
            if kept is not None and self._clock() - kept[0] < self._seconds:
                return kept[1]
            value = await self._load()
            self._kept = (self._clock(), value)
            return value
