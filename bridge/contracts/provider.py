"""The provider seam: what every LLM backend implements (they are found in `bridge.plugins`)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic_settings import BaseSettings

from bridge.contracts.data import Conversation, ReplyEvent, ThreadKey, UserPost


class ThreadState(Protocol):
    """Small per-thread values a provider keeps itself (its history, a conversation's owner).

    Field names start with the provider's name (`openai:history`); values are text, any JSON is
    the provider's. The core keeps them as long as the thread's other data and drops them on
    `/fresh` and when the thread is forgotten, so a provider never handles keys or expiry.
    """

    async def get(self, thread: ThreadKey, name: str) -> str | None: ...

    async def set(self, thread: ThreadKey, name: str, value: str) -> None: ...

    async def delete(self, thread: ThreadKey, name: str) -> None: ...


@dataclass(frozen=True, slots=True)
class ProviderOptions:
    """The core-wide values a provider reads: its HTTP client's timeouts and pool size
    (PROVIDER_*), the deployment's system prompt and the reply's token cap (BRIDGE_*)."""

    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    max_connections: int = 4096
    system_prompt: str = ""
    max_reply_tokens: int = 8192


@dataclass(frozen=True, slots=True)
class ProviderContext:
    """What a provider may use besides its own settings: per-thread state it keeps itself, the
    core-wide options, and where its HTTP client reports each request's wait for a connection
    (`bridge.contracts.toolkit.http`)."""

    state: ThreadState
    options: ProviderOptions = field(default_factory=ProviderOptions)
    connection_wait: Callable[[float], None] | None = None


@runtime_checkable
class Provider(Protocol):
    """One LLM conversation API.

    `open` returns the new conversation's id, or None when the id only arrives in the first
    stream (then `reply` yields `ConversationStarted`). `reply` never raises for provider
    trouble: it yields `ReplyFailed` so the thread says what happened. It is a generator
    because the core closes it (`aclose`) when it stops reading, which ends the request.
    """

    name: str
    streams: bool
    replays: bool

    async def open(self, thread: ThreadKey, steering: Mapping[str, str]) -> str | None: ...

    def reply(
        self, conversation: Conversation, post: UserPost
    ) -> AsyncGenerator[ReplyEvent, None]: ...

    async def cancel(self, conversation: Conversation) -> None: ...

    async def forget(self, conversation: Conversation) -> None: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class Steerable(Protocol):
    """A provider whose live conversations take new steering (neuroflash PATCH, OpenAI's own
    history); others apply a channel's steering to new threads only."""

    async def steer(self, conversation: Conversation, changes: Mapping[str, str]) -> bool:
        """Apply `changes` to the live conversation; False if none of them can be."""
        ...


class ProviderClass(Protocol):
    """The entry-point target: a class that reads its own settings (a pydantic-settings class
    with the provider's env prefix, `NEUROFLASH_`), says whether they are enough to run it, and
    builds itself from them and the context."""

    settings_class: type[BaseSettings]

    def configured(self, settings: Any) -> bool:
        """Whether `settings` (an instance of `settings_class`) has what the provider needs."""
        ...

    def __call__(self, settings: Any, context: ProviderContext) -> Provider: ...


@runtime_checkable
class Variant(Protocol):
    """A provider class that is another API of another provider's account (same credentials):
    it counts as no second choice when the default provider is picked."""

    variant_of: str
