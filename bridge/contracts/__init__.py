"""The core's seams in one place: the data every part shares, and the protocols a provider,
a messenger adapter and its surfaces implement. Plugins import from here, never the reverse."""

from bridge.contracts.adapter import Adapter, AdapterClass
from bridge.contracts.core import Access, Core, Rate
from bridge.contracts.data import (
    Attachment,
    Conversation,
    ConversationStarted,
    ReplyDone,
    ReplyEvent,
    ReplyFailed,
    TextDelta,
    ThreadKey,
    UserPost,
)
from bridge.contracts.provider import Provider, ProviderContext, ProviderFactory, Steerable
from bridge.contracts.surface import (
    GIVE_UP,
    GONE,
    INVALID,
    RETRY,
    TOO_LONG,
    Allowance,
    EditRate,
    Permits,
    Priority,
    Route,
    Surface,
    WriteRejected,
)

__all__ = [
    "GIVE_UP",
    "GONE",
    "INVALID",
    "RETRY",
    "TOO_LONG",
    "Access",
    "Adapter",
    "AdapterClass",
    "Allowance",
    "Attachment",
    "Conversation",
    "ConversationStarted",
    "Core",
    "EditRate",
    "Permits",
    "Priority",
    "Provider",
    "ProviderContext",
    "ProviderFactory",
    "Rate",
    "ReplyDone",
    "ReplyEvent",
    "ReplyFailed",
    "Route",
    "Steerable",
    "Surface",
    "TextDelta",
    "ThreadKey",
    "UserPost",
    "WriteRejected",
]
