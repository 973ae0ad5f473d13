"""The nouns every part of threadbridge shares: threads, posts, and what a provider yields."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

_NAMESPACE = uuid.UUID("6f1c8d2e-5b7a-4c19-9a0e-2d4b8f3e7c61")


_ESCAPES = {"%": "%25", ":": "%3A", "{": "%7B", "}": "%7D"}
_UNESCAPES = {code: char for char, code in _ESCAPES.items()}
_ESCAPED = re.compile("|".join(_UNESCAPES))
_SPECIAL = re.compile("[%:{}]")


def escape_id(part: str) -> str:
    """`part` safe as one segment of a key: ":" separates segments and "{" "}" mark a Redis
    Cluster hash tag, so they (and "%", the escape itself) are percent-encoded. An id without
    them is returned as it is, so the keys of Slack and Discord ids never change."""
    return _SPECIAL.sub(lambda m: _ESCAPES[m.group()], part)


def unescape_id(part: str) -> str:
    """The id `escape_id` made `part` from (a "%" that starts no escape is kept as it is)."""
    return _ESCAPED.sub(lambda m: _UNESCAPES[m.group()], part)


def join_ids(*parts: str) -> str:
    """Ids as one string, each escaped, joined by ":" (`split_ids` gives them back)."""
    return ":".join(escape_id(part) for part in parts)


def split_ids(text: str, count: int) -> tuple[str, ...]:
    """The `count` ids `join_ids` joined into `text`. The last takes whatever is left, so a
    string written before ids were escaped (a thread id with a ":") still reads as it did."""
    parts = text.split(":", count - 1)
    if len(parts) != count:
        raise ValueError(f"expected {count} ids separated by ':', got {text!r}")
    return tuple(unescape_id(part) for part in parts)


def channel_scope(platform: str, tenant: str, channel: str) -> str:
    """The channel scope (platform, tenant, channel) per-channel settings are kept under."""
    return join_ids(platform, tenant, channel)


@dataclass(frozen=True, slots=True)
class ThreadKey:
    """One messenger thread. Its string form is the Redis key suffix, tenant always included;
    each id is escaped in it (`join_ids`), so any id reads back exactly (`parse`)."""

    platform: str
    tenant: str
    channel: str
    thread: str

    def __str__(self) -> str:
        return join_ids(self.platform, self.tenant, self.channel, self.thread)

    @classmethod
    def parse(cls, text: str) -> ThreadKey:
        platform, tenant, channel, thread = split_ids(text, 4)
        return cls(platform, tenant, channel, thread)

    @property
    def scope(self) -> str:
        """The channel scope (platform, tenant, channel) used for per-channel settings."""
        return channel_scope(self.platform, self.tenant, self.channel)


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file on a post: its name, a link, its MIME type, and for images a messenger keeps
    private (Slack), the image itself as a `data:` URL when small enough. `private`: the link
    opens only for the workspace's members (Slack), so nobody else can fetch the file by it."""

    name: str
    url: str = ""
    mimetype: str = ""
    data_url: str = ""
    private: bool = False

    @property
    def is_image(self) -> bool:
        return self.mimetype.startswith("image/")

    @property
    def image_source(self) -> str:
        """Where a model may fetch the image: its data URL, else a link anyone can open."""
        if not self.is_image:
            return ""
        return self.data_url or ("" if self.private else self.url)


MERGED_WITH = "merged_with"
"""`UserPost.extra` key: the ids of the posts merged into this one (comma-separated), so a
merged message has its own idempotent id and is never answered with the first post's reply."""
AUTHOR_TENANT = "user_team"
"""`UserPost.extra` key: the author's own workspace when it is not the thread's (a Slack Connect
guest), so the tenant access lists judge both."""


@dataclass(frozen=True, slots=True)
class UserPost:
    """One message a person wrote in a thread, as recorded in the inbox."""

    thread: ThreadKey
    message_id: str
    author: str
    text: str
    ts: float
    attachments: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)
    files: tuple[Attachment, ...] = ()

    @property
    def message_uuid(self) -> str:
        """A stable id for this post (UUIDv5 of platform, tenant, channel, message id).

        Providers with idempotent message ids get the same id on every retry or takeover,
        so a replay never runs the LLM twice.
        """
        t = self.thread
        name = join_ids(t.platform, t.tenant, t.channel, self.message_id)
        if self.extra.get(MERGED_WITH):
            name += f"+{self.extra[MERGED_WITH]}"
        return str(uuid.uuid5(_NAMESPACE, name))

    @property
    def author_ref(self) -> str:
        """A stable, non-reversible end-user id for providers that want one."""
        t = self.thread
        raw = join_ids(t.platform, t.tenant, self.author).encode()
        return hashlib.sha256(raw).hexdigest()[:32]

    def to_json(self) -> str:
        data = asdict(self)
        data["thread"] = str(self.thread)
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> UserPost:
        data: dict[str, Any] = json.loads(raw)
        return cls(
            thread=ThreadKey.parse(data["thread"]),
            message_id=str(data["message_id"]),
            author=str(data["author"]),
            text=str(data["text"]),
            ts=float(data["ts"]),
            attachments=tuple(data.get("attachments") or ()),
            extra={str(k): str(v) for k, v in (data.get("extra") or {}).items()},
            files=tuple(Attachment(**f) for f in data.get("files") or ()),
        )


@dataclass(frozen=True, slots=True)
class Conversation:
    """A thread's binding at its provider. `id` is None until a provider names it in a stream."""

    provider: str
    id: str | None
    thread: ThreadKey
    steering: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConversationStarted:
    """The provider named the conversation in its first stream (converzen, SenseFlow)."""

    conversation_id: str


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """Reasoning the model wrote before (or beside) its answer: a `<think>` block or a separate
    reasoning field. Never part of the answer, never sent back to the provider as its text."""

    text: str


@dataclass(frozen=True, slots=True)
class ReplyDone:
    """End of a reply. `text`, when given, is authoritative over the deltas seen."""

    text: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    finish_reason: str | None = None
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class ReplyFailed:
    """The provider could not finish. `message` is shown to the user as is, so it never holds
    a provider body or status; `detail` (status, body, exception) goes to the log only."""

    message: str
    retryable: bool = False
    code: str | None = None
    detail: str | None = None


ReplyEvent = ConversationStarted | TextDelta | ReasoningDelta | ReplyDone | ReplyFailed
