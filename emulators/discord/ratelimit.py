"""Discord's rate limits, on demand: a fixed-window bucket per route and top-level resource,
and an optional global one.

As Discord documents (discord.com/developers/docs/topics/rate-limits): "Per-route rate limits
exist for many individual endpoints, and may include the HTTP method", they "account for
top-level resources within the path" (channel_id, guild_id, webhook_id), so the same route on
two channels is limited independently, and each route's answers name its bucket in
`X-RateLimit-Bucket` (shared only where Discord groups similar endpoints). Message create,
message edit, thread creation (counted on the parent channel, the path's top-level resource)
and typing are each their own bucket here. The global limit (50 requests/s per bot) counts
every request. A 429 has everything discord.py checks: a `Via` header, a JSON body with
`retry_after` and `global`, `X-RateLimit-Scope`, and the X-RateLimit-* headers.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web

from emulators.base import json_response

GLOBAL_BUCKET = "global"


def bucket_hash(route: str) -> str:
    """An opaque, stable `X-RateLimit-Bucket` value for one route, as Discord sends."""
    return hashlib.sha1(route.encode()).hexdigest()[:16]


@dataclass
class Window:
    """One fixed window: `used` requests since it opened; it closes at `resets_at`."""

    used: int = 0
    resets_at: float = 0.0


@dataclass
class RateLimiter:
    """Per-channel and global limits plus the counts of every 429 it answered."""

    per_channel: int | None = None
    per_seconds: float = 5.0
    global_per_second: int | None = None
    send_headers: bool = True
    count: int = 0
    by_route: Counter[str] = field(default_factory=Counter)
    by_channel: Counter[int] = field(default_factory=Counter)
    _channels: dict[tuple[str, int], Window] = field(default_factory=dict)
    _global: Window = field(default_factory=Window)

    def configure(
        self,
        per_channel: int | None,
        per_seconds: float,
        global_per_second: int | None,
        send_headers: bool,
    ) -> None:
        self.per_channel = per_channel
        self.per_seconds = per_seconds
        self.global_per_second = global_per_second
        self.send_headers = send_headers
        self._channels.clear()
        self._global = Window()

    def check_global(self, route: str) -> web.Response | None:
        """A global 429 if the bot has spent this second's allowance, else None."""
        if self.global_per_second is None:
            return None
        window = _advance(self._global, 1.0)
        if window.used >= self.global_per_second:
            return self._reject(route, None, window, self.global_per_second, is_global=True)
        window.used += 1
        return None

    def check_channel(
        self, route: str, channel_id: int
    ) -> tuple[web.Response | None, dict[str, str]]:
        """(a 429, {}) if the route's bucket on this channel is spent, else (None, headers for
        the answer)."""
        if self.per_channel is None:
            return None, {}
        bucket = self._channels.setdefault((route, channel_id), Window())
        window = _advance(bucket, self.per_seconds)
        if window.used >= self.per_channel:
            return self._reject(route, channel_id, window, self.per_channel, is_global=False), {}
        window.used += 1
        if not self.send_headers:
            return None, {}
        return None, _headers(self.per_channel, self.per_channel - window.used, window, route)

    def _reject(
        self, route: str, channel_id: int | None, window: Window, limit: int, *, is_global: bool
    ) -> web.Response:
        self.count += 1
        self.by_route[route] += 1
        if channel_id is not None:
            self.by_channel[channel_id] += 1
        retry_after = max(window.resets_at - time.monotonic(), 0.001)
        headers = _headers(limit, 0, window, route)
        headers["Via"] = "1.1 google"
        headers["Retry-After"] = str(math.ceil(retry_after))
        headers["X-RateLimit-Scope"] = "global" if is_global else "user"
        if is_global:
            headers["X-RateLimit-Global"] = "true"
            headers["X-RateLimit-Bucket"] = GLOBAL_BUCKET
        body = {
            "message": "You are being rate limited.",
            "retry_after": round(retry_after, 3),
            "global": is_global,
            "code": 0,
        }
        return json_response(body, status=429, headers=headers)


def _advance(window: Window, length: float) -> Window:
    now = time.monotonic()
    if now >= window.resets_at:
        window.used = 0
        window.resets_at = now + length
    return window


def _headers(limit: int, remaining: int, window: Window, route: str) -> dict[str, str]:
    reset_after = math.ceil(max(window.resets_at - time.monotonic(), 0.0) * 1000) / 1000
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(remaining, 0)),
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": bucket_hash(route),
    }
