"""Slack's per-method rate limits, counted per workspace (as Tier 3 `chat.update` is).

A token bucket per (workspace, method): `per_minute` sustained, `burst` calls at once.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field


@dataclass
class _Bucket:
    per_second: float
    burst: float
    tokens: float
    at: float = field(default_factory=time.monotonic)

    def take(self) -> float | None:
        """Spend one call; return None if allowed, else the seconds until one is available."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.per_second)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return (1.0 - self.tokens) / self.per_second


class RateLimits:
    """The limits tests switched on, and one bucket per workspace and method."""

    def __init__(self) -> None:
        self._limits: dict[str, tuple[float, float]] = {}
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def set(self, method: str, per_minute: float, burst: float | None = None) -> None:
        """Limit `method` to `per_minute` calls per workspace; `burst` defaults to one minute's."""
        capacity = float(burst if burst is not None else per_minute)
        self._limits[method] = (per_minute / 60.0, capacity)
        for key in [k for k in self._buckets if k[1] == method]:
            del self._buckets[key]

    def clear(self, method: str) -> None:
        self._limits.pop(method, None)

    def check(self, workspace: str, method: str) -> int | None:
        """None if the call may go ahead, else the Retry-After seconds (a whole number, ≥ 1)."""
        limit = self._limits.get(method)
        if limit is None:
            return None
        bucket = self._buckets.get((workspace, method))
        if bucket is None:
            bucket = _Bucket(limit[0], limit[1], limit[1])
            self._buckets[(workspace, method)] = bucket
        wait = bucket.take()
        return None if wait is None else max(1, math.ceil(wait))
