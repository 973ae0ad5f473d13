"""The Discord emulator against an unmodified discord.py client.

The bots here are minimal discord.Client subclasses written for the test (not threadbridge code);
only `Route.BASE` and `DiscordWebSocket.DEFAULT_GATEWAY` are pointed at the emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from discord import app_commands

from emulators.discord import DiscordEmulator
from emulators.discord.commands import RESPONSE_DEADLINE

TOKEN = "test-token"
MESSAGES_ROUTE = "POST /channels/{channel_id}/messages"


@pytest.fixture
async def emu(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[DiscordEmulator]:
    emulator = DiscordEmulator(token=TOKEN, heartbeat_interval=0.5)
    await emulator.start()
    monkeypatch.setattr(discord.http.Route, "BASE", emulator.api_url)
    gateway = yarl.URL(emulator.gateway_url)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", gateway)
    yield emulator
    await emulator.stop()


OnMessage = Callable[[discord.Message], Awaitable[None]]


class Bot(discord.Client):
    """A plain discord.py bot: records what it sees and runs `handler` on human messages."""

    def __init__(self, handler: OnMessage | None = None, *, content: bool = True) -> None:
        intents = discord.Intents.default()
        intents.message_content = content
        super().__init__(intents=intents, guild_ready_timeout=0.05)
        self.handler = handler
        self.seen: list[discord.Message] = []
        self.echoes: list[discord.Message] = []
        self.ready_once = asyncio.Event()
        self.resumed_count = 0

    async def on_ready(self) -> None:
        self.ready_once.set()

    async def on_resumed(self) -> None:
        self.resumed_count += 1

    async def on_message(self, message: discord.Message) -> None:
        if message.author == self.user:
            self.echoes.append(message)
        if message.author.bot:
            return
        self.seen.append(message)
        if self.handler is not None:
            await self.handler(message)


@contextlib.asynccontextmanager
async def running(client: Bot | ShardedBot, token: str = TOKEN) -> AsyncIterator[None]:
    """Start `client`, wait for on_ready (or its failure), and always close it."""
    task = asyncio.create_task(client.start(token))
    ready = asyncio.create_task(client.ready_once.wait())
    try:
        await asyncio.wait({task, ready}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()
        assert ready.done(), "client did not become ready"
        yield
    finally:
        ready.cancel()
        await client.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)


async def test_independent_bot_replies_with_text_embed_and_edit(emu: DiscordEmulator) -> None:
    async def handle(message: discord.Message) -> None:
        quiet = discord.AllowedMentions.none()
        reply = await message.reply(f"echo: {message.content}", allowed_mentions=quiet)
        await message.channel.send(embed=discord.Embed(title="T", description="embedded"))
        await reply.edit(content=f"echo (edited): {message.content}")

    bot = Bot(handle)
    async with running(bot):
        assert [g.name for g in bot.guilds] == ["Test Guild"]
        await emu.wait_for(lambda: bot.latency < 1.0, timeout=5)  # heartbeats are ACKed
        posted = await emu.user_message(emu.channel.id, "hello there")
        await emu.wait_for(lambda: len(emu.bot_messages(emu.channel.id)) == 2, timeout=5)
        await emu.wait_for(lambda: emu.bot_messages(emu.channel.id)[0].edits, timeout=5)
    reply, embedded = emu.bot_messages(emu.channel.id)
    assert [m.content for m in bot.seen] == ["hello there"]
    assert reply.content == "echo (edited): hello there"
    assert reply.edits == ["echo (edited): hello there"]
    assert reply.message_reference is not None
    assert reply.message_reference["message_id"] == str(posted.id)
    assert reply.allowed_mentions == {"parse": []}
    assert embedded.embeds[0]["description"] == "embedded" and embedded.content == ""
    assert emu.calls_to("/messages", "PATCH")


async def test_refused_intents_raise_privileged_intents_required(emu: DiscordEmulator) -> None:
    emu.refuse_intents = True
    bot = Bot()
    with pytest.raises(discord.PrivilegedIntentsRequired):
        async with running(bot):
            pass


async def test_bad_token_raises_login_failure(emu: DiscordEmulator) -> None:
    with pytest.raises(discord.LoginFailure):
        async with running(Bot(), token="wrong"):
            pass
    assert emu.calls_to("/users/@me")


async def test_reconnect_resumes_and_delivers_missed_and_later_messages(
    emu: DiscordEmulator,
) -> None:
    bot = Bot()
    async with running(bot):
        await emu.request_reconnect()
        await emu.user_message(emu.channel.id, "during reconnect")
        await emu.wait_for(lambda: bot.resumed_count == 1, timeout=5)
        await emu.user_message(emu.channel.id, "after reconnect")
        await emu.wait_for(lambda: len(bot.seen) == 2, timeout=5)
    assert [m.content for m in bot.seen] == ["during reconnect", "after reconnect"]
    assert (emu.gateway.identifies, emu.gateway.resumes) == (1, 1)
    assert all(query["encoding"] == "json" for _, query in emu.gateway.connections)


async def test_dropped_socket_resumes_at_resume_gateway_url(emu: DiscordEmulator) -> None:
    bot = Bot()
    async with running(bot):
        await emu.drop_connections(4000)
        await emu.wait_for(lambda: emu.gateway.resumes == 1, timeout=5)
        await emu.user_message(emu.channel.id, "still here")
        await emu.wait_for(lambda: len(bot.seen) == 1, timeout=5)
    assert bot.seen[0].content == "still here"
    assert [path for path, _ in emu.gateway.connections] == ["/gateway", "/resume"]
    assert emu.gateway.identifies == 1


async def test_replay_last_redelivers_already_seen_events(emu: DiscordEmulator) -> None:
    bot = Bot()
    async with running(bot):
        first = await emu.user_message(emu.channel.id, "once")
        await emu.wait_for(lambda: len(bot.seen) == 1, timeout=5)
        emu.replay_last(1)
        await emu.request_reconnect()
        await emu.wait_for(lambda: len(bot.seen) == 2, timeout=5)
    assert [m.id for m in bot.seen] == [first.id, first.id]


async def test_rate_limit_429_is_honoured_then_succeeds(emu: DiscordEmulator) -> None:
    emu.enforce_limits(per_channel=2, per_seconds=0.5, headers=False)
    bot = Bot()
    async with running(bot):
        channel = bot.get_channel(emu.channel.id)
        assert isinstance(channel, discord.TextChannel)
        for n in range(4):
            await channel.send(f"message {n}")
    assert [m.content for m in emu.bot_messages(emu.channel.id)] == [
        f"message {n}" for n in range(4)
    ]
    assert emu.rate_limited >= 1
    assert emu.rate_limited_by_route[MESSAGES_ROUTE] == emu.rate_limited


async def test_rate_limit_headers_let_the_client_pace_itself(emu: DiscordEmulator) -> None:
    emu.enforce_limits(per_channel=2, per_seconds=0.4)
    bot = Bot()
    async with running(bot):
        channel = bot.get_channel(emu.channel.id)
        assert isinstance(channel, discord.TextChannel)
        for n in range(5):
            await channel.send(f"paced {n}")
    assert len(emu.bot_messages(emu.channel.id)) == 5
    assert emu.rate_limited == 0


async def test_injected_global_429_is_honoured(emu: DiscordEmulator) -> None:
    emu.rate_limit_next("create_message", retry_after=0.1, is_global=True)
    bot = Bot()
    async with running(bot):
        channel = bot.get_channel(emu.channel.id)
        assert isinstance(channel, discord.TextChannel)
        await channel.send("after a global limit")
    assert [m.content for m in emu.bot_messages(emu.channel.id)] == ["after a global limit"]
    assert len(emu.calls_to("/messages", "POST")) == 2 and emu.rate_limited == 1


async def test_thread_from_message_takes_its_id(emu: DiscordEmulator) -> None:
    async def handle(message: discord.Message) -> None:
        if bot.user in message.mentions:
            thread = await message.create_thread(name="x" * 100)
            await thread.send("in the thread")

    bot = Bot(handle)
    async with running(bot):
        posted = await emu.user_message(emu.channel.id, "please answer", mentions_bot=True)
        await emu.wait_for(lambda: emu.bot_messages(posted.id), timeout=5)
        threads = emu.threads_of(emu.channel.id)
        cached = bot.get_channel(posted.id)
    assert [t.id for t in threads] == [posted.id]
    assert isinstance(cached, discord.Thread) and cached.parent_id == emu.channel.id
    assert emu.bot_messages(posted.id)[0].content == "in the thread"
    assert posted.content == f"<@{emu.bot_id}> please answer"


async def test_thread_creation_counts_on_the_parent_channel(emu: DiscordEmulator) -> None:
    """Per-route buckets (Discord's rate-limits topic): thread creation is its own route,
    limited per parent channel (the path's top-level resource), apart from message create."""
    emu.enforce_limits(per_channel=1, per_seconds=5.0)
    first = await emu.user_message(emu.channel.id, "start here")
    second = await emu.user_message(emu.channel.id, "and here")
    other = emu.create_text_channel(None, "other")
    elsewhere = await emu.user_message(other.id, "over there")
    headers = {"Authorization": f"Bot {TOKEN}"}
    base = f"{emu.api_url}/channels/{emu.channel.id}/messages"
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.post(base, json={"content": "first"}) as sent:
            assert sent.status == 200
            post_bucket = sent.headers["X-RateLimit-Bucket"]
        async with http.post(f"{base}/{first.id}/threads", json={"name": "t"}) as created:
            assert created.status == 201
            assert created.headers["X-RateLimit-Bucket"] != post_bucket
        other_base = f"{emu.api_url}/channels/{other.id}/messages"
        async with http.post(f"{other_base}/{elsewhere.id}/threads", json={"name": "o"}) as ok:
            assert ok.status == 201
        async with http.post(f"{base}/{second.id}/threads", json={"name": "u"}) as limited:
            body = await limited.json()
            assert limited.status == 429 and limited.headers["Via"]
            assert limited.headers["Content-Type"] == "application/json"
    assert body["global"] is False and body["retry_after"] > 0
    assert emu.limits.by_channel[emu.channel.id] == 1


async def test_platform_limits_and_ownership(emu: DiscordEmulator) -> None:
    bot = Bot()
    async with running(bot):
        posted = await emu.user_message(emu.channel.id, "someone else's")
        channel = bot.get_channel(emu.channel.id)
        assert isinstance(channel, discord.TextChannel)
        with pytest.raises(discord.HTTPException) as too_long:
            await channel.send("x" * 2001)
        with pytest.raises(discord.Forbidden) as not_mine:
            await channel.get_partial_message(posted.id).edit(content="mine now")
        own = await channel.send("y" * 2000)
        with pytest.raises(discord.HTTPException) as long_name:
            await own.create_thread(name="n" * 101)
    assert too_long.value.code == 50035 and "2000" in too_long.value.text
    assert not_mine.value.code == 50005
    assert long_name.value.code == 50035
    assert posted.edits == [] and len(emu.bot_messages(emu.channel.id)) == 1


async def test_without_message_content_intent_only_mentions_carry_text(
    emu: DiscordEmulator,
) -> None:
    bot = Bot(content=False)
    async with running(bot):
        await emu.user_message(emu.channel.id, "secret")
        await emu.user_message(emu.channel.id, "for you", mentions_bot=True)
        await emu.wait_for(lambda: len(bot.seen) == 2, timeout=5)
    assert [m.content for m in bot.seen] == ["", f"<@{emu.bot_id}> for you"]


async def test_dm_typing_reaction_and_echoes(emu: DiscordEmulator) -> None:
    async def handle(message: discord.Message) -> None:
        async with message.channel.typing():
            await message.add_reaction("👀")
            await message.channel.send(f"dm reply to {message.content}")

    bot = Bot(handle)
    dm = emu.dm_channel("bob")
    async with running(bot):
        posted = await emu.user_message(dm.id, "hi bot", author="bob", guild=False)
        await emu.wait_for(lambda: bot.echoes, timeout=5)
    assert bot.seen[0].guild is None
    assert [m.content for m in emu.bot_messages(dm.id)] == ["dm reply to hi bot"]
    assert [m.content for m in bot.echoes] == ["dm reply to hi bot"]
    assert posted.reactions["👀"] == 1
    assert emu.calls_to(f"/channels/{dm.id}/typing", "POST")


async def test_application_commands_sync(emu: DiscordEmulator) -> None:
    bot = Bot()
    tree = app_commands.CommandTree(bot)

    @tree.command(name="bridge", description="Configure the bridge")
    async def bridge(interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message("ok")

    async with running(bot):
        synced = await tree.sync()
        again = await tree.sync()
    assert [c.name for c in synced] == ["bridge"]
    assert synced[0].id == again[0].id
    assert [c["name"] for c in emu.commands[None]] == ["bridge"]


async def test_initial_response_after_the_deadline_is_unknown_interaction(
    emu: DiscordEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Discord invalidates the token 3 s after the event: a late type 4 is 404/10062, a
    followup before any initial response is 404/10015; a deferral in time opens the followup
    webhook, which answers the message (wait is always true)."""
    monkeypatch.setattr(discord.webhook.async_.Route, "BASE", emu.api_url)  # type: ignore[attr-defined]
    bot = Bot()
    tree = app_commands.CommandTree(bot)
    group = app_commands.Group(name="t", description="Timing")
    tree.add_command(group)
    entered, release = asyncio.Event(), asyncio.Event()
    outcome: list[object] = []

    @group.command(name="late", description="Answers after the deadline")
    async def late(interaction: discord.Interaction[Any]) -> None:
        entered.set()
        await release.wait()
        for attempt in (
            interaction.followup.send("too early"),
            interaction.response.send_message("too late"),
        ):
            try:
                await attempt
            except discord.NotFound as exc:
                outcome.append(exc.code)

    @group.command(name="slow", description="Defers, then follows up")
    async def slow(interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer(ephemeral=True)
        sent = await interaction.followup.send("done", ephemeral=True, wait=True)
        outcome.append(sent.content)

    async with running(bot):
        await tree.sync()
        command = await emu.interactions.start(emu.channel, "t", "late")
        await asyncio.wait_for(entered.wait(), 10)
        command.created -= RESPONSE_DEADLINE  # as if the app had taken 3 s so far
        release.set()
        await emu.wait_for(lambda: len(outcome) == 2)
        assert outcome == [10015, 10062] and len(command.late) == 1
        deferred = await emu.interactions.run(emu.channel, "t", "slow")
        assert deferred == {"type": 5, "data": {"flags": 64}}
        await emu.wait_for(lambda: len(outcome) == 3)
        assert outcome[2] == "done"
        assert emu.interactions.history[-1].followups[0]["flags"] == 64


class ShardedBot(discord.AutoShardedClient):
    """The same minimal bot on discord.py's auto-sharded client (GET /gateway/bot first)."""

    def __init__(self) -> None:
        intents = discord.Intents.default()
        intents.message_content = True
        super().__init__(intents=intents, guild_ready_timeout=0.05)
        self.ready_once = asyncio.Event()
        self.contents: list[str] = []

    async def on_ready(self) -> None:
        self.ready_once.set()

    async def on_message(self, message: discord.Message) -> None:
        self.contents.append(message.content)


async def test_auto_sharded_client_uses_gateway_bot(emu: DiscordEmulator) -> None:
    bot = ShardedBot()
    async with running(bot):
        await emu.user_message(emu.channel.id, "sharded")
        await emu.wait_for(lambda: bot.contents == ["sharded"], timeout=5)
    assert emu.calls_to("/gateway/bot", "GET")
    assert emu.gateway.sessions and all(s.shard == (0, 1) for s in emu.gateway.sessions.values())
