"""The core as an adapter sees it: what adapters (and the core helpers they call with it,
`bridge.ingest.take`, `bridge.slash.run_slash`, `bridge.commands`) may use. Only
`bridge/runtime` builds the concrete one (`bridge.hub.Hub`); naming no core class here keeps
the contracts free of import cycles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import TYPE_CHECKING, Protocol

from aiohttp import web
from redis.asyncio import Redis

from bridge.contracts.data import Conversation, ThreadKey, UserPost
from bridge.contracts.surface import Permits
from bridge.metrics import Metrics

if TYPE_CHECKING:
    from bridge.config import Settings


class Rate(Enum):
    """What the per-user rate says about one more post."""

    OK = "ok"
    NOTICE = "notice"
    """Over the limit for the first time in this window: refuse with one polite notice."""
    QUIET = "quiet"
    """Over the limit again in the same window: refuse without a word."""


class Access(Protocol):
    """Who may use the bridge where, who is an admin, and the per-user post rate."""

    @property
    def posts_per_minute(self) -> int: ...

    def allows(self, thread: ThreadKey, user: str, home: str = "") -> bool:
        """Whether `user` may post in `thread`; `home`: the user's own tenant when it is not
        the thread's (a Slack Connect guest), judged by the tenant lists too."""
        ...

    def allows_in(self, tenant: str, channel: str, user: str, home: str = "") -> bool:
        """Whether `user` may use the bridge in `channel` of `tenant` (posts and commands)."""
        ...

    async def is_admin(self, user: str, platform_admin: Callable[[], Awaitable[bool]]) -> bool:
        """Listed as an admin, or an admin as the platform tells (asked only when not listed)."""
        ...

    async def rate(self, thread: ThreadKey, user: str, message_id: str) -> Rate:
        """Count post `message_id` of `user` and say whether it may go on."""
        ...


class Core(Protocol):
    """Accept posts, ask about threads and channels, stop and reset; `web` takes extra HTTP
    routes (Slack HTTP mode), `redis` and `prefix` serve Slack's OAuth stores."""

    @property
    def settings(self) -> Settings: ...

    @property
    def metrics(self) -> Metrics: ...

    @property
    def web(self) -> web.Application: ...

    @property
    def budget(self) -> Permits: ...

    @property
    def access(self) -> Access: ...

    @property
    def redis(self) -> Redis: ...

    @property
    def prefix(self) -> str: ...

    @property
    def default_provider(self) -> str: ...

    async def accept(self, post: UserPost, *, starts_thread: bool = False) -> bool:
        """Record `post` durably before the platform is acked; False if it was seen before."""
        ...

    async def is_thread(self, thread: ThreadKey) -> bool: ...

    async def stop(self, thread: ThreadKey) -> None:
        """Stop the reply streaming in `thread`, on whichever replica runs it."""

    async def stop_by_reply(
        self, platform: str, tenant: str, channel: str, message_id: str
    ) -> bool:
        """Stop the reply that bot message `message_id` belongs to; False if none."""
        ...

    def provider_names(self) -> list[str]: ...

    def provider_configured(self, name: str) -> bool: ...

    async def fresh(self, thread: ThreadKey) -> None:
        """Stop the reply and unbind: the next post starts a new conversation."""

    async def forget(self, thread: ThreadKey) -> None:
        """Stop the reply, forget the conversation at its provider, delete the thread's keys."""

    async def reset(self, thread: ThreadKey) -> None:
        """Forget the thread's conversation; the next post starts a new one."""

    async def steer(self, thread: ThreadKey, changes: dict[str, str]) -> bool:
        """Apply changed steering to the live conversation; True if its provider could."""
        ...

    async def posts_seen(self, thread: ThreadKey) -> int: ...

    async def binding(self, thread: ThreadKey) -> Conversation | None: ...

    async def channel_settings(self, scope: str) -> dict[str, str]: ...

    async def set_channel_setting(self, scope: str, name: str, value: str) -> None: ...

    async def clear_channel_setting(self, scope: str, name: str) -> None: ...

    async def last_thread(self, scope: str, user: str) -> ThreadKey | None:
        """The thread `user` last posted in within channel `scope` (for slash commands)."""
        ...

    async def set_last_thread(self, scope: str, user: str, thread: ThreadKey) -> None: ...

    async def claim_notice(self, thread: ThreadKey, message_id: str) -> bool:
        """True for the first delivery of `message_id` that may answer it with a notice."""
        ...

    async def add_participant(self, thread: ThreadKey, user: str) -> int:
        """Note `user` in the thread; how many people have posted there."""
        ...

    async def forget_tenant(self, platform: str, tenant: str) -> int:
        """Delete every key of a workspace/guild; how many were deleted."""
        ...
