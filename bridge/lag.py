"""How far behind this process's event loop runs, and whether it should take new posts.

A sampler task sleeps a short interval and measures how late it woke: the drift is what every
other callback waits too. Past a limit the process stops reading new posts from the inbox
(they stay there for other replicas, or for later) instead of starting streams it cannot serve.
"""

from __future__ import annotations

import asyncio
import logging
import time

from bridge.metrics import Metrics

log = logging.getLogger(__name__)

SAMPLE_INTERVAL = 0.1
CALM_SECONDS = 5.0
"""How long every sample must stay under half the limit before posts are taken again."""


class LagGate:
    """Closed from a sample above `limit` until `calm` seconds pass with none above half of
    it: a loop that lags in bursts (a stall, then a free moment) stays closed meanwhile."""

    def __init__(self, limit: float, calm: float = CALM_SECONDS) -> None:
        self.limit = limit
        self.calm = calm
        self.lag = 0.0
        self._closed_until = 0.0

    def observe(self, lag: float, now: float) -> None:
        self.lag = lag
        if self.limit <= 0:
            return
        if lag > self.limit or (lag > self.limit / 2 and now < self._closed_until):
            self._closed_until = now + self.calm

    def is_open(self, now: float) -> bool:
        return now >= self._closed_until


async def sample(gate: LagGate, metrics: Metrics, interval: float = SAMPLE_INTERVAL) -> None:
    """Feed `gate` the loop's drift every `interval`, and say when it closes and reopens."""
    was_open = True
    while True:
        started = time.monotonic()
        await asyncio.sleep(interval)
        now = time.monotonic()
        gate.observe(max(0.0, now - started - interval), now)
        metrics.loop_lag.set(gate.lag)
        is_open = gate.is_open(now)
        metrics.inbox_paused.set(0 if is_open else 1)
        if is_open != was_open:
            if is_open:
                log.info("the event loop keeps up again: taking new posts")
            else:
                log.warning(
                    "the event loop runs %.2fs behind (limit %.2fs): leaving new posts to other "
                    "replicas or to later",
                    gate.lag,
                    gate.limit,
                )
            was_open = is_open
