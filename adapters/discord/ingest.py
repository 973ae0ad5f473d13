"""Discord messages in, posts out: the thread policy.

A mention in a text channel opens a public thread from that message (thread id = message id);
later posts in that thread need no mention. A DM channel is one conversation. A thread the
bridge did not start is ignored unless the bot is mentioned there. Bots (the bridge included)
and system messages are ignored; the inbox's dedupe absorbs messages a gateway resume replays.

discord.py knows a thread only from its cache, and Discord does not sync archived threads
up-front (docs topics/threads), so after a restart a post in such a thread comes with a
`PartialMessageable` channel. Such a channel is looked up once (GET /channels/{id}) and a
thread's parent remembered, so the post is still read as the thread's.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import OrderedDict

import discord
from redis.exceptions import RedisError

from adapters.discord.commands import discord_replies
from adapters.discord.format import strip_mention, thread_name
from adapters.discord.history import thread_history
from bridge.contracts import Attachment, Core, Incoming, ThreadKey, UserPost
from bridge.contracts.backoff import exponential

log = logging.getLogger(__name__)

DM_TENANT = "@me"
REDIS_RETRY_SECONDS = 600.0
STOP_REACTIONS = {"⏹️", "⏹", "🛑"}
PARENTS_KEPT = 4096
"""Uncached channels remembered (thread id → parent id, or None for a non-thread)."""
POSTS = (discord.MessageType.default, discord.MessageType.reply)
"""What a person writes; the rest are system messages (a pin, a join) under the person's name."""


def guild_of(message: discord.Message) -> int | None:
    """The id of the guild `message` was posted in, None in a DM. A guild message that arrives
    before the guild's GUILD_CREATE has no `message.guild` yet; discord.py's channel for it (a
    `PartialMessageable`) still carries the guild's id."""
    if message.guild is not None:
        return message.guild.id
    guild: int | None = getattr(message.channel, "guild_id", None)
    return guild


def read_message(
    message: discord.Message, bot_id: int, thread_parent: int | None = None
) -> Incoming | None:
    """Work out the thread a message belongs to, or None if the bridge should not look at it.

    `thread_parent`: the parent channel, when the message's channel is a thread discord.py has
    not cached (see `DiscordIngest.parent_of`)."""
    if message.type not in POSTS or message.author.bot or message.author.id == bot_id:
        return None
    channel = message.channel
    mentioned = any(user.id == bot_id for user in message.mentions)
    text = strip_mention(message.content, bot_id)
    extra: dict[str, str] = {}
    guild = guild_of(message)
    if guild is None:
        key = ThreadKey("discord", DM_TENANT, str(channel.id), str(channel.id))
        starts = True
    elif isinstance(channel, discord.Thread) or thread_parent is not None:
        parent_id = thread_parent or getattr(channel, "parent_id", None)
        parent = str(parent_id or channel.id)
        key = ThreadKey("discord", str(guild), parent, str(channel.id))
        starts = mentioned
    elif mentioned:
        key = ThreadKey("discord", str(guild), str(channel.id), str(message.id))
        extra["new_thread"] = thread_name(text)
        starts = True
    else:
        return None
    files = tuple(a.filename for a in message.attachments)
    attached = tuple(
        Attachment(a.filename, a.url, a.content_type or "") for a in message.attachments
    )
    ts = message.created_at.timestamp()
    post = UserPost(key, str(message.id), str(message.author.id), text, ts, files, extra, attached)
    display_name = message.author.display_name

    async def author_name() -> str:
        return display_name

    late = starts and guild is not None and "new_thread" not in extra
    history = thread_history(message, bot_id) if late else None
    return Incoming(post, starts, mentioned or guild is None, author_name, history=history)


class DiscordIngest:
    """Called for every MESSAGE_CREATE the client sees."""

    def __init__(
        self,
        hub: Core,
        bot_id: int,
        client: discord.Client | None = None,
        parents: ThreadParents | None = None,
    ) -> None:
        self._hub = hub
        self._bot = bot_id
        self._client = client
        self._parents = parents or ThreadParents()

    async def parent_of(self, message: discord.Message) -> int | None:
        """The parent of the guild thread `message` was posted in when discord.py has not cached
        the channel (it gives a `PartialMessageable`), else None."""
        channel = message.channel
        if guild_of(message) is None or not isinstance(channel, discord.PartialMessageable):
            return None
        return await self._parents.parent(self._client, channel.id)

    async def handle(self, message: discord.Message) -> None:
        """Accept durably; while Redis is down, keep retrying (Discord never redelivers)."""
        deadline = time.monotonic() + REDIS_RETRY_SECONDS
        for attempt in itertools.count():
            try:
                await self._handle_once(message)
                return
            except RedisError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(exponential(attempt, base=0.5, cap=10.0))

    async def _handle_once(self, message: discord.Message) -> None:
        incoming = read_message(message, self._bot, await self.parent_of(message))
        if incoming is None:
            return
        await self._hub.post(incoming, discord_replies(message))

    async def handle_reaction(self, event: discord.RawReactionActionEvent) -> None:
        """A stop reaction on one of the bot's replies stops that reply, on any replica."""
        if event.user_id == self._bot or str(event.emoji) not in STOP_REACTIONS:
            return
        guild = event.guild_id
        tenant = str(guild) if guild is not None else DM_TENANT
        channel = await self._parents.channel_part(self._client, guild, event.channel_id)
        await self._hub.stop_by_reply("discord", tenant, channel, str(event.message_id))


class ThreadParents:
    """The parent channel of a thread (the channel part of its thread key), from discord.py's
    cache, else looked up once (GET /channels/{id}) and remembered: archived threads are not
    synced over the gateway, so after a restart a post, reaction or button press may come from
    a thread the cache does not hold."""

    def __init__(self) -> None:
        self._known: OrderedDict[int, int | None] = OrderedDict()

    async def parent(self, client: discord.Client | None, channel_id: int) -> int | None:
        """The parent of thread `channel_id`, or None if it is no thread (or cannot be read)."""
        cached = client.get_channel(channel_id) if client is not None else None
        if cached is not None:
            return cached.parent_id if isinstance(cached, discord.Thread) else None
        if channel_id in self._known:
            return self._known[channel_id]
        if client is None:
            return None
        try:
            found = await client.fetch_channel(channel_id)
        except discord.HTTPException as exc:
            log.info("could not look up channel %s (not remembered): %s", channel_id, exc)
            return None
        parent = found.parent_id if isinstance(found, discord.Thread) else None
        self._known[channel_id] = parent
        while len(self._known) > PARENTS_KEPT:
            self._known.popitem(last=False)
        return parent

    async def channel_part(
        self, client: discord.Client | None, guild: int | None, channel_id: int
    ) -> str:
        """The channel part of the thread key of `channel_id` (DMs have no threads)."""
        parent = await self.parent(client, channel_id) if guild is not None else None
        return str(parent or channel_id)
