"""Threads with several people, and channels that answer only mentions.

Real slack-bolt / discord.py, real Redis; the messengers and neuroflash are emulators.
"""

from __future__ import annotations

from tests.harness import Env, discord_bridge, slack_bridge

CHANNEL = "C1"


def sent(env: Env) -> list[str]:
    return [c.body["text"] for c in env.neuroflash.calls_to("message-streams", "POST")]


async def test_slack_names_each_author_once_two_people_post(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        env.slack.add_user("U1", "Ann")
        env.slack.add_user("U2", "Bob")
        env.neuroflash.script("One.", "Two.", "Three.")
        root = await env.slack.user_post(CHANNEL, "<@UBOT> hello", user="U1")
        await env.wait_reply(CHANNEL, root, "One.")
        await env.slack.user_post(CHANNEL, "me too", user="U2", thread_ts=root)
        await env.wait_reply(CHANNEL, root, "One.Two.")
        await env.slack.user_post(CHANNEL, "and more", user="U1", thread_ts=root)
        await env.wait_reply(CHANNEL, root, "One.Two.Three.")
        assert sent(env) == ["hello", "Bob: me too", "Ann: and more"]


async def test_slack_mentions_only_channel(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        env.slack.add_user("UADMIN", "Ada", admin=True)
        await env.slack.slash("config reply_mode mentions", user="UADMIN", channel=CHANNEL)
        env.neuroflash.script("One.", "Two.")
        root = await env.slack.user_post(CHANNEL, "<@UBOT> hello")
        await env.wait_reply(CHANNEL, root, "One.")
        await env.slack.user_post(CHANNEL, "just chatting", thread_ts=root, wait=True)
        await env.slack.user_post(CHANNEL, "<@UBOT> a question", thread_ts=root)
        await env.wait_reply(CHANNEL, root, "One.Two.")
        assert sent(env) == ["hello", "a question"]


async def test_discord_names_both_authors_and_mentions_only(redis_url: str, prefix: str) -> None:
    async with discord_bridge(redis_url, prefix) as env:
        emu = env.discord
        bob = emu.world.user("bob")
        emu.world.join(emu.guild, bob)
        env.neuroflash.script("One.", "Two.", "Three.", "Four.")
        post = await emu.user_message(emu.channel.id, "hello", mentions_bot=True)
        await env.wait(lambda: env.discord_text(post.id) == "One.")
        await emu.user_message(post.id, "me too", author=bob)
        await env.wait(lambda: env.discord_text(post.id) == "One.Two.")
        await emu.user_message(post.id, "and more")
        await env.wait(lambda: env.discord_text(post.id) == "One.Two.Three.")
        assert sent(env) == ["hello", "bob: me too", "alice: and more"]

        thread = emu.world.channels[post.id]
        await emu.interactions.run(
            thread,
            "threadbridge",
            "config",
            {"name": "reply_mode", "value": "mentions"},
            manage_channels=True,
        )
        await emu.user_message(post.id, "no mention here", author=bob)
        await emu.user_message(post.id, "question", mentions_bot=True)
        await env.wait(lambda: env.discord_text(post.id) == "One.Two.Three.Four.")
        assert sent(env)[-1] == "alice: question"
        assert not any("no mention here" in text for text in sent(env))
