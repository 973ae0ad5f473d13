"""Counters a process exposes at /metrics: replies by outcome, messenger writes, 429s."""

from __future__ import annotations

from collections import defaultdict


class Metrics:
    """Monotonic counters, named in Prometheus style without the `threadbridge_` prefix."""

    def __init__(self) -> None:
        self._values: defaultdict[str, float] = defaultdict(float)

    def inc(self, name: str, by: float = 1.0) -> None:
        self._values[name] += by

    def snapshot(self) -> dict[str, float]:
        return dict(self._values)
