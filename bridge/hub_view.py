"""The hub as the inbound policy (`bridge.ingest`, `bridge.slash`, `bridge.commands`) sees
it: the store questions behind a post or a command. Adapters never get this; they get
`bridge.contracts.Core`, whose `post` and `command` run the policy with the hub."""

from __future__ import annotations

from typing import Protocol

from bridge.config import Settings
from bridge.contracts import Access, Conversation, ThreadKey, UserPost
from bridge.metrics import Metrics


class HubView(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def metrics(self) -> Metrics: ...

    @property
    def access(self) -> Access: ...

    @property
    def default_provider(self) -> str: ...

    async def accept(self, post: UserPost, *, starts_thread: bool = False) -> bool:
        """Record `post` durably before the platform is acked; False if it was seen before."""
        ...

    async def is_thread(self, thread: ThreadKey) -> bool: ...

    async def stop(self, thread: ThreadKey) -> None: ...

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

    async def claim_command(self, thread: ThreadKey, message_id: str) -> bool:
        """True for the first delivery of `message_id` that may carry out its command."""
        ...

    async def add_participant(self, thread: ThreadKey, user: str) -> int:
        """Note `user` in the thread; how many people have posted there."""
        ...
