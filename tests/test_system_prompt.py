"""BRIDGE_SYSTEM_PROMPT: one system prompt for the whole deployment, for every provider whose
API takes one; a channel's `/threadbridge config system_prompt …` overrides it.

Which APIs take one (their documents, seeds 000–004 and OpenAI's chat API):
- OpenAI-compatible: a `{"role": "system"}` message leads `messages` on every request.
- neuroflash v1: `personality`, "free-text personality description woven into the system
  prompt" of the conversation (create body, seed 002; PATCH on a live conversation).
- neuroflash prototype: none (a message has only `role` user and `content`, seeds 000/001).
- converzen: none (a persona, chosen by selector, carries its own prompt; seed 003).
- SenseFlow: none (the agent, named by `model`, carries its own prompt; seed 004).

End to end from Slack, real Redis; the providers are emulators that record every request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from bridge.contracts import Conversation
from tests.harness import Env, slack_bridge, with_openai
from tests.provider_kit import (
    THREAD,
    ConverzenKit,
    Kit,
    PrototypeKit,
    SenseflowKit,
    collect,
    final,
    user_post,
    with_kits,
)

DEPLOYMENT = "You answer for Example Corp. Be brief."
CHANNEL_PROMPT = "You are the support desk of team blue."
PLAIN, STEERED = "C1", "C2"
ADMIN = "UADMIN"


async def steer_channel(env: Env, channel: str, name: str, value: str) -> None:
    env.slack.add_user(ADMIN, "Ada", admin=True)
    answer = await env.slack.slash(f"config {name} {value}", user=ADMIN, channel=channel)
    assert value in answer["text"], answer


async def ask(env: Env, channel: str, text: str, expected: str) -> str:
    root = await env.slack.user_post(channel, f"<@UBOT> {text}")
    await env.wait_reply(channel, root, expected)
    return root


def system_of(messages: list[dict[str, Any]]) -> list[Any]:
    return [m["content"] for m in messages if m["role"] == "system"]


async def test_openai_gets_the_deployment_prompt_unless_the_channel_sets_one(
    redis_url: str, prefix: str
) -> None:
    async with with_openai(redis_url, prefix, bridge_system_prompt=DEPLOYMENT) as (env, openai):
        openai.script("Hi from the deployment.", "Again.", "Hi from team blue.")
        root = await ask(env, PLAIN, "hello", "Hi from the deployment.")
        await env.slack.user_post(PLAIN, "and again", thread_ts=root)
        await env.wait_reply(PLAIN, root, "Hi from the deployment.Again.")
        first, second = openai.sent
        assert first[0] == {"role": "system", "content": DEPLOYMENT}
        assert system_of(second) == [DEPLOYMENT]

        await steer_channel(env, STEERED, "system_prompt", CHANNEL_PROMPT)
        await ask(env, STEERED, "hello", "Hi from team blue.")
        assert system_of(openai.sent[-1]) == [CHANNEL_PROMPT]


async def test_openai_without_a_prompt_sends_no_system_message(redis_url: str, prefix: str) -> None:
    async with with_openai(redis_url, prefix) as (env, openai):
        openai.script("Plain.")
        await ask(env, PLAIN, "hello", "Plain.")
        assert system_of(openai.sent[-1]) == []


def created_bodies(env: Env) -> list[Any]:
    calls = env.neuroflash.calls_to("/conversations", "POST")
    return [c.body for c in calls if c.path.endswith("/conversations")]


async def test_neuroflash_gets_the_deployment_prompt_as_personality(
    redis_url: str, prefix: str
) -> None:
    async with slack_bridge(redis_url, prefix, bridge_system_prompt=DEPLOYMENT) as env:
        env.neuroflash.script("Deployment.", "Team blue.")
        await ask(env, PLAIN, "hello", "Deployment.")
        await steer_channel(env, STEERED, "system_prompt", CHANNEL_PROMPT)
        await ask(env, STEERED, "hello", "Team blue.")
        assert created_bodies(env) == [
            {"personality": DEPLOYMENT},
            {"personality": CHANNEL_PROMPT},
        ]


async def test_neuroflash_personality_setting_beats_the_deployment_prompt(
    redis_url: str, prefix: str
) -> None:
    """NEUROFLASH_PERSONALITY names neuroflash's own field: the more specific setting wins."""
    async with slack_bridge(
        redis_url, prefix, bridge_system_prompt=DEPLOYMENT, neuroflash_personality="A pirate"
    ) as env:
        env.neuroflash.script("Arr.")
        await ask(env, PLAIN, "hello", "Arr.")
        assert created_bodies(env) == [{"personality": "A pirate"}]


async def test_neuroflash_live_conversation_takes_a_channel_prompt_and_its_clearing(
    redis_url: str, prefix: str
) -> None:
    """`config system_prompt` in a thread PATCHes the live conversation's personality;
    clearing it goes back to what a new conversation would get, the deployment prompt."""
    async with slack_bridge(redis_url, prefix, bridge_system_prompt=DEPLOYMENT) as env:
        env.neuroflash.script("Deployment.")
        root = await ask(env, PLAIN, "hello", "Deployment.")
        env.slack.add_user(ADMIN, "Ada", admin=True)
        await env.slack.user_post(PLAIN, "noted", thread_ts=root, user=ADMIN)
        await env.wait(lambda: len(env.replies(PLAIN, root)) == 2)
        command = f"config system_prompt {CHANNEL_PROMPT}"
        answer = await env.slack.slash(command, user=ADMIN, channel=PLAIN)
        assert "from now on" in answer["text"], answer
        await env.slack.slash("config system_prompt -", user=ADMIN, channel=PLAIN)
        patches = [c.body for c in env.neuroflash.calls_to("/conversations/", "PATCH")]
        assert patches == [{"personality": CHANNEL_PROMPT}, {"personality": DEPLOYMENT}]


@with_kits(PrototypeKit(), ConverzenKit(), SenseflowKit())
async def test_providers_without_a_system_prompt_say_so_and_send_none(
    kit: Kit, make_provider: Callable[..., Any], emu: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Their APIs have no field for it: the prompt is not smuggled into a user message, and
    the log says once, when the provider is built, that the setting does not reach it."""
    with caplog.at_level(logging.WARNING):
        provider = make_provider(bridge_system_prompt=DEPLOYMENT)
    (warning,) = [r.getMessage() for r in caplog.records if "BRIDGE_SYSTEM_PROMPT" in r.message]
    assert kit.name in warning
    conversation = Conversation(kit.name, await provider.open(THREAD, {}), THREAD)
    assert final(await collect(provider, conversation, user_post()))
    assert emu.calls
    assert not [c for c in emu.calls if DEPLOYMENT in json.dumps(c.body)]
