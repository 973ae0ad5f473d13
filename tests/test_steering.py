"""Per-channel steering reaches every provider as its seed describes, and Azure
OpenAI works through the OpenAI-compatible provider.

neuroflash end to end (Slack `/threadbridge config` → create body, then PATCH on the live
conversation); the others at provider level against their emulators, real Redis store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bridge.contracts import Conversation
from emulators.converzen import ConverzenEmulator
from emulators.openai_compat import OpenAIEmulator
from emulators.senseflow import SenseflowEmulator
from tests.harness import slack_bridge
from tests.provider_kit import (
    THREAD,
    ConverzenKit,
    OpenAIKit,
    SenseflowKit,
    collect,
    final,
    user_post,
    with_kits,
)

CHANNEL = "C1"


async def test_neuroflash_channel_steering_and_live_patch(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        env.slack.add_user("UADMIN", "Ada", admin=True)
        for name, value in [
            ("personality", "A cheerful pirate"),
            ("brand_voice", "bv-1"),
            ("target_audience", "ta-1"),
            ("model", "gpt-x"),
        ]:
            await env.slack.slash(f"config {name} {value}", user="UADMIN", channel=CHANNEL)
        env.neuroflash.script("Arr.")
        root = await env.slack.user_post(CHANNEL, "<@UBOT> hello", user="UADMIN")
        await env.wait_reply(CHANNEL, root, "Arr.")
        (created,) = [
            c.body
            for c in env.neuroflash.calls_to("/conversations", "POST")
            if c.path.endswith("/conversations")
        ]
        assert created == {
            "personality": "A cheerful pirate",
            "brandVoiceId": "bv-1",
            "targetAudienceId": "ta-1",
            "modelName": "gpt-x",
        }

        answer = await env.slack.slash(
            "config personality A calm poet", user="UADMIN", channel=CHANNEL
        )
        assert "from now on" in answer["text"]
        model_only = await env.slack.slash("config model gpt-y", user="UADMIN", channel=CHANNEL)
        assert "from now on" not in model_only["text"]
        (patch,) = env.neuroflash.calls_to("/conversations/", "PATCH")
        assert patch.body == {"personality": "A calm poet"}
        (conversation,) = env.neuroflash.conversations.values()
        assert conversation.steering["personality"] == "A calm poet"
        assert conversation.steering["brandVoiceId"] == "bv-1"


@with_kits(ConverzenKit(converzen_persona="47:next"))
async def test_converzen_persona_from_the_channel(
    make_provider: Callable[..., Any], emu: ConverzenEmulator
) -> None:
    provider = make_provider()
    steered = Conversation("converzen", None, THREAD, {"persona": "brand-bot"})
    assert final(await collect(provider, steered, user_post()))
    plain = Conversation("converzen", None, THREAD)
    assert final(await collect(provider, plain, user_post(2)))
    bodies = [c.body for c in emu.calls_to("get_token")]
    assert bodies[0]["persona"] == {"alias": "brand-bot"}
    assert bodies[1]["persona"] == {"persona_id": 47, "version_type": "next"}


@with_kits(SenseflowKit())
async def test_senseflow_agent_from_the_channel(
    make_provider: Callable[..., Any], emu: SenseflowEmulator
) -> None:
    emu.agents.add("support-agent")
    provider = make_provider()
    steered = Conversation("senseflow", None, THREAD, {"agent": "support-agent"})
    assert final(await collect(provider, steered, user_post()))
    (chat,) = [c.body for c in emu.calls_to("chat-messages")]
    assert chat["model"] == "support-agent"


async def openai_call(
    make_provider: Callable[..., Any], emu: OpenAIEmulator, steering: dict[str, str], **extra: Any
) -> Any:
    provider = make_provider(**extra)
    conversation = Conversation("openai", "c1", THREAD, steering)
    assert final(await collect(provider, conversation, user_post()))
    return emu.calls_to("/chat/completions")[-1]


@with_kits(OpenAIKit())
async def test_openai_model_and_system_prompt_from_the_channel(
    make_provider: Callable[..., Any], emu: OpenAIEmulator
) -> None:
    call = await openai_call(make_provider, emu, {"model": "qwen2", "system_prompt": "Be brief."})
    assert call.body["model"] == "qwen2"
    assert call.body["messages"][0] == {"role": "system", "content": "Be brief."}


@with_kits(OpenAIKit())
async def test_azure_openai_api_key_and_version(
    make_provider: Callable[..., Any], emu: OpenAIEmulator
) -> None:
    emu.api_key = "azure-key"
    emu.azure_api_version = "2024-10-21"
    call = await openai_call(
        make_provider,
        emu,
        {},
        openai_base_url=emu.azure_url("gpt4o"),
        openai_api_key="azure-key",
        openai_api_style="azure",
    )
    assert call.path == "/openai/deployments/gpt4o/chat/completions"
    assert call.query == {"api-version": "2024-10-21"}
    assert call.headers["api-key"] == "azure-key"
    assert "Authorization" not in call.headers
