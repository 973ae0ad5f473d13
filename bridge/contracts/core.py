"""The core as an adapter sees it: one way in for a message (`post`) and for the
`/threadbridge` command (`command`), stops, the edit budget, counters, core-wide options and
the adapter's own small state. Only `bridge/runtime` builds the concrete one
(`bridge.hub.Hub`); naming no core class here keeps the contracts free of import cycles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from bridge.contracts.data import ThreadKey
from bridge.contracts.feedback import Press
from bridge.contracts.inbound import Incoming, Invocation, Replies
from bridge.contracts.metering import Meter
from bridge.contracts.state import PluginState
from bridge.contracts.surface import Permits


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


@dataclass(frozen=True, slots=True)
class Options:
    """Core-wide values an adapter follows: link previews under replies, the default
    language, and the longest post the core takes."""

    link_previews: bool
    locale: str
    max_post_chars: int


class Core(Protocol):
    """What an adapter may call on the core: no Redis, no settings, no web app."""

    @property
    def meter(self) -> Meter: ...

    @property
    def options(self) -> Options: ...

    @property
    def state(self) -> PluginState:
        """This adapter's per-tenant values (`bridge.contracts.state`)."""
        ...

    @property
    def budget(self) -> Permits: ...

    @property
    def access(self) -> Access: ...

    async def post(self, incoming: Incoming, replies: Replies) -> None:
        """The one way in for a message: carry out its command, refuse it (answered through
        `replies`), or record it durably before the platform is acked; threads the bridge is
        not in are ignored. Raises `RedisError` when Redis is down, so the adapter can answer
        with a retryable failure."""

    async def command(self, invocation: Invocation) -> str:
        """Carry out one use of `/threadbridge`; the text to show only to its user."""
        ...

    def text(self, name: str, locale: str | None = None) -> str:
        """The bot's own text `name` (`command_working`, `link_unknown`) in `locale`'s
        language, else the bridge's default."""
        ...

    async def channel_settings(self, scope: str) -> dict[str, str]:
        """What `/threadbridge config` set for channel `scope` (`channel_scope`), by name."""
        ...

    async def stop(self, thread: ThreadKey) -> None:
        """Stop the reply streaming in `thread`, on whichever replica runs it."""

    async def stop_by_reply(
        self, platform: str, tenant: str, channel: str, message_id: str
    ) -> bool:
        """Stop the reply that bot message `message_id` belongs to; False if none."""
        ...

    async def feedback(self, press: Press) -> str:
        """Keep a thumbs up/down on a reply with its thread, count and log it; the text to
        show only to the person who pressed (thanks, or why it was not kept)."""
        ...

    async def forget_tenant(self, platform: str, tenant: str) -> int:
        """Delete every key of a workspace/guild (the adapter's state under it too); how many
        were deleted."""
        ...
