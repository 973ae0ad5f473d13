"""A late mention: the bot mentioned first in a thread that already has posts sends the provider
the earlier ones with the first message (newest BRIDGE_CONTEXT_POSTS, oldest first, authors
named), once; a history call that is slow or refused costs the post its context, not its answer.

Real Redis, slack-bolt, discord.py, aiohttp; Slack, Discord, Mattermost and neuroflash are
emulators on loopback.
"""

from __future__ import annotations

import logging

import pytest

from bridge.context import FOOTER, HEADER
from emulators.base import Fault
from emulators.discord.state import Message as DiscordMessage
from emulators.slack.args import call_args
from emulators.slack.state import Message
from tests.harness import Env, discord_bridge, slack_bridge
from tests.mattermost_env import mattermost_bridge

CHANNEL = "C1"
PEOPLE = {"U1": "Ann", "U2": "Bob", "U3": "Cara"}


def sent(env: Env) -> list[str]:
    return [c.body["text"] for c in env.neuroflash.calls_to("message-streams", "POST")]


def with_block(lines: list[str], post: str) -> str:
    return "\n".join([HEADER, *lines, FOOTER]) + "\n\n" + post


def seed_slack(env: Env, count: int, bot_every: int = 0) -> tuple[str, list[str]]:
    """A thread of `count` posts by Ann and Bob (the parent first), with one of the bot's own
    after every `bot_every`; the thread's ts and the people's lines, oldest first."""
    for user, name in PEOPLE.items():
        env.slack.add_user(user, name)
    space = env.slack.workspace
    root = space.next_ts()
    lines = []
    for n in range(count):
        user = "U1" if n % 2 == 0 else "U2"
        ts = root if n == 0 else space.next_ts()
        space.add(Message(CHANNEL, ts, user, f"post {n}", thread_ts=None if n == 0 else root))
        lines.append(f"{PEOPLE[user]}: post {n}")
        if bot_every and n % bot_every == bot_every - 1:
            bot = Message(CHANNEL, space.next_ts(), "UBOT", "my own", thread_ts=root, bot_id="BBOT")
            space.add(bot)
    return root, lines


async def test_slack_late_mention_sends_the_last_50_in_order(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        root, lines = seed_slack(env, 60, bot_every=7)
        env.neuroflash.script("With context.", "Follow-up.")
        await env.slack.user_post(CHANNEL, "<@UBOT> what did we decide?", "U3", thread_ts=root)
        await env.wait(lambda: env.reply_text(CHANNEL, root).endswith("my ownWith context."))
        assert sent(env) == [with_block(lines[-50:], "Cara: what did we decide?")]
        assert "my own" not in sent(env)[0]
        await env.slack.user_post(CHANNEL, "and then?", "U3", thread_ts=root)
        await env.wait(lambda: env.reply_text(CHANNEL, root).endswith("context.Follow-up."))
        assert sent(env)[1] == "Cara: and then?"
        calls = env.slack.calls_to("/api/conversations.replies")
        assert len(calls) == 1, "the mention's two deliveries read the thread once"


async def test_slack_slow_history_answers_the_post_alone(
    redis_url: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bridge.context")
    async with slack_bridge(redis_url, prefix, bridge_context_timeout_seconds=0.3) as env:
        root, _ = seed_slack(env, 5)
        env.slack.fail_next("conversations.replies", Fault("slow", delay=3.0), 2)
        env.neuroflash.script("Alone.")
        await env.slack.user_post(CHANNEL, "<@UBOT> question", "U3", thread_ts=root)
        await env.wait_reply(CHANNEL, root, "Alone.")
        assert sent(env) == ["question"]
        assert "took over 0.3s" in caplog.text


async def test_slack_refused_history_answers_the_post_alone(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        root, _ = seed_slack(env, 5)
        env.slack.fail_next("conversations.replies", Fault("error", body="missing_scope"), 2)
        env.neuroflash.script("Alone.")
        await env.slack.user_post(CHANNEL, "<@UBOT> question", "U3", thread_ts=root)
        await env.wait_reply(CHANNEL, root, "Alone.")
        assert sent(env) == ["question"]


async def test_slack_distributed_limits_are_kept(redis_url: str, prefix: str) -> None:
    """Outside the Marketplace: 15 messages a call, 1 call a minute; the first page is sent."""
    values = {"slack_history_page_size": 15, "slack_history_calls_per_minute": 1}
    async with slack_bridge(redis_url, prefix, **values) as env:
        env.slack.distributed_limits()
        root, lines = seed_slack(env, 60)
        env.neuroflash.script("Paced.")
        await env.slack.user_post(CHANNEL, "<@UBOT> summary?", "U3", thread_ts=root)
        await env.wait_reply(CHANNEL, root, "Paced.")
        assert sent(env) == [with_block(lines[:15], "Cara: summary?")]
        assert env.slack.rate_limited["conversations.replies"] == 0
        (call,) = env.slack.calls_to("/api/conversations.replies")
        assert str(call_args(call)["limit"]) == "15"
        other, _ = seed_slack(env, 3)
        env.neuroflash.script("Alone.")
        await env.slack.user_post(CHANNEL, "<@UBOT> and here?", "U3", thread_ts=other)
        await env.wait_reply(CHANNEL, other, "Alone.")
        assert sent(env)[-1] == "and here?", "the minute's one call is spent: no context"
        assert len(env.slack.calls_to("/api/conversations.replies")) == 1


async def test_slack_context_keeps_within_the_post_size(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix, bridge_max_post_chars=120) as env:
        root, lines = seed_slack(env, 20)
        env.neuroflash.script("Short.")
        await env.slack.user_post(CHANNEL, "<@UBOT> recap", "U3", thread_ts=root)
        await env.wait_reply(CHANNEL, root, "Short.")
        (text,) = sent(env)
        assert text == with_block(lines[-3:], "Cara: recap")
        assert len(text) <= 120 < len(with_block(lines[-4:], "Cara: recap"))


async def test_slack_top_level_mention_reads_no_history(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        env.neuroflash.script("Fresh.")
        root = await env.slack.user_post(CHANNEL, "<@UBOT> hello")
        await env.wait_reply(CHANNEL, root, "Fresh.")
        assert sent(env) == ["hello"]
        assert not env.slack.calls_to("/api/conversations.replies")


async def test_discord_late_mention_in_a_thread_it_did_not_start(
    redis_url: str, prefix: str
) -> None:
    async with discord_bridge(redis_url, prefix) as env:
        emu = env.discord
        bob = emu.world.user("bob")
        emu.world.join(emu.guild, bob)
        start = await emu.user_message(emu.channel.id, "a topic")
        thread = await emu.create_thread(start.id, "topic")
        lines = []
        for n in range(60):
            author = emu.resolve_user(None) if n % 2 == 0 else bob
            message = DiscordMessage(emu.world.ids.next(), thread.id, emu.guild.id, author, f"p{n}")
            emu.world.add_message(message)
            lines.append(f"{author.username}: p{n}")
            if n % 9 == 8:
                own = DiscordMessage(emu.world.ids.next(), thread.id, emu.guild.id, emu.bot, "mine")
                emu.world.add_message(own)
        env.neuroflash.script("Caught up.")
        mention = await emu.user_message(thread.id, "what now?", mentions_bot=True)
        await env.wait(lambda: env.discord_text(thread.id).endswith("Caught up."))
        assert sent(env) == [with_block(lines[-50:], "alice: what now?")]
        history = emu.calls_to(f"/api/v10/channels/{thread.id}/messages", "GET")
        assert history and history[0].query["before"] == str(mention.id)


async def test_mattermost_late_mention_reads_the_thread(redis_url: str, prefix: str) -> None:
    async with mattermost_bridge(redis_url, prefix) as mm:
        emu = mm.emu
        bob = emu.server.add_user("bob")
        root = emu.server.add_post(emu.channel.id, emu.user.id, "the plan")
        emu.server.add_post(emu.channel.id, bob.id, "looks good", root_id=root.id)
        emu.server.add_post(emu.channel.id, emu.bot.id, "mine", root_id=root.id)
        gone = emu.server.add_post(emu.channel.id, bob.id, "oops", root_id=root.id)
        gone.delete_at = gone.create_at
        mm.env.neuroflash.script("Read it.")
        await emu.mention(emu.channel.id, "thoughts?", root.id)
        await mm.wait(lambda: mm.text(root).endswith("Read it."))
        name = emu.user.username
        expected = with_block([f"{name}: the plan", "bob: looks good"], f"{name}: thoughts?")
        assert mm.streams() == [expected]
