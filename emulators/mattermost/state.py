"""What the Mattermost emulator holds: users, channels, posts and reactions, in the shapes of
the API v4 reference (https://developers.mattermost.com/api-documentation/, schemas `User`,
`Channel`, `Post`, `Reaction`, `PostList`).

Times are Unix milliseconds, ids 26 lowercase letters and digits, as the server makes them.
A root post has `root_id` ""; a reply names its root. `type` is "" for a person's post and
e.g. "system_join_channel" for system messages; a bot's posts carry `props.from_bot` "true".
"""

from __future__ import annotations

import itertools
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any

ALPHABET = string.ascii_lowercase + string.digits


def new_id() -> str:
    """A 26-character id like the server's (base32 of a UUID, lowercase)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(26))


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class User:
    id: str
    username: str
    is_bot: bool = False
    roles: str = "system_user"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "first_name": "",
            "last_name": "",
            "nickname": "",
            "is_bot": self.is_bot,
            "roles": self.roles,
            "locale": "en",
        }


@dataclass
class Channel:
    """`type`: O public, P private, D direct, G group (team_id "" for D and G)."""

    id: str
    team_id: str
    type: str
    name: str
    display_name: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "team_id": self.team_id,
            "type": self.type,
            "name": self.name,
            "display_name": self.display_name or self.name,
        }


@dataclass
class Post:
    id: str
    channel_id: str
    user_id: str
    message: str
    root_id: str = ""
    type: str = ""
    props: dict[str, Any] = field(default_factory=dict)
    create_at: int = field(default_factory=now_ms)
    update_at: int = 0
    edit_at: int = 0
    delete_at: int = 0
    edits: list[tuple[float, str]] = field(default_factory=list)
    """(wall-clock time, message) of the create and every edit, for tests and the bench."""

    def __post_init__(self) -> None:
        self.update_at = self.update_at or self.create_at
        if not self.edits:
            self.edits.append((time.time(), self.message))

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "create_at": self.create_at,
            "update_at": self.update_at,
            "edit_at": self.edit_at,
            "delete_at": self.delete_at,
            "is_pinned": False,
            "user_id": self.user_id,
            "channel_id": self.channel_id,
            "root_id": self.root_id,
            "original_id": "",
            "message": self.message,
            "type": self.type,
            "props": self.props,
            "hashtags": "",
            "pending_post_id": "",
            "reply_count": 0,
            "metadata": {},
        }


@dataclass
class Reaction:
    user_id: str
    post_id: str
    emoji_name: str
    create_at: int = field(default_factory=now_ms)

    def as_json(self, channel_id: str) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "post_id": self.post_id,
            "emoji_name": self.emoji_name,
            "create_at": self.create_at,
            "channel_id": channel_id,
        }


class Server:
    """Everything one emulated server knows; the clock only moves forward for `create_at`."""

    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.posts: dict[str, Post] = {}
        self.reactions: list[Reaction] = []
        self._last_ms = 0
        self._seq = itertools.count(1)

    def tick(self) -> int:
        """A `create_at` later than every earlier one (posts in one ms stay ordered)."""
        self._last_ms = max(self._last_ms + 1, now_ms())
        return self._last_ms

    def add_user(self, username: str, *, is_bot: bool = False, roles: str = "system_user") -> User:
        user = User(new_id(), username, is_bot, roles)
        self.users[user.id] = user
        return user

    def add_channel(self, team_id: str, kind: str, name: str) -> Channel:
        channel = Channel(new_id(), team_id, kind, name)
        self.channels[channel.id] = channel
        return channel

    def add_post(self, channel_id: str, user_id: str, message: str, **fields: Any) -> Post:
        post = Post(new_id(), channel_id, user_id, message, create_at=self.tick(), **fields)
        self.posts[post.id] = post
        return post

    def channel_posts(self, channel_id: str) -> list[Post]:
        """A channel's posts (roots and replies), oldest first."""
        found = [p for p in self.posts.values() if p.channel_id == channel_id]
        return sorted(found, key=lambda p: p.create_at)

    def thread(self, root_id: str) -> list[Post]:
        """A thread's replies (without the root), oldest first."""
        found = [p for p in self.posts.values() if p.root_id == root_id]
        return sorted(found, key=lambda p: p.create_at)
