"""The provider seam: what every LLM backend implements (they are found in `bridge.plugins`)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bridge.config import Settings
from bridge.contracts.data import Conversation, ReplyEvent, ThreadKey, UserPost

if TYPE_CHECKING:
    from bridge.store import Store


@dataclass(slots=True)
class ProviderContext:
    """What a provider may use besides its settings: the store (for history it keeps itself)."""

    settings: Settings
    store: Store


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


class ProviderFactory(Protocol):
    def __call__(self, context: ProviderContext) -> Provider: ...
