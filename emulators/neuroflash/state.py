"""What the neuroflash emulator remembers: conversations, their messages, and who holds a stream.

Message ids are the client's (user messages) or server-made (assistant messages); a user id maps
to its assistant reply so a replay answers without a new generation.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

STEERING_KEYS = ("personality", "personalityId", "brandVoiceId", "targetAudienceId", "modelName")
PATCH_KEYS = ("personality", "brandVoiceId", "targetAudienceId")


def now_iso() -> str:
    """The service's timestamp format (a naive UTC LocalDateTime, as in the seed's examples)."""
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


@dataclass
class Message:
    id: str
    text: str
    source: str
    created_at: str

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "source": self.source,
            "createdAt": self.created_at,
        }


@dataclass
class ActiveStream:
    """The one stream a conversation may run; `cancelled` is set by DELETE …/message-streams."""

    user_message_id: str
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Conversation:
    id: str
    created_at: str
    steering: dict[str, Any]
    customer_id: int = 42
    messages: list[Message] = field(default_factory=list)
    replies: dict[str, str] = field(default_factory=dict)
    stream: ActiveStream | None = None

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "createdAt": self.created_at,
            "modelName": self.steering.get("modelName"),
            "legacyCustomerId": self.customer_id,
        }

    def find(self, message_id: str) -> Message | None:
        return next((m for m in self.messages if m.id == message_id), None)

    def reply_to(self, user_message_id: str) -> Message | None:
        """The stored assistant reply to `user_message_id`, if a generation produced one."""
        reply_id = self.replies.get(user_message_id)
        return self.find(reply_id) if reply_id else None

    def add_user(self, message_id: str, text: str, created_at: str) -> None:
        if self.find(message_id) is None:
            self.messages.append(Message(message_id, text, "user", created_at))

    def add_reply(self, user_message_id: str, text: str) -> Message:
        message = Message(str(uuid.uuid4()), text, "assistant", now_iso())
        self.messages.append(message)
        self.replies[user_message_id] = message.id
        return message


def default_reply(text: str) -> str:
    """A deterministic answer with multi-byte characters, ZWJ emoji and a CRLF in it."""
    words = text.split()
    head = " ".join(words[:12]) or "(nothing)"
    return (
        f"You wrote: {head}\r\n"
        f"Here is a thought about it — {len(words)} words, naïve café style. "
        "👩‍💻 works on it, 👨‍👩‍👧‍👦 agrees, 🏳️‍🌈 waves. Done ✅"
    )


def split_tokens(text: str, seed: int = 0) -> list[str]:
    """Cut `text` into stream deltas at arbitrary code points.

    Sizes cycle through a fixed pattern, and a cut is forced right after every zero-width joiner
    and every carriage return, so emoji sequences and CRLF pairs straddle two deltas.
    """
    sizes = (1, 3, 2, 5, 1, 4, 2)
    tokens: list[str] = []
    current = ""
    index = seed
    for char in text:
        current += char
        if char in "\u200d\r" or len(current) >= sizes[index % len(sizes)]:
            tokens.append(current)
            current = ""
            index += 1
    if current:
        tokens.append(current)
    return tokens


def page_of(items: list[Any], query: dict[str, str]) -> dict[str, Any] | str:
    """The standard pagination envelope (1-based pages, size ≤ 100), or an error message."""
    try:
        page = int(query.get("page", "1"))
        size = int(query.get("size", "20"))
    except ValueError:
        return "page and size must be integers"
    if page < 1:
        return "page must be 1 or more (pages are 1-based)"
    if not 1 <= size <= 100:
        return "size must be between 1 and 100"
    total = len(items)
    start = (page - 1) * size
    return {
        "page": {
            "size": size,
            "totalElements": total,
            "totalPages": (total + size - 1) // size,
            "currentPage": page,
        },
        "data": items[start : start + size],
    }
