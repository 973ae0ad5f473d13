"""Mattermost's API rate limiter, on demand: GCRA per token, as the server runs it.

The server (server/channels/app/ratelimit.go in github.com/mattermost/mattermost) wraps every
API handler in a `throttled.GCRARateLimiter` with `RateQuota{MaxRate: PerSec(PerSec),
MaxBurst: MaxBurst}` (defaults 10 and 100: docs.mattermost.com, "Rate limiting configuration
settings"), keyed by the session token when VaryByUser is on. Every answer carries
`X-RateLimit-Limit` (MaxBurst + 1), `X-RateLimit-Remaining`, `X-RateLimit-Reset` (whole
seconds until the bucket is full again, rounded up) and, on a refusal only, `Retry-After`
(whole seconds until one more request is allowed, rounded up); a refusal is a 429 with the
plain-text body "limit exceeded". The GCRA arithmetic below is throttled's (rate.go).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field


@dataclass
class Verdict:
    limited: bool
    headers: dict[str, str]


@dataclass
class GCRA:
    """One limiter; `per_second` None means rate limiting is off (the server's default)."""

    per_second: float | None = None
    max_burst: int = 100
    refused: int = 0
    _tat: dict[str, float] = field(default_factory=dict)

    def check(self, key: str, now: float | None = None) -> Verdict | None:
        """Count one request of `key`; None when limiting is off."""
        if self.per_second is None:
            return None
        now = time.monotonic() if now is None else now
        interval = 1.0 / self.per_second
        tolerance = interval * (self.max_burst + 1)
        tat = max(self._tat.get(key, now), now)
        new_tat = tat + interval
        diff = now - (new_tat - tolerance)
        if diff < 0:
            ttl, retry_after = tat - now, -diff
        else:
            ttl, retry_after = new_tat - now, -1.0
            self._tat[key] = new_tat
        remaining = max(0, int((tolerance - ttl) / interval))
        headers = {
            "X-RateLimit-Limit": str(self.max_burst + 1),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(math.ceil(ttl)),
        }
        limited = diff < 0
        if limited:
            headers["Retry-After"] = str(math.ceil(retry_after))
            self.refused += 1
        return Verdict(limited, headers)
