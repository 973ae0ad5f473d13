"""How far behind this process runs, and whether it should take new posts.

A sampler task sleeps a short interval and measures how late it woke: the drift is what every
other callback waits too. Beside it, each adapter whose events come over a connection that can
fall behind (`Behind`: Discord's gateway) says how far behind that runs. Past a limit the
process stops reading new posts from the inbox (they stay there for other replicas, or for
later) instead of starting streams it cannot serve.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from bridge.contracts import Behind
from bridge.metrics import Metrics

log = logging.getLogger(__name__)

SAMPLE_INTERVAL = 0.1
CALM_SECONDS = 5.0
"""How long every sample must stay under half the limit before posts are taken again."""


class LagGate:
    """Closed from a sample above its limit until `calm` seconds pass with none above half of
    it: a loop that lags in bursts (a stall, then a free moment) stays closed meanwhile.

    Two measures, each with its limit (0: not watched): `lag`, the event loop's drift, and
    `behind`, how far the messengers' event connections run behind."""

    def __init__(self, limit: float, calm: float = CALM_SECONDS, behind_limit: float = 0.0) -> None:
        self.limit = limit
        self.behind_limit = behind_limit
        self.calm = calm
        self.lag = 0.0
        self.behind = 0.0
        self._closed_until = 0.0

    def observe(self, lag: float, now: float, behind: float = 0.0) -> None:
        self.lag, self.behind = lag, behind
        closed = now < self._closed_until
        if _past(lag, self.limit, closed) or _past(behind, self.behind_limit, closed):
            self._closed_until = now + self.calm

    def is_open(self, now: float) -> bool:
        return now >= self._closed_until

    def reason(self) -> str:
        """Why it closed, for the log: the larger measure against its limit."""
        if self.behind_limit > 0 and self.behind / self.behind_limit > self._share(self.lag):
            return f"events arrive {self.behind:.2f}s behind (limit {self.behind_limit:.2f}s)"
        return f"the event loop runs {self.lag:.2f}s behind (limit {self.limit:.2f}s)"

    def _share(self, lag: float) -> float:
        return lag / self.limit if self.limit > 0 else 0.0


def _past(value: float, limit: float, closed: bool) -> bool:
    """Above the limit, or above half of it while already closed (0: never)."""
    return limit > 0 and (value > limit or (closed and value > limit / 2))


def furthest_behind(sources: Sequence[Behind]) -> float:
    """The most any source runs behind; a source that cannot say counts as keeping up."""
    worst = 0.0
    for source in sources:
        try:
            worst = max(worst, source.behind())
        except Exception as exc:
            log.debug("could not read how far %r runs behind: %s", source, exc)
    return worst


async def sample(
    gate: LagGate,
    metrics: Metrics,
    sources: Sequence[Behind] = (),
    interval: float = SAMPLE_INTERVAL,
) -> None:
    """Feed `gate` the loop's drift and how far `sources` run behind every `interval`, and say
    when it closes and reopens."""
    was_open = True
    while True:
        started = time.monotonic()
        await asyncio.sleep(interval)
        now = time.monotonic()
        behind = furthest_behind(sources)
        gate.observe(max(0.0, now - started - interval), now, behind)
        metrics.loop_lag.set(gate.lag)
        metrics.gateway_behind.set(behind)
        is_open = gate.is_open(now)
        metrics.inbox_paused.set(0 if is_open else 1)
        if is_open != was_open:
            if is_open:
                log.info("this process keeps up again: taking new posts")
            else:
                log.warning("%s: leaving new posts to other replicas or to later", gate.reason())
            was_open = is_open
