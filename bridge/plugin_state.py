"""`PluginState` on Redis: a plugin's per-tenant values under `plugin:<platform>:<tenant>:
<name>` (`Keys.plugin`), deleted with the tenant by `Store.forget_tenant`.

`opened` serves plugin commands that run outside a bridge (`rotate-slack-keys`): it connects
with the process's settings and closes the connection when the block ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from bridge.config import load_settings
from bridge.contracts import PluginState, unescape_id
from bridge.keys import Keys
from bridge.redis_conn import connect

_REPLACE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  return 1
end
return 0
"""
"""Write the new value only over the very bytes it replaces (one step), keeping its TTL."""


class RedisPluginState:
    """One platform's plugin values (the running bridge gives each adapter its own)."""

    def __init__(self, redis: Redis, keys: Keys, platform: str) -> None:
        self._redis = redis
        self._keys = keys
        self._platform = platform
        self._replace = redis.register_script(_REPLACE)

    def _key(self, tenant: str, name: str) -> str:
        return self._keys.plugin(self._platform, tenant, name)

    async def get(self, tenant: str, name: str) -> str | None:
        return _text(await self._redis.get(self._key(tenant, name)))

    async def set(self, tenant: str, name: str, value: str, ttl: int | None = None) -> None:
        await self._redis.set(self._key(tenant, name), value, ex=ttl)

    async def getset(
        self, tenant: str, name: str, value: str, ttl: int | None = None
    ) -> str | None:
        old = await self._redis.set(self._key(tenant, name), value, ex=ttl, get=True)
        return _text(old) if isinstance(old, bytes | str) else None

    async def replace(self, tenant: str, name: str, old: str, new: str) -> bool:
        return bool(await self._replace(keys=[self._key(tenant, name)], args=[old, new]))

    async def delete(self, tenant: str, *names: str) -> None:
        if names:
            await self._redis.delete(*(self._key(tenant, name) for name in names))

    async def tenants(self, name: str) -> AsyncIterator[str]:
        pattern, shape = self._keys.plugin_tenants(self._platform, name)
        prefix = len(self._keys.prefix)
        async for key in self._redis.scan_iter(match=pattern, count=500):
            if not self._keys.owns(key, shape):
                continue
            found = shape.fullmatch((_text(key) or "")[prefix:])
            if found is not None:
                yield unescape_id(found.group(1))


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


@asynccontextmanager
async def opened(platform: str) -> AsyncIterator[PluginState]:
    """`platform`'s state with this process's settings (REDIS_URL, BRIDGE_REDIS_PREFIX)."""
    settings = load_settings()
    handle = await connect(settings)
    try:
        yield RedisPluginState(handle.client, Keys(settings.bridge_redis_prefix), platform)
    finally:
        await handle.aclose()
