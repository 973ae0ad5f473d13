"""`/threadbridge` as a Discord application command, answered ephemerally.

Real discord.py (CommandTree synced to the emulator, INTERACTION_CREATE on the gateway, the
interaction callback), real Redis; Discord, neuroflash and SenseFlow are emulators.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis

from emulators.base import Fault
from emulators.discord.commands import RESPONSE_DEADLINE
from emulators.discord.state import Channel
from emulators.senseflow import AGENT, API_KEY, SenseflowEmulator
from tests.harness import Env, discord_bridge

EPHEMERAL = 64
SLOW = "A long and slow answer that keeps streaming for quite a while, word by word. " * 6


async def run(env: Env, channel: Channel, sub: str, **options: Any) -> str:
    admin = bool(options.pop("admin", False))
    locale = str(options.pop("locale", "en-US"))
    body = await env.discord.interactions.run(
        channel, "threadbridge", sub, options, manage_channels=admin, locale=locale
    )
    assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL, body
    return str(body["data"]["content"])


async def open_thread(env: Env, reply: str = "Ready.") -> Channel:
    emu = env.discord
    env.neuroflash.script(reply)
    post = await emu.user_message(emu.channel.id, "hello", mentions_bot=True)
    await env.wait(lambda: env.discord_text(post.id) == reply)
    return emu.world.channels[post.id]


async def thread_keys(redis: Redis, prefix: str, env: Env, thread: Channel) -> list[bytes]:
    pattern = f"{prefix}*discord:{env.discord.guild.id}:{env.discord.channel.id}:{thread.id}*"
    return [k async for k in redis.scan_iter(match=pattern, count=500)]


async def test_commands_are_registered_and_answer(redis_url: str, prefix: str) -> None:
    async with discord_bridge(redis_url, prefix) as env:
        (command,) = env.discord.commands[None]
        assert command["name"] == "threadbridge"
        subs = {o["name"] for o in command["options"]}
        assert subs == {"new", "stop", "forget", "status", "config"}

        thread = await open_thread(env)
        (conversation,) = env.neuroflash.conversations
        status = await run(env, thread, "status")
        assert "Provider: neuroflash" in status and f"Conversation: {conversation}" in status
        assert "Messages so far: 1" in status and "Busy policy: queue" in status

        env.neuroflash.tokens_per_second = 40
        hold = env.neuroflash.hold = asyncio.Event()  # running until stopped
        env.neuroflash.script(SLOW)
        await env.discord.user_message(thread.id, "tell me a lot")
        await env.wait(lambda: "A long" in env.discord_text(thread.id))
        assert "Stopped" in await run(env, thread, "stop")
        await env.wait(lambda: len(env.neuroflash.calls_to("message-streams", "DELETE")) == 1)
        hold.set()

        env.neuroflash.tokens_per_second = 400
        assert "Fresh start" in await run(env, thread, "new")
        env.neuroflash.script("A new one.")
        await env.discord.user_message(thread.id, "again")
        await env.wait(lambda: env.discord_text(thread.id).endswith("A new one."))
        assert len(env.neuroflash.conversations) == 2
        assert "in a thread" in await run(env, env.discord.channel, "status")


async def test_config_needs_manage_channels(redis_url: str, prefix: str) -> None:
    async with discord_bridge(redis_url, prefix) as env:
        thread = await open_thread(env)
        scope = f"discord:{env.discord.guild.id}:{env.discord.channel.id}"
        assert env.runtime.store is not None
        refused = await run(env, thread, "config", name="busy_policy", value="merge")
        assert "Only admins" in refused
        assert "busy_policy" not in await env.runtime.store.channel_settings(scope)
        done = await run(env, thread, "config", name="busy_policy", value="merge", admin=True)
        assert "merge" in done
        assert (await env.runtime.store.channel_settings(scope))["busy_policy"] == "merge"
        german = await run(env, thread, "config", name="model", value="x", locale="de")
        assert "Nur Admins" in german


@asynccontextmanager
async def senseflow_thread(
    redis_url: str, prefix: str
) -> AsyncIterator[tuple[Env, SenseflowEmulator, Channel]]:
    """A bridge on SenseFlow with one thread answered: (env, emulator, the thread)."""
    senseflow = SenseflowEmulator()
    await senseflow.start()
    try:
        async with discord_bridge(
            redis_url,
            prefix,
            senseflow_api_key=API_KEY,
            senseflow_agent=AGENT,
            senseflow_api_url=senseflow.api_url,
            bridge_provider="senseflow",
        ) as env:
            emu = env.discord
            senseflow.script("Hi from SenseFlow.")
            post = await emu.user_message(emu.channel.id, "hello", mentions_bot=True)
            await env.wait(lambda: env.discord_text(post.id) == "Hi from SenseFlow.")
            yield env, senseflow, emu.world.channels[post.id]
    finally:
        await senseflow.stop()


async def test_forget_deletes_the_conversation_and_every_key(
    redis_url: str, prefix: str, redis: Redis
) -> None:
    async with senseflow_thread(redis_url, prefix) as (env, senseflow, thread):
        assert len(senseflow.conversations) == 1
        assert await thread_keys(redis, prefix, env, thread)
        assert "forget confirm" in await run(env, thread, "forget")
        assert len(senseflow.conversations) == 1
        assert "Forgotten" in await run(env, thread, "forget", confirm=True)
        assert senseflow.conversations == {}
        assert await thread_keys(redis, prefix, env, thread) == []


async def test_slow_forget_is_deferred_then_answered_by_followup(
    redis_url: str, prefix: str
) -> None:
    """A command whose provider call outlasts Discord's 3 s deadline is deferred in time (type 5,
    ephemeral) and answered by the followup webhook when the work is done; without the deferral
    the emulator would refuse the late answer with 10062 as Discord does."""
    async with senseflow_thread(redis_url, prefix) as (env, senseflow, thread):
        senseflow.fail_next("delete", Fault("slow", delay=RESPONSE_DEADLINE + 0.5))
        command = await env.discord.interactions.start(
            thread, "threadbridge", "forget", {"confirm": True}
        )
        deferred = await asyncio.wait_for(asyncio.shield(command.answered), 10)
        assert deferred["type"] == 5 and deferred["data"]["flags"] & EPHEMERAL, deferred
        assert senseflow.conversations, "deferred before the provider finished"
        await env.wait(lambda: bool(command.followups))
        (followup,) = command.followups
        assert "Forgotten" in followup["content"] and followup["flags"] & EPHEMERAL
        assert senseflow.conversations == {}
        assert command.late == [] and command.age() > RESPONSE_DEADLINE
