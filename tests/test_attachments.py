"""Files on posts are never dropped silently.

Every provider gets each file's name and link in the text; the OpenAI-compatible provider also
gets images as `image_url` content parts (Slack images inline as data URLs, fetched with the
bot token, and none for a Slack image that could not be fetched: its link is private; Discord
images by their CDN URL). Real slack-bolt / discord.py, real Redis.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from emulators.openai_compat import OpenAIEmulator
from tests.harness import bridge_env, with_openai

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
CHANNEL = "C1"


def last_user_content(openai: OpenAIEmulator) -> Any:
    return openai.sent[-1][-1]["content"]


async def test_slack_image_part_and_pdf_link_at_openai(redis_url: str, prefix: str) -> None:
    async with with_openai(redis_url, prefix) as (env, openai):
        openai.script("I see a picture and a report.")
        image = env.slack.add_file("chart.png", "image/png", PNG)
        pdf = env.slack.add_file("report.pdf", "application/pdf", b"%PDF-1.4")
        root = await env.slack.user_post(CHANNEL, "<@UBOT> what is this?", files=[image, pdf])
        await env.wait_reply(CHANNEL, root, "I see a picture and a report.")
        text_part, image_part = last_user_content(openai)
        assert text_part["type"] == "text"
        assert text_part["text"].startswith("what is this?")
        assert f"[report.pdf]({pdf['permalink']})" in text_part["text"]
        assert "chart.png" in text_part["text"]
        expected = "data:image/png;base64," + base64.b64encode(PNG).decode()
        assert image_part == {"type": "image_url", "image_url": {"url": expected}}
        fetched = env.slack.calls_to("/files-pri/")
        assert {c.headers["Authorization"] for c in fetched} == {"Bearer xoxb-test"}


async def test_discord_image_part_and_pdf_link_at_openai(redis_url: str, prefix: str) -> None:
    async with with_openai(redis_url, prefix, slack=False, discord=True) as (env, openai):
        emu = env.discord
        openai.script("Seen.")
        image = emu.attachment("photo.jpg", "image/jpeg")
        pdf = emu.attachment("spec.pdf", "application/pdf")
        post = await emu.user_message(
            emu.channel.id, "look", mentions_bot=True, attachments=[image, pdf]
        )
        await env.wait(lambda: env.discord_text(post.id) == "Seen.")
        text_part, image_part = last_user_content(openai)
        assert f"[spec.pdf]({pdf['url']})" in text_part["text"]
        assert image_part == {"type": "image_url", "image_url": {"url": image["url"]}}


async def test_neuroflash_gets_every_file_named(redis_url: str, prefix: str) -> None:
    async with bridge_env(redis_url, prefix) as env:
        env.neuroflash.script("Noted.")
        image = env.slack.add_file("chart.png", "image/png", PNG)
        pdf = env.slack.add_file("report.pdf", "application/pdf", b"%PDF-1.4")
        root = await env.slack.user_post(CHANNEL, "<@UBOT> files", files=[image, pdf])
        await env.wait_reply(CHANNEL, root, "Noted.")
        (call,) = env.neuroflash.calls_to("message-streams", "POST")
        text = call.body["text"]
        assert text.startswith("files")
        assert f"[chart.png]({image['permalink']})" in text
        assert f"[report.pdf]({pdf['permalink']})" in text


async def test_slack_image_without_files_read_stays_a_link(redis_url: str, prefix: str) -> None:
    """Without `files:read` Slack answers the file URL with its HTML sign-in page (status
    200): that page is not sent to the model as an image; the file stays its named link."""
    async with with_openai(redis_url, prefix) as (env, openai):
        env.slack.bot_scopes.remove("files:read")
        openai.script("I see a link.")
        image = env.slack.add_file("chart.png", "image/png", PNG)
        root = await env.slack.user_post(CHANNEL, "<@UBOT> what is this?", files=[image])
        await env.wait_reply(CHANNEL, root, "I see a link.")
        assert env.slack.calls_to("/files-pri/"), "the download was tried"
        # Only the named link: the model server could not fetch a private Slack permalink.
        content = last_user_content(openai)
        assert isinstance(content, str) and f"[chart.png]({image['permalink']})" in content


async def test_a_slow_slack_image_does_not_hold_the_events_ack(redis_url: str, prefix: str) -> None:
    """The event's ack waits for the image downloads, and Slack wants it within 3 s: a file
    server that does not answer costs at most the download deadline; the image stays a link."""
    async with with_openai(redis_url, prefix) as (env, openai):
        env.slack.hold_files = held = asyncio.Event()
        try:
            openai.script("Seen as a link.")
            image = env.slack.add_file("chart.png", "image/png", PNG)
            acked = len(env.slack.socket.acks)
            root = await env.slack.user_post(CHANNEL, "<@UBOT> look", files=[image], wait=True)
            # Both events (app_mention, message) acked while the download is still held.
            assert len(env.slack.socket.acks) - acked == 2 and not held.is_set()
            await env.wait_reply(CHANNEL, root, "Seen as a link.")
            assert env.slack.calls_to("/files-pri/"), "the download was tried"
            content = last_user_content(openai)
            assert isinstance(content, str) and f"[chart.png]({image['permalink']})" in content
        finally:
            held.set()
