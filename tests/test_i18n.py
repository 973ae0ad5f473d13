"""The bot's own texts in English and German, from the user's locale or BRIDGE_LOCALE."""

from __future__ import annotations

import asyncio

from bridge.i18n import CATALOG, language, text
from tests.harness import discord_bridge, slack_bridge
from tests.test_busy_policies import CHANNEL, SLOW

EPHEMERAL = 64


def test_language_choice() -> None:
    assert language("de-DE") == "de" and language("de_AT") == "de" and language("de") == "de"
    assert language("fr-FR") == "en"
    assert language(None, "de") == "de" and language("fr", "de") == "de"
    assert text("stopped", "de-CH") == "⏹️ Angehalten."
    assert all(set(entry) == {"en", "de"} for entry in CATALOG.values())


async def test_slack_german_user_gets_german_notices(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        env.slack.add_user("UDE", "Dora", locale="de-DE")
        env.neuroflash.tokens_per_second = 40
        env.neuroflash.hold = asyncio.Event()  # still running when the stop comes
        env.neuroflash.script(SLOW)
        root = await env.slack.user_post(CHANNEL, "<@UBOT> erzähl viel", user="UDE")
        await env.wait(lambda: "A long" in env.reply_text(CHANNEL, root))
        await env.slack.user_post(CHANNEL, "stop", user="UDE", thread_ts=root)
        await env.wait(lambda: env.reply_text(CHANNEL, root).endswith("⏹️ Angehalten."))
        answer = await env.slack.slash("status", user="UDE", channel=CHANNEL)
        assert "Anbieter: neuroflash" in answer["text"]


async def test_discord_bridge_locale_and_interaction_locale(redis_url: str, prefix: str) -> None:
    async with discord_bridge(redis_url, prefix, bridge_locale="de") as env:
        emu = env.discord
        env.neuroflash.tokens_per_second = 40
        env.neuroflash.hold = asyncio.Event()  # still running when the stop comes
        env.neuroflash.script(SLOW)
        post = await emu.user_message(emu.channel.id, "erzähl viel", mentions_bot=True)
        await env.wait(lambda: "A long" in env.discord_text(post.id))
        thread = emu.world.channels[post.id]
        body = await emu.interactions.run(thread, "threadbridge", "stop", locale="de")
        assert body["data"]["content"] == "Die laufende Antwort wurde angehalten."
        await env.wait(lambda: env.discord_text(post.id).endswith("⏹️ Angehalten."))
        english = await emu.interactions.run(thread, "threadbridge", "status", locale="en-US")
        assert english["data"]["content"].startswith("Provider: neuroflash")
