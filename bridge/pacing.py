"""Edit budgets shared by every reply on one rate-limit scope, across all replicas.

A token bucket per scope lives in Redis and is refilled by Redis's own clock, so every replica
sees the same allowance; a scope counted in windows whose alignment we cannot know (Discord's
global limit, Teams') is a sliding log instead: at most `burst` requests in any `window`
seconds, each counted the way a process's own arrival window counts it
(`bridge.contracts.toolkit.arrival`): from its grant, in flight, until a window after its write
is over, when the platform has answered it. So no platform window, of any alignment, holds more
than `burst` requests of all the replicas together, however late one sends or is answered, and
the whole allowance is usable with no margin.
First texts and finals spend the whole burst; interim edits and status only what a full bucket
would otherwise waste (of a window, interim edits leave a tenth), so a reply that completes
finds the burst there; on a window long enough that a refused final would wait many seconds,
interim edits also leave a slot for every reply open there (`LONG_WINDOW`). While a reply's
first text waits for a scope, nothing of lower priority is granted there, and while a final
waits, no interim edit or status: a first text never waits behind final or interim edits, and
completing a reply never waits behind other replies' interim edits. A 429 pauses the one
scope it names for its Retry-After, for every replica.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import time
import uuid

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bridge.contracts import Allowance, EditRate, Grant, Priority, outlast_cancel
from bridge.contracts.backoff import jitter_within
from bridge.keys import Keys
from bridge.metrics import Metrics

log = logging.getLogger(__name__)

MIN_RETRY = 0.05
"""Waiters on a busy scope ask again no faster than this, spread at random, not in lockstep."""
REFUSALS_KEPT = 4096
"""Scopes whose last refusal a process remembers before it forgets the ones that ran out."""
FLIGHT = 60.0
"""A window permit still in flight after this long (its process died before its write ended)
stops counting as in flight: it counts a window from then, then goes."""


def retry_in(wait: float) -> float:
    """How long a refused write sleeps before asking again: the wait the scope named (exact: a
    token's refill, a window's slot freeing), at least `MIN_RETRY`, and up to `MIN_RETRY` more
    at random so waiters refused together do not ask in lockstep. A share of the wait instead
    (`jitter`) would spread a window's next burst over a third of a window."""
    return jitter_within(max(wait, MIN_RETRY), MIN_RETRY)


_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local reserve = tonumber(ARGV[3])
local priority = tonumber(ARGV[4])
local waiter = ARGV[5]
local window = tonumber(ARGV[6])
local flight = tonumber(ARGV[7])
local reply = ARGV[8]
local open_ttl = tonumber(ARGV[9])
local member = ''
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local waiting = KEYS[2]
if priority == 1 then waiting = KEYS[3] end
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'paused')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
local paused = tonumber(state[3]) or 0
tokens = math.min(burst, tokens + math.max(0, now - ts) / 1000 * rate)
local wait = 0
local ttl = math.ceil(burst / rate * 1000) + 60000
for level = 0, 1 do
  if priority > level and wait == 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[level + 2], '-inf', now)
    if redis.call('ZCARD', KEYS[level + 2]) > 0 then
      wait = math.max(50, math.ceil(1 / rate * 1000))
    end
  end
end
if wait == 0 and now < paused then
  wait = paused - now
elseif wait == 0 and window > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - window)
  local used = redis.call('ZCARD', KEYS[4])
  local room = math.floor(burst) - reserve
  if reply ~= '' and priority >= 2 then
    redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
    local open = redis.call('ZCARD', KEYS[5])
    if not redis.call('ZSCORE', KEYS[5], reply) then open = open + 1 end
    room = math.min(room, math.floor(burst) - open)
  end
  if room < 1 then
    wait = math.max(50, math.ceil(1 / rate * 1000))
  elseif used < room then
    local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
    member = now .. '-' .. seq
    redis.call('ZADD', KEYS[4], now + flight, member)
    redis.call('PEXPIRE', KEYS[4], window + flight + 60000)
  else
    local freed = tonumber(redis.call('ZRANGE', KEYS[4], used - room, used - room, 'WITHSCORES')[2])
    if freed > now then
      wait = math.max(50, math.ceil(1 / rate * 1000))
    else
      wait = math.max(1, freed + window - now)
    end
  end
elseif wait == 0 then
  if tokens >= 1 + reserve then
    tokens = tokens - 1
  else
    wait = math.ceil((1 + reserve - tokens) / rate * 1000)
  end
end
if priority <= 1 then
  if wait == 0 then
    redis.call('ZREM', waiting, waiter)
  else
    redis.call('ZADD', waiting, now + wait + 1000, waiter)
    redis.call('PEXPIRE', waiting, ttl)
  end
end
if wait == 0 and reply ~= '' then
  if priority == 1 then
    redis.call('ZREM', KEYS[5], reply)
  elseif priority == 0 then
    redis.call('ZADD', KEYS[5], now + open_ttl, reply)
    redis.call('PEXPIRE', KEYS[5], open_ttl + 60000)
  elseif redis.call('ZADD', KEYS[5], 'XX', 'CH', now + open_ttl, reply) > 0 then
    redis.call('PEXPIRE', KEYS[5], open_ttl + 60000)
  end
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], ttl)
return {wait, member}
"""

_END = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return 0 end
if ARGV[2] == '0' then return redis.call('ZREM', KEYS[1], ARGV[1]) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if tonumber(score) > now then redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1]) end
return 1
"""

_PAUSE = """
local rate = tonumber(ARGV[1])
local seconds = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms = math.ceil(seconds * 1000)
redis.call('HSET', KEYS[1], 'tokens', tostring(-rate * seconds), 'ts', now, 'paused', now + ms)
redis.call('PEXPIRE', KEYS[1], ms + 60000)
return 1
"""


LONG_WINDOW = 10.0
"""A window at least this long (Teams' 30 s and hour) would hold a refused final for many
seconds: there, interim edits and status also leave one slot for each reply still open on the
scope, so every reply that is streaming can still finish (its final) at once."""
OPEN_REPLY = 120.0
"""A reply is open on a long window from its first text's grant there until a final of it is
granted there, or this long after its last permit there (its process may have died)."""
WINDOW_RESERVE = 0.1
"""The share of a sliding window's requests interim edits and status leave to first texts and
finals: a window refills all at once, so "only a full window's surplus" would starve them."""
STATUS_WINDOW_RESERVE = 0.5


def reserve(priority: Priority, rate: EditRate) -> int:
    """Permits a write of `priority` must leave for higher priorities on a scope: none for
    first texts and finals (waiting ones hold lower priorities back instead); for interim edits
    and status, all but the last of a token bucket's burst; of a window, interim edits leave a
    tenth, status (typing) half: it goes while a window is quiet, not into a burst of first
    texts."""
    if priority <= Priority.FINAL:
        return 0
    if rate.window > 0:
        share = WINDOW_RESERVE if priority == Priority.INTERIM else STATUS_WINDOW_RESERVE
        return min(max(1, math.ceil(rate.burst * share)), max(0, math.ceil(rate.burst) - 1))
    return max(0, math.ceil(rate.burst) - 1)


class EditBudget:
    """Take edit permits for a scope; `take` answers how long to wait when none is left."""

    def __init__(self, redis: Redis, keys: Keys, metrics: Metrics | None = None) -> None:
        self._redis = redis
        self._keys = keys
        self._metrics = metrics
        self._script = redis.register_script(_TAKE)
        self._pause = redis.register_script(_PAUSE)
        self._end = redis.register_script(_END)
        self._refused: dict[tuple[str, Priority], float] = {}
        """(token bucket scope, priority) → when Redis's last refusal there runs out
        (monotonic): until then this process's other waiters of that rank are answered here,
        not by Redis."""

    def _key(self, allowance: Allowance) -> str:
        return self._keys.budget(allowance.scope)

    async def pause(self, allowance: Allowance, seconds: float) -> None:
        """Empty `allowance`'s scope so no replica writes there for `seconds` (a 429 said so)."""
        await self._pause(keys=[self._key(allowance)], args=[allowance.rate.per_second, seconds])

    async def take(
        self,
        allowances: tuple[Allowance, ...],
        *,
        final: bool = False,
        priority: Priority | None = None,
        waiter: str = "",
        grant: Grant | None = None,
        reply: str = "",
    ) -> float:
        """Consume one permit in every scope and return 0, or the seconds to wait and retry.

        A refused first text or final (`waiter` names it) holds lower priorities back on that
        scope until it is granted or stops asking. With `grant`, a window scope counts the
        permit as in flight until the grant ends (`bridge.contracts.writing`); without, from
        its grant (nothing would end it). `reply` names the reply the write belongs to: on a
        long window it stays open until a final of it is granted (`LONG_WINDOW`).

        Scopes are asked one after the other (they may live on different cluster slots); when a
        later scope refuses, the windows' permits taken before are given back, a token bucket's
        are simply spent.
        """
        if priority is None:
            priority = Priority.FINAL if final else Priority.INTERIM
        refused = self._refused_for(allowances, priority)
        if refused is not None:
            allowance, left = refused
            if self._metrics is not None:
                self._metrics.budget_wait(allowance)
            return left
        waiter = waiter or uuid.uuid4().hex
        flight = math.ceil(FLIGHT * 1000) if grant is not None else 0
        taken: list[tuple[str, bytes | str]] = []
        try:
            return await self._take(allowances, priority, waiter, flight, reply, grant, taken)
        except BaseException:
            await outlast_cancel(self._settle(taken, False))
            raise

    async def _take(
        self,
        allowances: tuple[Allowance, ...],
        priority: Priority,
        waiter: str,
        flight: int,
        reply: str,
        grant: Grant | None,
        taken: list[tuple[str, bytes | str]],
    ) -> float:
        """`take`'s asking, scope after scope; `taken` holds the window permits granted so far
        (given back if a later scope refuses, or if this is cancelled or fails)."""
        for allowance in allowances:
            rate = allowance.rate
            key = self._key(allowance)
            ledger = self._keys.budget_log(allowance.scope)
            args: list[float | int | str] = [
                rate.per_second,
                rate.burst,
                reserve(priority, rate),
                int(priority),
                waiter,
                math.ceil(rate.window * 1000),
                flight,
                reply if rate.window >= LONG_WINDOW else "",
                math.ceil(OPEN_REPLY * 1000),
            ]
            waiting = [
                self._keys.budget_first(allowance.scope),
                self._keys.budget_final(allowance.scope),
                ledger,
                self._keys.budget_replies(allowance.scope),
            ]
            wait_ms, member = await self._script(keys=[key, *waiting], args=args)
            if int(wait_ms) > 0:
                if self._metrics is not None:
                    self._metrics.budget_wait(allowance)
                self._refuse(allowance, priority, int(wait_ms) / 1000.0)
                await self._settle(taken, False)
                taken.clear()
                return int(wait_ms) / 1000.0
            self._refused.pop((allowance.scope, priority), None)
            if member:
                taken.append((ledger, member))
        if grant is not None and taken:
            grant.hold(functools.partial(self._settle, list(taken)))
            taken.clear()
        return 0.0

    def _refused_for(
        self, allowances: tuple[Allowance, ...], priority: Priority
    ) -> tuple[Allowance, float] | None:
        """A scope of `allowances` Redis refused to a waiter of `priority` moments ago, and the
        rest of the wait it named: a thousand replies waiting on one scope ask Redis about
        twice per permit that frees, not each of them every 50 ms. Nothing is taken then."""
        now = time.monotonic()
        for allowance in allowances:
            until = self._refused.get((allowance.scope, priority))
            if until is not None and until > now:
                return allowance, until - now
        return None

    def _refuse(self, allowance: Allowance, priority: Priority, seconds: float) -> None:
        """Remember a token bucket's refusal; a window's is not kept: its permits are given
        back and its open replies close at any moment, and its waits can run to an hour."""
        if allowance.rate.window > 0:
            return
        if len(self._refused) >= REFUSALS_KEPT:
            now = time.monotonic()
            self._refused = {k: t for k, t in self._refused.items() if t > now}
        self._refused[(allowance.scope, priority)] = time.monotonic() + seconds

    async def _settle(self, taken: list[tuple[str, bytes | str]], sent: bool) -> None:
        """Count window permits a window from now (their write sent a request), or give them
        back (it sent none). Failing, they stop counting by themselves (`FLIGHT`)."""
        if not taken:
            return
        ends = (self._end(keys=[key], args=[member, int(sent)]) for key, member in taken)
        try:
            await asyncio.gather(*ends)
        except (RedisError, OSError) as exc:
            log.warning("window permits not settled, they count until they expire: %s", exc)

    async def acquire(
        self,
        allowances: tuple[Allowance, ...],
        *,
        final: bool = False,
        priority: Priority | None = None,
        grant: Grant | None = None,
    ) -> None:
        """Wait until a permit is free in every scope and take it (into `grant`: `take`)."""
        waiter = uuid.uuid4().hex
        take = functools.partial(
            self.take, allowances, final=final, priority=priority, waiter=waiter, grant=grant
        )
        wait = await take()
        while wait > 0:
            await asyncio.sleep(retry_in(wait))
            wait = await take()
