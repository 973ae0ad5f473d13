"""Reasoning kept apart, end to end on Slack and Discord with the OpenAI-compatible emulator
(real slack-bolt / discord.py, real Redis): reasoning in a `reasoning_content` / `reasoning`
field or as `<think>` cut across SSE chunks never reads as the answer; "Thinking…" shows before
the first answer text and the answer replaces it (BRIDGE_SHOW_REASONING=off); `collapsed`
quotes it once above the answer; the history sent back holds the answers alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from emulators.discord.state import Message as DiscordMessage
from emulators.openai_compat import OpenAIEmulator
from tests.harness import Env, with_openai

CHANNEL = "C1"
REASONING = "The user asks for the answer.\nI recall it is forty-two; say so briefly."
ANSWER = "The answer is **42**. ✓"
FOLLOW_UP = "Still 42."
THINKING = "💭 Thinking…"


@asynccontextmanager
async def reasoning_bridge(
    redis_url: str, prefix: str, field: str | None, **values: Any
) -> AsyncIterator[tuple[Env, OpenAIEmulator]]:
    """A bridge on the OpenAI emulator whose replies reason for about a second first."""
    async with with_openai(redis_url, prefix, **values) as (env, openai):
        openai.reasoning_field = field
        openai.style.chunk_chars = 2
        openai.style.tokens_per_second = 40.0
        yield env, openai


def no_reasoning(text: str) -> bool:
    return "forty-two" not in text and "<think" not in text and "think>" not in text


def history_has_no_reasoning(openai: OpenAIEmulator) -> None:
    """The follow-up's request: earlier turns are the questions and the answers alone."""
    assistant = [m for m in openai.sent[-1] if m["role"] == "assistant"]
    assert assistant == [{"role": "assistant", "content": ANSWER}]
    assert all("reasoning_content" not in m and "reasoning" not in m for m in openai.sent[-1])


def discord_writes(env: Env, channel_id: int) -> list[str]:
    """Every content the bot posted or edited in the channel, in order."""
    return [
        c.body["content"]
        for c in env.discord.calls_to(f"/channels/{channel_id}/messages")
        if c.method in ("POST", "PATCH") and isinstance(c.body, dict) and "content" in c.body
    ]


async def test_slack_reasoning_field_shows_thinking_then_the_answer(
    redis_url: str, prefix: str
) -> None:
    async with reasoning_bridge(redis_url, prefix, "reasoning_content") as (env, openai):
        openai.script(ANSWER, FOLLOW_UP)
        openai.think(REASONING, REASONING)
        root = await env.slack.user_post(CHANNEL, "<@UBOT> what is the answer?")
        await env.wait_reply(CHANNEL, root, ANSWER)
        (reply,) = env.replies(CHANNEL, root)
        assert reply.edits[0] == THINKING
        assert reply.edits[-1] == ANSWER
        assert all(no_reasoning(text) for text in reply.edits), reply.edits
        assert all(THINKING not in text for text in reply.edits[1:]), reply.edits
        await env.slack.user_post(CHANNEL, "and again?", thread_ts=root)
        await env.wait_reply(CHANNEL, root, ANSWER + FOLLOW_UP)
        history_has_no_reasoning(openai)


async def test_slack_think_tags_across_chunks_collapsed_once_above_the_answer(
    redis_url: str, prefix: str
) -> None:
    values = {"bridge_show_reasoning": "collapsed"}
    async with reasoning_bridge(redis_url, prefix, None, **values) as (env, openai):
        openai.script(ANSWER, FOLLOW_UP)
        openai.think(REASONING, REASONING)
        root = await env.slack.user_post(CHANNEL, "<@UBOT> what is the answer?")
        quoted = (
            "> **💭 Reasoning**\n> The user asks for the answer.\n"
            "> I recall it is forty-two; say so briefly.\n\n"
        )
        await env.wait_reply(CHANNEL, root, quoted + ANSWER)
        (reply,) = env.replies(CHANNEL, root)
        assert reply.edits[0] == THINKING
        assert all("<think" not in text and "think>" not in text for text in reply.edits)
        assert all(text.count("💭 Reasoning") <= 1 for text in reply.edits)
        await env.slack.user_post(CHANNEL, "and again?", thread_ts=root)
        await env.wait_reply(CHANNEL, root, quoted + ANSWER + quoted + FOLLOW_UP)
        history_has_no_reasoning(openai)


async def test_discord_think_tags_across_chunks_kept_out_of_the_answer(
    redis_url: str, prefix: str
) -> None:
    values = {"slack": False, "discord": True, "bridge_locale": "de"}
    async with reasoning_bridge(redis_url, prefix, None, **values) as (env, openai):
        emu = env.discord
        openai.script(ANSWER, FOLLOW_UP)
        openai.think(REASONING, REASONING)
        post = await emu.user_message(emu.channel.id, "what is the answer?", mentions_bot=True)
        await env.wait(lambda: env.discord_text(post.id) == ANSWER)
        writes = discord_writes(env, post.id)
        assert writes[0] == "💭 Denkt nach…"
        assert writes[-1] == ANSWER
        assert all(no_reasoning(text) for text in writes), writes
        await emu.user_message(post.id, "and again?")
        await env.wait(lambda: env.discord_text(post.id) == ANSWER + FOLLOW_UP)
        history_has_no_reasoning(openai)


async def test_discord_reasoning_field_collapsed(redis_url: str, prefix: str) -> None:
    values = {"slack": False, "discord": True, "bridge_show_reasoning": "collapsed"}
    async with reasoning_bridge(redis_url, prefix, "reasoning", **values) as (env, openai):
        emu = env.discord
        openai.script(ANSWER)
        openai.think(REASONING)
        post = await emu.user_message(emu.channel.id, "what is the answer?", mentions_bot=True)
        await env.wait(lambda: env.discord_text(post.id).endswith(ANSWER))
        (reply,) = emu.bot_messages(post.id)
        assert_collapsed(reply)
        writes = discord_writes(env, post.id)
        assert writes[0] == THINKING
        assert all(THINKING not in text for text in writes[1:]), writes


def assert_collapsed(reply: DiscordMessage) -> None:
    label, *quoted, blank, answer = reply.content.split("\n")
    assert label == "> **💭 Reasoning**"
    assert quoted == [
        "> The user asks for the answer.",
        "> I recall it is forty-two; say so briefly.",
    ]
    assert (blank, answer) == ("", ANSWER)
