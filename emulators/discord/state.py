"""The emulated Discord world: users, guilds, channels (text, threads, DMs) and messages.

Plain data kept in memory; the REST routes and the gateway read and change it, tests inspect it.
Ids are real-looking snowflakes (time-ordered, 18-19 digits) because discord.py parses mentions
with a 15-20 digit pattern and derives creation times from ids.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

DISCORD_EPOCH_MS = 1420070400000
DEFAULT_BOT_ID = 1210000000000000001


class ChannelType(IntEnum):
    """The channel types the emulator models (Discord's numeric codes)."""

    GUILD_TEXT = 0
    DM = 1
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12


class Snowflakes:
    """Time-ordered unique ids: milliseconds since the Discord epoch, then a counter."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def next(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (1 << 17) | (next(self._counter) & 0x1FFFF)


@dataclass
class User:
    """A Discord user (human or bot)."""

    id: int
    username: str
    bot: bool = False


@dataclass
class Guild:
    """A guild; channel and member ids in creation order."""

    id: int
    name: str
    owner_id: int
    channel_ids: list[int] = field(default_factory=list)
    member_ids: list[int] = field(default_factory=list)
    roles: dict[int, Role] = field(default_factory=dict)
    member_roles: dict[int, list[int]] = field(default_factory=dict)


@dataclass
class Role:
    """A guild role beyond @everyone (whose id is the guild id); `permissions` is a bit set."""

    id: int
    name: str
    permissions: int


@dataclass
class Channel:
    """A text channel, a thread (parent_id set; a private one lists its `thread_members`) or a
    DM (recipient_id set). `overwrites`: the channel's permission overwrite objects
    (`{id, type: 0 role / 1 member, allow, deny}`), from which Discord and discord.py work out
    who may view it."""

    id: int
    type: ChannelType
    name: str = ""
    guild_id: int | None = None
    parent_id: int | None = None
    owner_id: int | None = None
    recipient_id: int | None = None
    position: int = 0
    auto_archive_duration: int = 1440
    message_count: int = 0
    last_message_id: int | None = None
    created_at: float = field(default_factory=time.time)
    overwrites: list[dict[str, Any]] = field(default_factory=list)
    thread_members: list[int] = field(default_factory=list)

    @property
    def is_thread(self) -> bool:
        return self.type in (ChannelType.PUBLIC_THREAD, ChannelType.PRIVATE_THREAD)

    @property
    def is_dm(self) -> bool:
        return self.type == ChannelType.DM


@dataclass
class Message:
    """A message; `edits` holds the content after each edit, `edited_at` their wall times."""

    id: int
    channel_id: int
    guild_id: int | None
    author: User
    content: str
    embeds: list[dict[str, Any]] = field(default_factory=list)
    flags: int = 0
    mentions: list[User] = field(default_factory=list)
    allowed_mentions: dict[str, Any] | None = None
    message_reference: dict[str, Any] | None = None
    nonce: str | int | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    edits: list[str] = field(default_factory=list)
    edited_at: list[float] = field(default_factory=list)
    reactions: Counter[str] = field(default_factory=Counter)
    thread_id: int | None = None
    created_at: float = field(default_factory=time.time)

    @property
    def type(self) -> int:
        """19 (REPLY) when it references another message, else 0 (DEFAULT)."""
        return 19 if self.message_reference else 0


class World:
    """Everything the emulated Discord knows, indexed for the routes and the test helpers."""

    def __init__(self, bot: User) -> None:
        self.ids = Snowflakes()
        self.bot = bot
        self.users: dict[int, User] = {bot.id: bot}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        self.by_channel: dict[int, list[int]] = {}

    def user(self, name: str, *, bot: bool = False) -> User:
        """The user called `name`, created on first use."""
        for known in self.users.values():
            if known.username == name:
                return known
        created = User(self.ids.next(), name, bot)
        self.users[created.id] = created
        return created

    def add_guild(self, name: str, owner: User) -> Guild:
        guild = Guild(self.ids.next(), name, owner.id, member_ids=[self.bot.id, owner.id])
        self.guilds[guild.id] = guild
        return guild

    def join(self, guild: Guild, user: User) -> None:
        if user.id not in guild.member_ids:
            guild.member_ids.append(user.id)

    def add_text_channel(self, guild: Guild, name: str) -> Channel:
        position = sum(1 for cid in guild.channel_ids if not self.channels[cid].is_thread)
        channel = Channel(
            self.ids.next(), ChannelType.GUILD_TEXT, name, guild.id, position=position
        )
        return self._add_channel(channel, guild)

    def add_thread(self, parent: Channel, message_id: int, name: str, owner: User) -> Channel:
        """A public thread started from `message_id`; Discord gives it the message's id."""
        assert parent.guild_id is not None
        thread = Channel(
            message_id, ChannelType.PUBLIC_THREAD, name, parent.guild_id, parent.id, owner.id
        )
        self.messages[message_id].thread_id = thread.id
        return self._add_channel(thread, self.guilds[parent.guild_id])

    def add_private_thread(self, parent: Channel, name: str, members: list[User]) -> Channel:
        """A private thread in `parent`: only its members (and those who may manage threads)
        see it; unlike a thread from a message it gets an id of its own."""
        assert parent.guild_id is not None
        thread = Channel(
            self.ids.next(),
            ChannelType.PRIVATE_THREAD,
            name,
            parent.guild_id,
            parent.id,
            members[0].id,
            thread_members=[m.id for m in members],
        )
        return self._add_channel(thread, self.guilds[parent.guild_id])

    def dm_channel(self, user: User) -> Channel:
        """The bot's DM channel with `user`, created on first use."""
        for channel in self.channels.values():
            if channel.is_dm and channel.recipient_id == user.id:
                return channel
        channel = Channel(self.ids.next(), ChannelType.DM, recipient_id=user.id)
        return self._add_channel(channel, None)

    def _add_channel(self, channel: Channel, guild: Guild | None) -> Channel:
        self.channels[channel.id] = channel
        self.by_channel[channel.id] = []
        if guild is not None:
            guild.channel_ids.append(channel.id)
        return channel

    def add_message(self, message: Message) -> Message:
        self.messages[message.id] = message
        self.by_channel[message.channel_id].append(message.id)
        channel = self.channels[message.channel_id]
        channel.last_message_id = message.id
        channel.message_count += 1
        return message

    def remove_message(self, message: Message) -> None:
        self.messages.pop(message.id, None)
        ids = self.by_channel.get(message.channel_id, [])
        if message.id in ids:
            ids.remove(message.id)

    def messages_in(self, channel_id: int) -> list[Message]:
        """The channel's messages, oldest first."""
        return [self.messages[mid] for mid in self.by_channel.get(channel_id, [])]

    def thread_members(self, thread: Channel) -> list[int]:
        """Who is in `thread`: those added to it, its owner and everyone who posted there."""
        posters = [self.messages[mid].author.id for mid in self.by_channel.get(thread.id, [])]
        owner = [thread.owner_id] if thread.owner_id is not None else []
        return list(dict.fromkeys([*thread.thread_members, *owner, *posters]))

    def threads_of(self, channel_id: int) -> list[Channel]:
        return [c for c in self.channels.values() if c.is_thread and c.parent_id == channel_id]

    def guild_threads(self, guild: Guild) -> list[Channel]:
        return [self.channels[cid] for cid in guild.channel_ids if self.channels[cid].is_thread]
