"""DiscordEmulator: REST under /api/v10 and the gateway websocket on one loopback server.

Point an unmodified discord.py 2.x at it with two assignments:
`discord.http.Route.BASE = emu.api_url` and
`discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(emu.gateway_url)`.
Tests drive users with `user_message` and friends and assert on `messages_in`, `threads_of`,
`bot_messages` and the recorded `calls`.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Coroutine
from typing import Any

from aiohttp import web

from emulators.base import Emulator, Fault

from . import payloads
from .commands import CALLBACK, FOLLOWUP, Interactions
from .gateway import (
    DIRECT_MESSAGE_REACTIONS,
    DIRECT_MESSAGES,
    GUILD_MESSAGE_REACTIONS,
    GUILD_MESSAGES,
    GUILDS,
    Delivery,
    Gateway,
)
from .interactions import Components
from .ratelimit import RateLimiter
from .rest import Rest
from .state import DEFAULT_BOT_ID, Channel, Guild, Message, Role, User, World

MENTION = re.compile(r"<@!?(\d{15,20})>")
VIEW_CHANNEL = 1 << 10
# GATEWAY_PRESENCE_LIMITED, GATEWAY_GUILD_MEMBERS_LIMITED, GATEWAY_MESSAGE_CONTENT_LIMITED.
PRIVILEGED_APP_FLAGS = (1 << 13) | (1 << 15) | (1 << 19)

Author = User | str | None


class DiscordEmulator(Emulator):
    """A Discord stand-in: one guild ("Test Guild", #general), a bot user and a human, alice.

    intents_required: IDENTIFY must carry intents, and events are filtered by them (guild
    messages need GUILD_MESSAGES; without MESSAGE_CONTENT their text is blanked unless the bot
    is mentioned or it is a DM). False delivers every event in full.
    heartbeat_interval: seconds announced in HELLO; tests shorten it.
    heartbeat_ack_delay: seconds each HEARTBEAT_ACK is sent late (0: at once).
    """

    name = "discord"

    def __init__(
        self,
        token: str = "test-token",
        bot_id: int = DEFAULT_BOT_ID,
        application_id: int | None = None,
        intents_required: bool = True,
        *,
        heartbeat_interval: float = 41.25,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.bot_id = bot_id
        self.application_id = application_id or bot_id
        self.intents_required = intents_required
        self.refuse_intents = False
        self.hide_threads = False
        """Send no THREAD_CREATE and list no threads in GUILD_CREATE: the client meets threads
        it has not cached, as after a restart with the threads archived (docs topics/threads:
        "archived threads are not synced up-front via the gateway")."""
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_ack_delay = 0.0
        self.world = World(User(bot_id, "threadbridge", bot=True))
        self.limits = RateLimiter()
        self.gateway = Gateway(self)
        self.rest = Rest(self)
        self.interactions = Interactions(self)
        self.components = Components(self)
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        super().__init__(host, port)
        self.owner = self.world.user("owner")
        self.user = self.world.user("alice")
        self.guild = self.world.add_guild("Test Guild", self.owner)
        self.world.join(self.guild, self.user)
        self.channel = self.world.add_text_channel(self.guild, "general")

    def routes(self, app: web.Application) -> None:
        app.router.add_post(CALLBACK, self._interaction_callback)
        app.router.add_post(FOLLOWUP, lambda request: self.interactions.followup(request))
        self.rest.register(app)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/resume", self.gateway.handle)

    async def _interaction_callback(self, request: web.Request) -> web.StreamResponse:
        """One callback endpoint for every interaction: a button press or a command."""
        if self.components.owns(request.match_info["interaction_id"]):
            return await self.components.callback(request)
        return await self.interactions.callback(request)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.gateway.close_all()
        await super().stop()

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/resume"

    @property
    def bot(self) -> User:
        return self.world.bot

    @property
    def app_flags(self) -> int:
        """Application flags: the privileged intents are enabled unless `refuse_intents`."""
        return 0 if self.refuse_intents else PRIVILEGED_APP_FLAGS

    # Rate limits and faults -------------------------------------------------------------

    def enforce_limits(
        self,
        per_channel: int | None = 5,
        per_seconds: float = 5.0,
        *,
        global_per_second: int | None = None,
        headers: bool = True,
    ) -> None:
        """Answer 429 past `per_channel` message creates/edits/thread creates per channel.

        headers=False leaves X-RateLimit-* off successful answers, so the client cannot pace
        itself and meets the 429 (as a second replica sharing the token would).
        """
        self.limits.configure(per_channel, per_seconds, global_per_second, headers)

    def clear_limits(self) -> None:
        self.limits.configure(None, 5.0, None, True)

    @property
    def rate_limited(self) -> int:
        """How many 429s the emulator answered (enforced and injected)."""
        return self.limits.count

    @property
    def rate_limited_by_route(self) -> Counter[str]:
        """429s per route, keyed like discord.py's `Route.key` ("PATCH /channels/...")."""
        return self.limits.by_route

    def rate_limit_next(
        self, route: str, retry_after: float = 0.2, *, is_global: bool = False, times: int = 1
    ) -> None:
        """Queue a well-formed 429 for the next `times` calls to `route` (e.g. "create_message")."""
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": is_global,
            "code": 0,
        }
        headers = {
            "Via": "1.1 google",
            "Retry-After": str(max(1, round(retry_after))),
            "X-RateLimit-Scope": "global" if is_global else "user",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        self.fail_next(route, Fault("status", 429, body, headers), times)

    # Gateway control ----------------------------------------------------------------------

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT on every live session; discord.py closes and RESUMEs."""
        await self.gateway.each_socket(
            lambda ws: ws.send_json({"op": 7, "d": None, "s": None, "t": None})
        )

    async def invalidate_session(self, resumable: bool = False) -> None:
        """Send op 9; unless `resumable`, forget the sessions so the client must IDENTIFY."""
        await self.gateway.each_socket(
            lambda ws: ws.send_json({"op": 9, "d": resumable, "s": None, "t": None})
        )
        if not resumable:
            self.gateway.sessions.clear()

    async def drop_connections(self, code: int = 4000) -> None:
        """Close every gateway socket with `code` (4000 is resumable)."""
        await self.gateway.close_all(code)

    def replay_last(self, n: int) -> None:
        """Make the next RESUME also replay the last `n` events the client already saw."""
        self.gateway.replay_extra = n

    # Users and channels -------------------------------------------------------------------

    def resolve_user(self, who: Author, *, bot: bool = False) -> User:
        if isinstance(who, User):
            return who
        return self.user if who is None else self.world.user(who, bot=bot)

    def dm_channel(self, user: Author = None) -> Channel:
        return self.world.dm_channel(self.resolve_user(user))

    def create_guild(self, name: str, channel: str = "general") -> Guild:
        """A further guild with one text channel; connected clients get GUILD_CREATE."""
        guild = self.world.add_guild(name, self.owner)
        self.world.join(guild, self.user)
        self.world.add_text_channel(guild, channel)
        if self.gateway.sessions:
            data = payloads.guild_create(self.world, guild, threads=not self.hide_threads)
            self._spawn(self.gateway.dispatch("GUILD_CREATE", data, Delivery(guild.id, GUILDS)))
        return guild

    def remove_bot(self, guild: Guild) -> None:
        """The bot is kicked from `guild`: GUILD_DELETE with no `unavailable` field, which
        Discord's gateway docs (Guild Delete) say means "the user was removed from the guild"."""
        if self.gateway.sessions:
            data = {"id": str(guild.id)}
            self._spawn(self.gateway.dispatch("GUILD_DELETE", data, Delivery(guild.id, GUILDS)))

    def grant_role(
        self, who: Author, permissions: int, name: str = "Moderators", guild: Guild | None = None
    ) -> Role:
        """Give `who` a new role with `permissions` (e.g. MANAGE_CHANNELS = 1 << 4); connected
        clients get GUILD_ROLE_CREATE, and the member's later messages carry the role id."""
        new, announce = self._new_role(who, permissions, name, guild)
        if announce is not None:
            self._spawn(announce)
        return new

    async def ensure_permission(self, who: User, guild_id: int, permission: int) -> Role | None:
        """Make `who` hold `permission` in the guild through a new role, announced to connected
        clients before this returns (Discord derives a member's permissions from roles); None
        if they already hold it."""
        target = self._guild(guild_id)
        if self.member_permissions(who, target) & permission:
            return None
        role, announce = self._new_role(who, permission, "Moderators", target)
        if announce is not None:
            await announce
        return role

    def member_permissions(self, who: User, guild: Guild) -> int:
        """The permission bits of `who`'s roles in `guild` (channel overwrites aside)."""
        bits = 0
        for role_id in guild.member_roles.get(who.id, []):
            role = guild.roles.get(role_id)
            if role is not None:
                bits |= role.permissions
        return bits

    def _new_role(
        self, who: Author, permissions: int, name: str, guild: Guild | None
    ) -> tuple[Role, Coroutine[Any, Any, None] | None]:
        """A new role for `who`, and the GUILD_ROLE_CREATE to send (None: no client connected)."""
        target = self._guild(guild)
        new = Role(self.world.ids.next(), name, permissions)
        target.roles[new.id] = new
        user = self.resolve_user(who)
        self.world.join(target, user)
        target.member_roles.setdefault(user.id, []).append(new.id)
        if not self.gateway.sessions:
            return new, None
        data = {"guild_id": str(target.id), "role": payloads.role(new)}
        announce = self.gateway.dispatch("GUILD_ROLE_CREATE", data, Delivery(target.id, GUILDS))
        return new, announce

    def create_text_channel(self, guild: Guild | int | None, name: str) -> Channel:
        """A new text channel; connected clients get CHANNEL_CREATE."""
        target = self._guild(guild)
        channel = self.world.add_text_channel(target, name)
        if self.gateway.sessions:
            data = payloads.channel(self.world, channel)
            delivery = Delivery(target.id, GUILDS)
            self._spawn(self.gateway.dispatch("CHANNEL_CREATE", data, delivery))
        return channel

    async def create_private_channel(self, name: str, members: list[Author]) -> Channel:
        """A text channel only `members` (and the bot) may view: @everyone is denied
        VIEW_CHANNEL and each member is allowed it by a member overwrite (Discord's permission
        overwrites, topics/permissions). Connected clients get CHANNEL_CREATE before this
        returns."""
        target = self.guild
        channel = self.world.add_text_channel(target, name)
        users = [self.bot, *(self.resolve_user(m) for m in members)]
        channel.overwrites = [
            {"id": str(target.id), "type": 0, "allow": "0", "deny": str(VIEW_CHANNEL)},
            *({"id": str(u.id), "type": 1, "allow": str(VIEW_CHANNEL), "deny": "0"} for u in users),
        ]
        for user in users:
            self.world.join(target, user)
        if self.gateway.sessions:
            data = payloads.channel(self.world, channel)
            await self.gateway.dispatch("CHANNEL_CREATE", data, Delivery(target.id, GUILDS))
        return channel

    async def create_private_thread(
        self, parent: Channel, name: str, members: list[Author]
    ) -> Channel:
        """A private thread in `parent` with `members` (the first is its owner) and the bot;
        connected clients get THREAD_CREATE before this returns."""
        users = [self.resolve_user(m) for m in members]
        thread = self.world.add_private_thread(parent, name, [*users, self.bot])
        await self.announce_thread(thread)
        return thread

    async def create_thread(self, message_id: int, name: str, owner: Author = None) -> Channel:
        """A user starts a public thread from `message_id` (its id equals the message id)."""
        message = self.world.messages[message_id]
        parent = self.world.channels[message.channel_id]
        thread = self.world.add_thread(parent, message_id, name, self.resolve_user(owner))
        await self.announce_thread(thread)
        return thread

    # Messages from the outside world ------------------------------------------------------

    async def user_message(
        self,
        channel_id: int,
        content: str,
        author: Author = None,
        mentions_bot: bool = False,
        guild: bool = True,
        reply_to: int | None = None,
        attachments: list[dict[str, Any]] | None = None,
    ) -> Message:
        """A human posts `content` (with `attachment()` files); MESSAGE_CREATE goes to every
        session that may see it."""
        channel = self.world.channels[channel_id]
        if not guild and not channel.is_dm:
            raise ValueError(f"channel {channel_id} is a guild channel; use dm_channel()")
        user = self.resolve_user(author)
        if mentions_bot and f"<@{self.bot_id}>" not in content:
            content = f"<@{self.bot_id}> {content}"
        return await self.post(channel, user, content, reply_to=reply_to, files=attachments)

    def attachment(self, filename: str, content_type: str, size: int = 1024) -> dict[str, Any]:
        """An attachment object (discord.com/developers/docs/resources/message#attachment-object)
        as a user's upload shows it: a public CDN url and the file's content type."""
        aid = self.world.ids.next()
        url = f"{self.url}/attachments/{aid}/{filename}"
        return {
            "id": str(aid),
            "filename": filename,
            "size": size,
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
        }

    async def other_bot_message(
        self, channel_id: int, content: str, author: Author = "otherbot"
    ) -> Message:
        """Another bot posts (the bridge must ignore it)."""
        user = self.resolve_user(author, bot=True)
        user.bot = True
        return await self.post(self.world.channels[channel_id], user, content)

    async def post(
        self,
        channel: Channel,
        author: User,
        content: str,
        *,
        reply_to: int | None = None,
        files: list[dict[str, Any]] | None = None,
    ) -> Message:
        if channel.guild_id is not None:
            self.world.join(self.world.guilds[channel.guild_id], author)
        message = Message(
            self.world.ids.next(),
            channel.id,
            channel.guild_id,
            author,
            content,
            mentions=self.mentioned(content),
        )
        message.attachments = list(files or [])
        if reply_to is not None:
            message.message_reference = self.reference(channel, reply_to)
        return await self.publish(message)

    def mentioned(self, content: str) -> list[User]:
        ids = dict.fromkeys(int(m) for m in MENTION.findall(content))
        return [self.world.users[i] for i in ids if i in self.world.users]

    def reference(self, channel: Channel, message_id: int) -> dict[str, Any]:
        ref: dict[str, Any] = {
            "type": 0,
            "message_id": str(message_id),
            "channel_id": str(channel.id),
        }
        if channel.guild_id is not None:
            ref["guild_id"] = str(channel.guild_id)
        return ref

    # Dispatching --------------------------------------------------------------------------

    async def publish(self, message: Message) -> Message:
        """Store `message` and dispatch MESSAGE_CREATE (the bot's own posts echo too)."""
        self.world.add_message(message)
        await self._dispatch_message("MESSAGE_CREATE", message)
        return message

    async def announce_update(self, message: Message) -> None:
        await self._dispatch_message("MESSAGE_UPDATE", message)

    async def announce_delete(self, message: Message) -> None:
        data: dict[str, Any] = {"id": str(message.id), "channel_id": str(message.channel_id)}
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
        await self.gateway.dispatch("MESSAGE_DELETE", data, self._delivery(message))

    async def announce_thread(self, thread: Channel) -> None:
        if self.hide_threads:
            return
        data = {**payloads.thread(thread), "newly_created": True}
        await self.gateway.dispatch("THREAD_CREATE", data, Delivery(thread.guild_id, GUILDS))

    async def user_reaction(self, message_id: int, emoji: str, who: Author = None) -> None:
        """A person reacts to a message: MESSAGE_REACTION_ADD with their id and member."""
        await self.announce_reaction(self.world.messages[message_id], emoji, self.resolve_user(who))

    async def announce_reaction(
        self, message: Message, emoji: str, user: User | None = None
    ) -> None:
        reactor = user or self.bot
        data: dict[str, Any] = {
            "user_id": str(reactor.id),
            "channel_id": str(message.channel_id),
            "message_id": str(message.id),
            "message_author_id": str(message.author.id),
            "emoji": {"id": None, "name": emoji},
            "burst": False,
            "type": 0,
        }
        intent = DIRECT_MESSAGE_REACTIONS
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
            guild = self.world.guilds.get(message.guild_id)
            data["member"] = payloads.member(reactor, guild=guild)
            intent = GUILD_MESSAGE_REACTIONS
        delivery = Delivery(message.guild_id, intent)
        await self.gateway.dispatch("MESSAGE_REACTION_ADD", data, delivery)

    async def _dispatch_message(self, event: str, message: Message) -> None:
        data = payloads.message(self.world, message, gateway=True)
        await self.gateway.dispatch(event, data, self._delivery(message))

    def _delivery(self, message: Message) -> Delivery:
        in_guild = message.guild_id is not None
        exempt = (
            not in_guild
            or message.author.id == self.bot_id
            or any(u.id == self.bot_id for u in message.mentions)
        )
        intent = GUILD_MESSAGES if in_guild else DIRECT_MESSAGES
        return Delivery(message.guild_id, intent, private_content=not exempt)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _guild(self, guild: Guild | int | None) -> Guild:
        if guild is None:
            return self.guild
        return guild if isinstance(guild, Guild) else self.world.guilds[guild]

    # Queries ------------------------------------------------------------------------------

    def messages_in(self, channel_id: int) -> list[Message]:
        return self.world.messages_in(channel_id)

    def bot_messages(self, channel_id: int) -> list[Message]:
        return [m for m in self.world.messages_in(channel_id) if m.author.id == self.bot_id]

    def threads_of(self, channel_id: int) -> list[Channel]:
        return self.world.threads_of(channel_id)

    def message(self, message_id: int) -> Message:
        return self.world.messages[message_id]
