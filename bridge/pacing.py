"""Edit budgets shared by every reply on one rate-limit scope, across all replicas.

A token bucket per scope lives in Redis and is refilled by Redis's own clock, so every replica
sees the same allowance. Interim edits leave one token in reserve: a final edit never waits
behind a stream of interim ones.
"""

from __future__ import annotations

import asyncio
import random

from redis.asyncio import Redis

from bridge.keys import Keys
from bridge.metrics import Metrics
from bridge.surface import Allowance

MIN_RETRY = 0.05
"""Waiters on a busy scope ask again no faster than this, spread at random, not in lockstep."""

_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local reserve = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) / 1000 * rate)
local wait = 0
if tokens >= 1 + reserve then
  tokens = tokens - 1
else
  wait = math.ceil((1 + reserve - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 60000)
return wait
"""


class EditBudget:
    """Take edit permits for a scope; `take` answers how long to wait when none is left."""

    def __init__(self, redis: Redis, prefix: str, metrics: Metrics | None = None) -> None:
        self._redis = redis
        self._keys = Keys(prefix)
        self._metrics = metrics
        self._script = redis.register_script(_TAKE)

    async def take(self, allowances: tuple[Allowance, ...], *, final: bool) -> float:
        """Consume one permit in every scope and return 0, or the seconds to wait and retry.

        Scopes are asked one after the other (they may live on different cluster slots); a
        permit taken before a later scope refuses is simply spent.
        """
        for allowance in allowances:
            rate = allowance.rate
            reserve = 0 if final or rate.burst < 2 else 1
            key = self._keys.budget(allowance.scope)
            args = [rate.per_second, rate.burst, reserve]
            wait_ms = int(await self._script(keys=[key], args=args))
            if wait_ms > 0:
                if self._metrics is not None:
                    self._metrics.budget_wait(allowance.scope)
                return wait_ms / 1000.0
        return 0.0

    async def acquire(self, allowances: tuple[Allowance, ...], *, final: bool) -> None:
        """Wait until a permit is free in every scope and take it."""
        wait = await self.take(allowances, final=final)
        while wait > 0:
            await asyncio.sleep(max(wait, MIN_RETRY) * (1.0 + random.random() / 3))
            wait = await self.take(allowances, final=final)
