"""Who may use the bridge: allow/deny lists of tenants, channels and users, extra admins,
and a per-user post rate counted in Redis (so every replica shares it).

Empty allow-lists mean everyone; a deny-list always wins. Lists hold messenger ids as the
adapters see them: a Slack team or Discord guild id, a channel id (a Discord thread counts
as its parent channel) and a user id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from bridge.config import Settings
from bridge.contracts import Rate, ThreadKey
from bridge.keys import Keys

WINDOW_SECONDS = 60

_COUNT = """
local seen = redis.call('GET', KEYS[2])
if seen then
  return tonumber(seen)
end
local n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
redis.call('SET', KEYS[2], n, 'EX', ARGV[1])
return n
"""
"""Counts a post once however often it is delivered (Slack sends a mention as `app_mention`
and `message`); a redelivery gets the verdict of the first delivery."""


def id_set(value: str) -> frozenset[str]:
    """A comma-separated setting as a set of ids (blanks ignored)."""
    return frozenset(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class Lists:
    allow: frozenset[str] = frozenset()
    deny: frozenset[str] = frozenset()

    def admits(self, value: str) -> bool:
        return value not in self.deny and (not self.allow or value in self.allow)


class AccessPolicy:
    """The deployment's access settings, read once; `rate` needs Redis and the deployment's
    `Keys` (without them it counts nothing), the rest is pure."""

    def __init__(
        self,
        tenants: Lists = Lists(),
        channels: Lists = Lists(),
        users: Lists = Lists(),
        admins: frozenset[str] = frozenset(),
        posts_per_minute: int = 0,
        redis: Redis | None = None,
        keys: Keys | None = None,
    ) -> None:
        self.tenants = tenants
        self.channels = channels
        self.users = users
        self.admins = admins
        self.posts_per_minute = posts_per_minute
        self._redis = redis
        self._keys = keys
        self._count = None if redis is None or keys is None else redis.register_script(_COUNT)

    @classmethod
    def from_settings(
        cls, settings: Settings, redis: Redis | None = None, keys: Keys | None = None
    ) -> AccessPolicy:
        s = settings
        return cls(
            tenants=Lists(id_set(s.bridge_allow_tenants), id_set(s.bridge_deny_tenants)),
            channels=Lists(id_set(s.bridge_allow_channels), id_set(s.bridge_deny_channels)),
            users=Lists(id_set(s.bridge_allow_users), id_set(s.bridge_deny_users)),
            admins=id_set(s.bridge_admin_users),
            posts_per_minute=s.bridge_user_posts_per_minute,
            redis=redis,
            keys=keys,
        )

    def allows(self, thread: ThreadKey, user: str, home: str = "") -> bool:
        """Whether `user` may post in `thread` (tenant, channel and user lists)."""
        return self.allows_in(thread.tenant, thread.channel, user, home)

    def allows_in(self, tenant: str, channel: str, user: str, home: str = "") -> bool:
        """Whether `user` may use the bridge in `channel` of `tenant` (posts and commands).
        `home`: the user's own tenant when it differs (a Slack Connect guest posting in a
        shared channel): a denied or unlisted workspace stays out through a shared channel."""
        return (
            self.tenants.admits(tenant)
            and (not home or self.tenants.admits(home))
            and self.channels.admits(channel)
            and self.users.admits(user)
        )

    def tenant_allowed(self, tenant: str) -> bool:
        return self.tenants.admits(tenant)

    def is_listed_admin(self, user: str) -> bool:
        """An admin named in BRIDGE_ADMIN_USERS (platform admins are the adapters' to tell)."""
        return user in self.admins

    async def is_admin(self, user: str, platform_admin: Callable[[], Awaitable[bool]]) -> bool:
        """The one admin check (thread commands and /threadbridge config): listed in
        BRIDGE_ADMIN_USERS, or an admin as the platform tells (asked only when not listed)."""
        return self.is_listed_admin(user) or await platform_admin()

    async def rate(self, thread: ThreadKey, user: str, message_id: str) -> Rate:
        """Count post `message_id` of `user` in the window that began with their first
        counted post."""
        if self.posts_per_minute <= 0 or self._count is None or self._keys is None:
            return Rate.OK
        key = self._keys.user_rate(thread.platform, thread.tenant, user)
        names = [key, f"{key}:post:{message_id}"]
        count = int(await self._count(keys=names, args=[WINDOW_SECONDS]))
        if count <= self.posts_per_minute:
            return Rate.OK
        return Rate.NOTICE if count == self.posts_per_minute + 1 else Rate.QUIET
