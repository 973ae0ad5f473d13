"""`/threadbridge <sub> link:<message link>` on Discord acts on the linked thread only for who
may see it: View Channel as discord.py computes it from the guild's roles, the owner and the
channel's overwrites; for a private thread, membership (or Manage Threads); a DM link only for
the DM's participant. Anyone else gets a short refusal and nothing changes.

Real discord.py (command tree synced to the emulator, INTERACTION_CREATE on the gateway), real
Redis; Discord and neuroflash are emulators.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis

from adapters.discord.links import Place, parse_link
from emulators.discord.state import Channel, User
from tests.harness import Env, discord_bridge

EPHEMERAL = 64
REFUSED = "🚫 You cannot use that thread: only people who can see it may."
REFUSED_DE = (
    "🚫 Diesen Thread kannst du nicht nutzen: Das dürfen nur Personen, die ihn sehen können."
)


async def run(env: Env, sub: str, user: User, link: str, **options: Any) -> str:
    """`user` runs the command in #general (a channel everyone sees) about the linked thread."""
    locale = str(options.pop("locale", "en-US"))
    body = await env.discord.interactions.run(
        env.discord.channel,
        "threadbridge",
        sub,
        {**options, "link": link},
        user=user,
        locale=locale,
    )
    assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL, body
    return str(body["data"]["content"])


def thread_link(env: Env, thread: Channel) -> str:
    return f"https://discord.com/channels/{env.discord.guild.id}/{thread.id}"


async def answered_thread(env: Env, channel: Channel, author: User, reply: str) -> Channel:
    """`author` mentions the bot in `channel`; the thread the bot opened and answered in."""
    env.neuroflash.script(reply)
    post = await env.discord.user_message(channel.id, "our secret plan", author, mentions_bot=True)
    await env.wait(lambda: env.discord_text(post.id) == reply)
    return env.discord.world.channels[post.id]


async def state(env: Env, redis: Redis, prefix: str, thread: Channel) -> tuple[Any, int]:
    """The thread's Redis keys with their values (DUMP), and the provider's call count."""
    pattern = f"{prefix}*discord:{thread.guild_id}:*:{thread.id}*"
    keys = sorted([k async for k in redis.scan_iter(match=pattern)])
    return {k: await redis.dump(k) for k in keys}, len(env.neuroflash.calls)


async def settled(env: Env, redis: Redis, prefix: str, thread: Channel) -> tuple[Any, int]:
    """The state once the finished reply's last writes (its lease's release) are done."""
    previous = await state(env, redis, prefix, thread)
    for _ in range(100):
        await asyncio.sleep(0.05)  # the poll's interval: polled until two reads agree
        current = await state(env, redis, prefix, thread)
        if current == previous:
            return current
        previous = current
    raise AssertionError("the thread's keys kept changing")


async def test_a_private_channel_thread_is_only_for_who_may_view_it(
    redis_url: str, prefix: str, redis: Redis
) -> None:
    async with discord_bridge(redis_url, prefix) as env:
        emu = env.discord
        bob = emu.world.user("bob")
        secret = await emu.create_private_channel("secret", [bob])
        thread = await answered_thread(env, secret, bob, "The secret plan.")
        (conversation,) = env.neuroflash.conversations
        before = await settled(env, redis, prefix, thread)
        assert before[0], "the thread has keys to lose"
        link = thread_link(env, thread)
        for sub, options in (
            ("status", {}),
            ("forget", {"confirm": True}),
            ("new", {}),
            ("stop", {}),
        ):
            assert await run(env, sub, emu.user, link, **options) == REFUSED
        assert await run(env, "status", emu.user, link, locale="de") == REFUSED_DE
        # A Manage Channels role does not open a channel whose overwrites deny the view.
        await emu.ensure_permission(emu.user, emu.guild.id, 1 << 4)
        assert await run(env, "status", emu.user, link) == REFUSED
        assert await state(env, redis, prefix, thread) == before
        assert list(env.neuroflash.conversations) == [conversation]

        # Positive controls: bob may view the channel; the guild's owner sees every channel.
        assert f"Conversation: {conversation}" in await run(env, "status", bob, link)
        assert f"Conversation: {conversation}" in await run(env, "status", emu.owner, link)
        message_link = f"https://discord.com/channels/{emu.guild.id}/{secret.id}/{thread.id}"
        assert "Forgotten" in await run(env, "forget", bob, message_link, confirm=True)
        assert (await state(env, redis, prefix, thread))[0] == {}


async def test_a_private_thread_is_only_for_its_members(redis_url: str, prefix: str) -> None:
    """Everyone views #general, but its private thread is bob's: alice is refused, bob is not."""
    async with discord_bridge(redis_url, prefix) as env:
        emu = env.discord
        bob = emu.world.user("bob")
        emu.world.join(emu.guild, bob)
        private = await emu.create_private_thread(emu.channel, "bob's", [bob])
        env.neuroflash.script("Just for bob.")
        await emu.user_message(private.id, "hello", bob, mentions_bot=True)
        await env.wait(lambda: env.discord_text(private.id) == "Just for bob.")
        (conversation,) = env.neuroflash.conversations
        link = thread_link(env, private)
        assert await run(env, "status", emu.user, link) == REFUSED
        assert await run(env, "forget", emu.user, link, confirm=True) == REFUSED
        assert list(env.neuroflash.conversations) == [conversation]
        assert f"Conversation: {conversation}" in await run(env, "status", bob, link)
        # Membership came from Discord (Get Thread Member), asked for each of them.
        asked = env.discord.calls_to(f"/channels/{private.id}/thread-members/")
        assert {c.path.rsplit("/", 1)[1] for c in asked} == {str(emu.user.id), str(bob.id)}


async def test_a_dm_is_only_for_its_participant(redis_url: str, prefix: str) -> None:
    async with discord_bridge(redis_url, prefix) as env:
        emu = env.discord
        dm = emu.dm_channel()
        env.neuroflash.script("Between us.")
        post = await emu.user_message(dm.id, "a private question", guild=False)
        await env.wait(lambda: env.discord_text(dm.id) == "Between us.")
        (conversation,) = env.neuroflash.conversations
        link = f"https://discord.com/channels/@me/{dm.id}/{post.id}"
        assert await run(env, "status", emu.owner, link) == REFUSED
        assert await run(env, "forget", emu.owner, link, confirm=True) == REFUSED
        assert list(env.neuroflash.conversations) == [conversation]
        assert f"Conversation: {conversation}" in await run(env, "status", emu.user, link)


async def test_a_link_to_no_thread_says_so(redis_url: str, prefix: str) -> None:
    async with discord_bridge(redis_url, prefix) as env:
        channel_only = (
            f"https://discord.com/channels/{env.discord.guild.id}/{env.discord.channel.id}"
        )
        for link in ("not a link", channel_only):
            answer = await run(env, "status", env.discord.user, link)
            assert answer == "That link does not lead to a thread."


def test_parse_link() -> None:
    assert parse_link("https://discord.com/channels/1/2/3") == Place(1, 2, 3)
    assert parse_link("<https://ptb.discord.com/channels/@me/2/3>") == Place(None, 2, 3)
    assert parse_link("https://discordapp.com/channels/1/2") == Place(1, 2, None)
    assert parse_link("https://evil.example/channels/1/2/3") is None
    assert parse_link("https://discord.com/channels/1/2/3/4") is None
