"""Issue 11: per-channel steering reaches every provider as its seed describes, and Azure
OpenAI works through the OpenAI-compatible provider.

neuroflash end to end (Slack `/threadbridge config` → create body, then PATCH on the live
conversation); the others at provider level against their emulators, real Redis store.
"""

from __future__ import annotations

from typing import Any

from bridge.config import Settings
from bridge.contracts import Conversation, ThreadKey, UserPost
from bridge.providers.converzen import ConverzenProvider
from bridge.providers.openai_compat import OpenAICompatProvider
from bridge.providers.senseflow import SenseflowProvider
from bridge.store import Store
from emulators.converzen import TEST_KEY, ConverzenEmulator
from emulators.openai_compat import OpenAIEmulator
from emulators.senseflow import AGENT, API_KEY, SenseflowEmulator
from tests.conftest import provider_context
from tests.harness import slack_bridge
from tests.provider_events import collect, final

THREAD = ThreadKey("slack", "T1", "C1", "1700000000.000100")
CHANNEL = "C1"


def post(text: str = "hi", n: int = 1) -> UserPost:
    return UserPost(THREAD, f"m{n}", "U1", text, 1700000000.0 + n)


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


async def test_converzen_persona_from_the_channel(store: Store) -> None:
    emu = ConverzenEmulator()
    await emu.start()
    settings = Settings(
        converzen_api_key=TEST_KEY, converzen_api_url=emu.api_url, converzen_persona="47:next"
    )
    provider = ConverzenProvider(provider_context(settings, store))
    try:
        steered = Conversation("converzen", None, THREAD, {"persona": "brand-bot"})
        assert final(await collect(provider, steered, post()))
        plain = Conversation("converzen", None, THREAD)
        assert final(await collect(provider, plain, post(n=2)))
        bodies = [c.body for c in emu.calls_to("get_token")]
        assert bodies[0]["persona"] == {"alias": "brand-bot"}
        assert bodies[1]["persona"] == {"persona_id": 47, "version_type": "next"}
    finally:
        await provider.aclose()
        await emu.stop()


async def test_senseflow_agent_from_the_channel(store: Store) -> None:
    emu = SenseflowEmulator()
    emu.agents.add("support-agent")
    await emu.start()
    settings = Settings(
        senseflow_api_key=API_KEY, senseflow_agent=AGENT, senseflow_api_url=emu.api_url
    )
    provider = SenseflowProvider(provider_context(settings, store))
    try:
        steered = Conversation("senseflow", None, THREAD, {"agent": "support-agent"})
        assert final(await collect(provider, steered, post()))
        (chat,) = [c.body for c in emu.calls_to("chat-messages")]
        assert chat["model"] == "support-agent"
    finally:
        await provider.aclose()
        await emu.stop()


async def openai_call(
    emu: OpenAIEmulator, store: Store, steering: dict[str, str], **extra: Any
) -> Any:
    values: dict[str, Any] = {"openai_base_url": emu.base_url, "openai_model": "llama3"} | extra
    provider = OpenAICompatProvider(provider_context(Settings(**values), store))
    try:
        conversation = Conversation("openai", "c1", THREAD, steering)
        assert final(await collect(provider, conversation, post()))
    finally:
        await provider.aclose()
    return emu.calls_to("/chat/completions")[-1]


async def test_openai_model_and_system_prompt_from_the_channel(store: Store) -> None:
    emu = OpenAIEmulator()
    await emu.start()
    try:
        call = await openai_call(emu, store, {"model": "qwen2", "system_prompt": "Be brief."})
        assert call.body["model"] == "qwen2"
        assert call.body["messages"][0] == {"role": "system", "content": "Be brief."}
    finally:
        await emu.stop()


async def test_azure_openai_api_key_and_version(store: Store) -> None:
    emu = OpenAIEmulator(api_key="azure-key")
    emu.azure_api_version = "2024-10-21"
    await emu.start()
    try:
        call = await openai_call(
            emu,
            store,
            {},
            openai_base_url=emu.azure_url("gpt4o"),
            openai_api_key="azure-key",
            openai_api_style="azure",
        )
        assert call.path == "/openai/deployments/gpt4o/chat/completions"
        assert call.query == {"api-version": "2024-10-21"}
        assert call.headers["api-key"] == "azure-key"
        assert "Authorization" not in call.headers
    finally:
        await emu.stop()
