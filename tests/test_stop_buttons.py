"""The stop control on a streaming reply.

Slack: a Block Kit button (edit path) in Socket Mode and HTTP mode, and Slack's own stop on a
native stream (`stopped_by_user`). Discord: a button component, pressed through the gateway's
INTERACTION_CREATE and acknowledged with the interaction callback. With two replicas the press
reaches the replica that is not streaming; the reply stops (at the provider too), keeps its
text, says it stopped, and the control disappears.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from adapters.discord.controls import STOP_ID
from adapters.slack.controls import STOP_ACTION
from emulators.slack.interactions import find_action
from emulators.slack.state import Message
from tests.harness import slack_bridge
from tests.procs import cluster, wait_until

CHANNEL = "C1"
STOPPED = "> ⏹️ Stopped."
LONG = " ".join(f"word{i}" for i in range(400))


def stopped_text(text: str) -> bool:
    """The reply ends with the stop notice and keeps a non-empty prefix of the answer."""
    body, _, note = text.rpartition("\n\n")
    return note == STOPPED and bool(body) and LONG.startswith(body)


def shows_button(message: Message) -> bool:
    return find_action(message, STOP_ACTION) is not None


def shows_only_text(message: Message) -> bool:
    """The final page: one `markdown` block showing exactly the message's text, no button."""
    return message.blocks in (None, [{"type": "markdown", "text": message.text}])


async def test_slack_button_on_the_replica_that_is_not_streaming(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    async with cluster(redis_url, prefix, tmp_path, tokens_per_second=20.0) as c:
        c.replicas.env["SLACK_REPLY_MODE"] = "edit"
        (streaming,) = await c.start(1)
        c.neuroflash.hold = asyncio.Event()  # running until stopped, however slow the machine
        c.neuroflash.script(LONG)
        root = await c.slack.user_post(CHANNEL, "<@UBOT> talk for long")
        await wait_until(
            lambda: any(shows_button(m) for m in c.slack.bot_replies(CHANNEL, root)),
            30,
            "the stop button",
        )
        await c.start(1)
        (message,) = c.slack.bot_replies(CHANNEL, root)
        acked = await c.slack.press_button(CHANNEL, message.ts, STOP_ACTION, link=-1)
        assert acked is True
        await wait_until(lambda: stopped_text(message.text), 20, "the reply stopped")
        assert not shows_button(message)
        assert shows_only_text(message)
        assert c.neuroflash.calls_to("message-streams", "DELETE")
        assert streaming.alive
        assert [m.ts for m in c.slack.bot_replies(CHANNEL, root)] == [message.ts]


async def test_slack_button_in_http_mode(redis_url: str, prefix: str) -> None:
    async with slack_bridge(
        redis_url, prefix, socket_mode=False, tokens_per_second=20.0, slack_reply_mode="edit"
    ) as env:
        env.neuroflash.hold = asyncio.Event()  # running until stopped, however slow the machine
        env.neuroflash.script(LONG)
        root = await env.slack.user_post(CHANNEL, "<@UBOT> talk for long")
        await env.wait(lambda: any(shows_button(m) for m in env.replies(CHANNEL, root)))
        (message,) = env.replies(CHANNEL, root)
        assert await env.slack.press_button(CHANNEL, message.ts, STOP_ACTION) == 200
        await env.wait(lambda: stopped_text(message.text))
        assert not shows_button(message)
        assert shows_only_text(message)


@pytest.mark.parametrize("socket_mode", [True, False], ids=["socket", "http"])
async def test_slack_native_stop_on_a_stream_stops_the_reply(
    redis_url: str, prefix: str, socket_mode: bool
) -> None:
    async with slack_bridge(
        redis_url, prefix, socket_mode=socket_mode, tokens_per_second=20.0
    ) as env:
        env.neuroflash.hold = asyncio.Event()  # running until stopped, however slow the machine
        env.neuroflash.script(LONG)
        root = await env.slack.user_post(CHANNEL, "<@UBOT> talk for long")
        await env.wait(lambda: len(env.slack.calls_to("chat.appendStream")) >= 1)
        (message,) = env.replies(CHANNEL, root)
        env.slack.stop_stream_by_user(CHANNEL, message.ts)
        await env.wait(lambda: stopped_text(message.text))
        assert env.neuroflash.calls_to("message-streams", "DELETE")
        assert [m.ts for m in env.replies(CHANNEL, root)] == [message.ts]


async def test_discord_button_on_the_replica_that_is_not_streaming(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    async with cluster(redis_url, prefix, tmp_path, tokens_per_second=20.0) as c:
        emu = c.discord
        (streaming,) = await c.start(1)
        c.neuroflash.hold = asyncio.Event()  # running until stopped, however slow the machine
        c.neuroflash.script(LONG)
        post = await emu.user_message(emu.channel.id, "talk for long", mentions_bot=True)
        await wait_until(
            lambda: any(m.components for m in emu.bot_messages(post.id)), 30, "the stop button"
        )
        await c.start(1)
        await wait_until(lambda: len(emu.gateway.sessions) == 2, 20, "the second session")
        (message,) = emu.bot_messages(post.id)
        other = list(emu.gateway.sessions)[-1]
        pressed = await emu.components.press_button(message, STOP_ID, session=other)
        await wait_until(lambda: stopped_text(message.content), 20, "the reply stopped")
        assert message.components == []
        assert pressed.callbacks == [{"type": 6}]
        assert c.neuroflash.calls_to("message-streams", "DELETE")
        assert streaming.alive
        assert [m.id for m in emu.bot_messages(post.id)] == [message.id]
