"""Reading a provider's reply in tests the way `bridge/turn.py` reads it."""

from __future__ import annotations

from bridge.contracts import (
    Conversation,
    ConversationStarted,
    Provider,
    ReplyDone,
    ReplyEvent,
    ReplyFailed,
    TextDelta,
    UserPost,
)


async def collect(provider: Provider, conv: Conversation, post: UserPost) -> list[ReplyEvent]:
    return [event async for event in provider.reply(conv, post)]


def final(events: list[ReplyEvent]) -> str | None:
    """The text the renderer would show: ReplyDone.text when given, else the deltas."""
    done = events[-1]
    assert isinstance(done, ReplyDone), events
    deltas = "".join(e.text for e in events if isinstance(e, TextDelta))
    return done.text if done.text is not None else deltas


def started(events: list[ReplyEvent]) -> list[str]:
    return [e.conversation_id for e in events if isinstance(e, ConversationStarted)]


def told(failure: ReplyFailed) -> str:
    """What a failure says to the user and, for the log only, its detail (status, body)."""
    return f"{failure.message} | {failure.detail or ''}"
