"""The little the adapter keeps in Redis: per channel, the newest post it has seen (so posts
made while its WebSocket was down are fetched afterwards), and which replica carries out a
command (every replica's socket gets every event).

Names follow the plugin state layout `plugin:mattermost:<tenant>:<name>` under the bridge's
prefix, so the keys go with the tenant.
"""

from __future__ import annotations

from redis.asyncio import Redis

CLAIM_SECONDS = 86_400
_ADVANCE = """
local old = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > old then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return 1
"""


class AdapterState:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._advance = redis.register_script(_ADVANCE)

    def _key(self, tenant: str, name: str) -> str:
        return f"{self._prefix}plugin:mattermost:{tenant}:{name}"

    async def claim(self, tenant: str, post_id: str) -> bool:
        """True for the one replica that carries out the command in post `post_id`."""
        key = self._key(tenant, f"command:{post_id}")
        return bool(await self._redis.set(key, "1", nx=True, ex=CLAIM_SECONDS))

    async def seen(self, tenant: str, channel: str, create_at: int) -> None:
        """Channel `channel` has been read up to `create_at` (ms); never moves back."""
        await self._advance(keys=[self._key(tenant, "cursor")], args=[channel, create_at])

    async def cursors(self) -> list[tuple[str, str, int]]:
        """(tenant, channel, last create_at) of every channel read so far."""
        found: list[tuple[str, str, int]] = []
        head = f"{self._prefix}plugin:mattermost:"
        async for raw in self._redis.scan_iter(match=f"{head}*:cursor", count=500):
            key = raw.decode() if isinstance(raw, bytes) else str(raw)
            tenant = key[len(head) : -len(":cursor")]
            for channel, value in (await self._redis.hgetall(key)).items():
                name = channel.decode() if isinstance(channel, bytes) else str(channel)
                found.append((tenant, name, int(value)))
        return found
