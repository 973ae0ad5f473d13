"""The emulated workspace's messages: per-channel storage, timestamps and thread queries.

Messages keep every text value they ever had (`edits`) so tests can check what a user would have
seen on the way, not only the final text.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Message:
    """One message in a channel.

    text: what the message shows now (its `markdown_text` when posted with one, else `text`).
    markdown_text: the current markdown body when the message was posted or edited with one.
    edits: every text value the message has had, first post included.
    """

    channel: str
    ts: str
    user: str
    text: str
    markdown_text: str | None = None
    thread_ts: str | None = None
    bot_id: str | None = None
    blocks: list[Any] | None = None
    client_msg_id: str | None = None
    edits: list[str] = field(default_factory=list)
    edit_times: list[float] = field(default_factory=list)
    """Wall-clock time (`time.time()`) of each entry of `edits`."""
    reactions: dict[str, list[str]] = field(default_factory=dict)
    edited_ts: str | None = None
    stream_started: float | None = None
    stream_stopped: bool = False
    stream_stopped_by_user: bool = False
    stream_mode: str | None = None
    unfurl_links: bool | None = None
    unfurl_media: bool | None = None
    """chat.postMessage's `unfurl_links` / `unfurl_media` as sent (None: not sent)."""

    def __post_init__(self) -> None:
        if not self.edits:
            self.edits.append(self.text)
            self.edit_times.append(time.time())

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def set_text(self, text: str, markdown_text: str | None, blocks: list[Any] | None) -> None:
        """Replace the body, remembering the new text in `edits`."""
        self.text = text
        self.markdown_text = markdown_text
        self.blocks = blocks
        self.edits.append(text)
        self.edit_times.append(time.time())


def ts_from_micros(micros: int) -> str:
    """Slack's timestamp format: seconds, a dot, six digits."""
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


class Workspace:
    """Every channel's messages, and the clock that hands out strictly increasing `ts` values."""

    def __init__(self) -> None:
        self.channels: dict[str, list[Message]] = {}
        self.channel_types: dict[str, str] = {}
        self.members: dict[str, list[str]] = {}
        """Who is in each conversation, in the order they joined (conversations.members)."""
        self._last_micros = 0

    def next_ts(self) -> str:
        """A `ts` later than every one handed out before, close to the wall clock."""
        self._last_micros = max(int(time.time() * 1_000_000), self._last_micros + 1)
        return ts_from_micros(self._last_micros)

    def channel_type(self, channel: str) -> str:
        """The channel's type as events report it: what a user post said, else by id prefix."""
        known = self.channel_types.get(channel)
        if known is not None:
            return known
        return {"D": "im", "G": "group"}.get(channel[:1], "channel")

    def join(self, channel: str, *users: str) -> None:
        """Make `users` members of `channel` (one may only post where one is a member)."""
        members = self.members.setdefault(channel, [])
        members.extend(u for u in dict.fromkeys(users) if u not in members)

    def add(self, message: Message) -> Message:
        """Store `message`; a reply marks its parent as a thread root, as Slack does."""
        self.channels.setdefault(message.channel, []).append(message)
        if message.is_reply:
            parent = self.find(message.channel, message.thread_ts or "")
            if parent is not None and parent.thread_ts is None:
                parent.thread_ts = parent.ts
        return message

    def remove(self, message: Message) -> None:
        """Take `message` out of its channel (deleted: no query shows it any more)."""
        self.channels[message.channel] = [
            m for m in self.channels.get(message.channel, []) if m is not message
        ]

    def find(self, channel: str, ts: str) -> Message | None:
        for message in self.channels.get(channel, []):
            if message.ts == ts:
                return message
        return None

    def messages(self, channel: str) -> list[Message]:
        return list(self.channels.get(channel, []))

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """The thread's parent first, then its replies in `ts` order."""
        parent = self.find(channel, thread_ts)
        replies = [
            m for m in self.channels.get(channel, []) if m.is_reply and m.thread_ts == thread_ts
        ]
        replies.sort(key=lambda m: _ts_key(m.ts))
        return ([parent] if parent is not None else []) + replies

    def replies_of(self, message: Message) -> list[Message]:
        return self.thread(message.channel, message.ts)[1:]


def _ts_key(ts: str) -> tuple[int, int]:
    seconds, _, micros = ts.partition(".")
    return int(seconds), int(micros or 0)


def message_object(
    message: Message, workspace: Workspace, team_id: str, app_id: str
) -> dict[str, Any]:
    """The message as Slack's API and events show it (conversations.replies, echoes)."""
    data: dict[str, Any] = {
        "type": "message",
        "user": message.user,
        "text": message.text,
        "ts": message.ts,
        "team": team_id,
    }
    if message.bot_id is not None:
        data["bot_id"] = message.bot_id
        data["app_id"] = app_id
        data["bot_profile"] = {"id": message.bot_id, "app_id": app_id, "team_id": team_id}
    if message.client_msg_id is not None:
        data["client_msg_id"] = message.client_msg_id
    if message.blocks is not None:
        data["blocks"] = message.blocks
    elif message.markdown_text is not None:
        data["blocks"] = [{"type": "markdown", "text": message.markdown_text}]
    if message.edited_ts is not None:
        data["edited"] = {"user": message.user, "ts": message.edited_ts}
    if message.reactions:
        data["reactions"] = [
            {"name": name, "users": users, "count": len(users)}
            for name, users in message.reactions.items()
        ]
    if message.thread_ts is not None:
        data["thread_ts"] = message.thread_ts
        _thread_fields(data, message, workspace)
    return data


def _thread_fields(data: dict[str, Any], message: Message, workspace: Workspace) -> None:
    if message.is_reply:
        parent = workspace.find(message.channel, message.thread_ts or "")
        if parent is not None:
            data["parent_user_id"] = parent.user
        return
    replies = workspace.replies_of(message)
    data["reply_count"] = len(replies)
    data["reply_users"] = sorted({r.user for r in replies})
    data["reply_users_count"] = len(data["reply_users"])
    if replies:
        data["latest_reply"] = replies[-1].ts
