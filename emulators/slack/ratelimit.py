"""Slack's per-method rate limits, counted per workspace (as Tier 3 `chat.update` is), or per
channel for `chat.postMessage` ("1 message per second to a specific channel, with short bursts")
and `assistant.threads.setStatus`.

A token bucket per (workspace, method) or (workspace, method, channel): `per_minute` sustained,
`burst` calls at once. `DOCUMENTED` holds the tiers of Slack's method reference
(docs.slack.dev/reference/methods/…, "Rate limits" fact; docs.slack.dev/apis/web-api/rate-limits):
Tier 2 is 20+ per minute, Tier 3 50+, Tier 4 100+; bursts are not published, so the burst here
is a small number of calls.
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


DOCUMENTED: dict[str, tuple[float, float]] = {
    "chat.update": (50, 5),
    "chat.delete": (50, 5),
    "chat.startStream": (20, 5),
    "chat.stopStream": (20, 5),
    "chat.appendStream": (100, 10),
    "assistant.threads.setTitle": (100, 10),
    "assistant.threads.setSuggestedPrompts": (100, 10),
    "conversations.replies": (50, 5),
}
"""Method → (calls per minute per workspace, burst): Tier 3 `chat.update` and `chat.delete`,
Tier 2 `chat.startStream`/`chat.stopStream`, Tier 4 `chat.appendStream` and the assistant
threads' `setTitle`/`setSuggestedPrompts` (their method references: "Tier 4: 100+ per minute"),
Tier 3 `conversations.replies` (internal and Marketplace apps)."""
POST_PER_CHANNEL = (60.0, 3.0)
"""`chat.postMessage`: about one per second per channel, short bursts allowed."""
PER_CHANNEL: dict[str, tuple[float, float]] = {
    "chat.postMessage": POST_PER_CHANNEL,
    "assistant.threads.setStatus": POST_PER_CHANNEL,
}
"""Counted per channel: `chat.postMessage`, and `assistant.threads.setStatus`, whose reference
says "Special rate limits apply" and which Slack's SDKs pace as chat.postMessage
(java-slack-sdk: "the similar tier with chat.postMessage API"; slack-morphism: 1 per second)."""


class RateLimits:
    """The limits tests switched on, and one bucket per workspace and method."""

    def __init__(self) -> None:
        self._limits: dict[str, tuple[float, float]] = {}
        self._per_channel: set[str] = set()
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}

    def set(
        self,
        method: str,
        per_minute: float,
        burst: float | None = None,
        *,
        per_channel: bool = False,
    ) -> None:
        """Limit `method` to `per_minute` calls per workspace (or per channel); `burst` defaults
        to one minute's."""
        capacity = float(burst if burst is not None else per_minute)
        self._limits[method] = (per_minute / 60.0, capacity)
        if per_channel:
            self._per_channel.add(method)
        else:
            self._per_channel.discard(method)
        for key in [k for k in self._buckets if k[1] == method]:
            del self._buckets[key]

    def documented(self) -> None:
        """Enforce every limit in `DOCUMENTED`, and those of `PER_CHANNEL` per channel."""
        for method, (per_minute, burst) in DOCUMENTED.items():
            self.set(method, per_minute, burst)
        for method, (per_minute, burst) in PER_CHANNEL.items():
            self.set(method, per_minute, burst, per_channel=True)

    def clear(self, method: str) -> None:
        self._limits.pop(method, None)

    def check(self, workspace: str, method: str, channel: str = "") -> int | None:
        """None if the call may go ahead, else the Retry-After seconds (a whole number, ≥ 1)."""
        limit = self._limits.get(method)
        if limit is None:
            return None
        key = (workspace, method, channel if method in self._per_channel else "")
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(limit[0], limit[1], limit[1])
            self._buckets[key] = bucket
        wait = bucket.take()
        return None if wait is None else max(1, math.ceil(wait))
