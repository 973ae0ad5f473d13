"""Thumbs up/down on replies, end to end: Slack's `feedback_buttons` element (native stream and
edit path) and Discord's buttons, on the reply's last message only; a press is kept with the
thread, counted by provider and outcome, answered to the presser alone, listed by
`threadbridge feedback list`, and refused politely once the thread is forgotten.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

import pytest

from adapters.slack.feedback import FEEDBACK_ACTION
from bridge.contracts import ThreadKey
from bridge.contracts.feedback import Vote, control_value
from bridge.feedback_command import since
from bridge.runtime import Runtime
from emulators.base import Fault
from emulators.slack.state import Message
from tests.feedback_kit import Ratings
from tests.harness import discord_bridge, slack_bridge
from tests.test_slash_discord import run as discord_slash

CHANNEL = "C1"
EPHEMERAL = 64
WORDS = " ".join(f"word{i}" for i in range(900))
"""About 7,000 characters: two Slack pages, four Discord ones."""


def feedback_elements(message: Message) -> list[dict[str, Any]]:
    return [
        element
        for block in message.blocks or []
        if block.get("type") == "context_actions"
        for element in block.get("elements") or []
        if element.get("type") == "feedback_buttons"
    ]


@pytest.mark.parametrize("mode", ["stream", "edit"])
async def test_slack_feedback_kept_counted_listed_and_refused_after_forget(
    redis_url: str,
    prefix: str,
    mode: str,
    ratings_of: Callable[[Runtime], Ratings],
) -> None:
    async with slack_bridge(redis_url, prefix, slack_reply_mode=mode) as env:
        ratings = ratings_of(env.runtime)
        env.slack.add_user("UADMIN", "Ada", admin=True)
        env.neuroflash.script(WORDS)
        root = await env.slack.user_post(CHANNEL, "<@UBOT> talk at length", user="UADMIN")
        await env.wait(lambda: env.reply_text(CHANNEL, root).replace("\n", " ").strip() != "")
        await env.wait(lambda: bool(feedback_elements(env.replies(CHANNEL, root)[-1])), 30)
        *earlier, last = env.replies(CHANNEL, root)
        assert earlier, "a long answer takes more than one message"
        assert all(not feedback_elements(m) for m in earlier)
        (element,) = feedback_elements(last)
        assert element["action_id"] == FEEDBACK_ACTION
        assert element["positive_button"]["value"] == control_value(Vote.UP, root)
        assert element["negative_button"]["value"] == control_value(Vote.DOWN, root)
        if mode == "stream":
            stops = [c.body for c in env.slack.calls_to("chat.stopStream") if c.body.get("blocks")]
            assert stops and stops[-1]["ts"] == last.ts
            assert last.blocks[0] == {"type": "markdown", "text": last.text}

        await env.slack.press_button(CHANNEL, last.ts, FEEDBACK_ACTION, user="U2")
        await env.wait(lambda: len(env.slack.command_responses) == 1)
        (answer,) = env.slack.command_responses
        assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
        assert "Thanks" in answer["text"]
        thread = ThreadKey("slack", "T1", CHANNEL, root)
        rating = await ratings.recorded(thread, root, "positive")
        assert "U2" not in json.dumps(rating)

        assert (
            "Forgotten"
            in (await env.slack.slash("forget confirm", user="UADMIN", channel=CHANNEL))["text"]
        )
        assert await ratings.kept(thread) == []
        await env.slack.press_button(
            CHANNEL, last.ts, FEEDBACK_ACTION, user="U2", choice="negative"
        )
        await env.wait(lambda: "no longer kept" in env.slack.command_responses[-1]["text"])
        refusal = env.slack.command_responses[-1]
        assert refusal["response_type"] == "ephemeral" and "forgotten" in refusal["text"]
        await ratings.refused(thread, "negative")


async def test_slack_failed_reply_carries_no_feedback_buttons(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        env.neuroflash.script("Partial text that will be interrupted by an error event.")
        crash = {"message": "model crashed", "code": "internal"}
        env.neuroflash.fail_next("stream", Fault("error_event", after=3, body=crash))
        root = await env.slack.user_post(CHANNEL, "<@UBOT> hello")
        await env.wait(lambda: "could not finish" in env.reply_text(CHANNEL, root), 30)
        assert all(not feedback_elements(m) for m in env.replies(CHANNEL, root))


async def test_discord_feedback_kept_counted_listed_and_refused_after_forget(
    redis_url: str,
    prefix: str,
    ratings_of: Callable[[Runtime], Ratings],
) -> None:
    async with discord_bridge(redis_url, prefix) as env:
        emu = env.discord
        ratings = ratings_of(env.runtime)
        env.neuroflash.script(WORDS)
        post = await emu.user_message(emu.channel.id, "talk at length", mentions_bot=True)
        await env.wait(lambda: any("tbfb:" in str(m.components) for m in emu.bot_messages(post.id)))
        *earlier, last = emu.bot_messages(post.id)
        assert earlier and all(m.components == [] for m in earlier)
        (row,) = last.components
        ids = [button["custom_id"] for button in row["components"]]
        down = control_value(Vote.DOWN, str(post.id))
        assert ids == [control_value(Vote.UP, str(post.id)), down]

        pressed = await emu.components.press_button(last, down)
        await env.wait(lambda: bool(pressed.callbacks))
        (callback,) = pressed.callbacks
        assert callback["type"] == 4 and callback["data"]["flags"] & EPHEMERAL
        assert "Thanks" in callback["data"]["content"]
        thread = ThreadKey("discord", str(emu.guild.id), str(emu.channel.id), str(post.id))
        await ratings.recorded(thread, str(post.id), "negative", since="2000-01-01")

        channel = emu.world.channels[post.id]
        assert "Forgotten" in await discord_slash(env, channel, "forget", confirm=True)
        again = await emu.components.press_button(last, down)
        await env.wait(lambda: bool(again.callbacks))
        assert again.callbacks[0]["data"]["flags"] & EPHEMERAL
        assert "forgotten" in again.callbacks[0]["data"]["content"]
        await ratings.refused(thread, "negative", counted=1)


def test_since_reads_ages_and_iso_dates() -> None:
    assert since("7d", now=1_000_000.0) == 1_000_000.0 - 7 * 86400
    assert since("30m", now=1000.0) == 1000.0 - 1800
    assert since("1970-01-02") == 86400.0
    assert since("1970-01-01T01:00:00+01:00") == 0.0
    with pytest.raises(argparse.ArgumentTypeError):
        since("last week")
