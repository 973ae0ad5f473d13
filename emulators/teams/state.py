"""What the emulated Teams holds: conversations and their messages, as a client would show them.

Conversation ids follow Teams: a channel is `19:…@thread.tacv2` and a post in one of its
threads names the thread's root message, `19:…@thread.tacv2;messageid=<root id>`
(https://learn.microsoft.com/microsoftteams/platform/bots/how-to/conversations/send-proactive-messages
and …/conversations/channel-and-group-conversations); a group chat is `19:…@thread.v2`, a
personal chat `a:…`. Message ids are millisecond timestamps, as Teams' are.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

THREAD_MARK = ";messageid="


@dataclass
class Message:
    """One message; `history` keeps every text it showed (posts, edits, stream updates)."""

    id: str
    conversation: str
    root: str
    """The thread's root message id in a channel (its own id for a root post), else ""."""
    text: str
    from_bot: bool
    author: str
    attachments: list[Any] = field(default_factory=list)
    entities: list[Any] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    """When each text of `history` was shown (wall clock)."""
    deleted: bool = False
    streaming: bool = False
    stream_sequence: int = 0
    stream_started: float = 0.0
    stream_done: bool = False
    feedback: str = ""
    """The feedback loop's type its last write asked for ("" for none): the client shows
    like/dislike under it."""


@dataclass
class Conversation:
    id: str
    kind: str
    """`channel`, `groupChat` or `personal` (the activity's `conversation.conversationType`)."""
    team: str = ""


def split_conversation(conversation_id: str) -> tuple[str, str]:
    """(base conversation id, thread root id or "")."""
    base, _, root = conversation_id.partition(THREAD_MARK)
    return base, root


class TeamsState:
    """Conversations by id and messages in order of posting."""

    def __init__(self) -> None:
        self.conversations: dict[str, Conversation] = {}
        self.messages: dict[str, Message] = {}
        self._ids = itertools.count(int(time.time() * 1000))

    def next_id(self) -> str:
        return str(next(self._ids))

    def add_conversation(self, conversation: Conversation) -> Conversation:
        self.conversations[conversation.id] = conversation
        return conversation

    def post(self, conversation_id: str, text: str, *, from_bot: bool, author: str) -> Message:
        base, root = split_conversation(conversation_id)
        message_id = self.next_id()
        kind = self.conversations[base].kind if base in self.conversations else ""
        if kind == "channel" and not root:
            root = message_id
        message = Message(
            message_id, base, root, text, from_bot, author, history=[text], times=[time.time()]
        )
        self.messages[message_id] = message
        return message

    def in_conversation(self, base: str, root: str = "") -> list[Message]:
        return [
            m
            for m in self.messages.values()
            if m.conversation == base and not m.deleted and (not root or m.root == root)
        ]
