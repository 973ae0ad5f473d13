"""Messenger faults during a reply lose nothing, and every refusal has an outcome.

Real Redis, real slack_sdk/slack-bolt and discord.py; Slack, Discord and neuroflash are emulators.
"""

from __future__ import annotations

import asyncio

import pytest

from adapters.slack.format import PAGE_LIMIT
from emulators.base import Fault
from tests.harness import Env, discord_bridge, slack_bridge

CHANNEL = "C1"
MENTION = "<@UBOT>"
FAST_RETRY = {"bridge_retry_base_seconds": 0.2}
EDIT_PATH = {**FAST_RETRY, "slack_reply_mode": "edit"}
"""Post + chat.update, where Slack's msg_too_long and edit refusals are met."""


def metric(env: Env, name: str, **labels: str) -> float:
    return env.runtime.metrics.value(name, **labels)


async def pending(env: Env) -> int:
    assert env.runtime.dispatcher is not None
    return await env.runtime.dispatcher._inbox.pending()


async def drained(env: Env, timeout: float = 10.0) -> int:
    """The inbox's pending count once it reaches 0, or as it stands at `timeout`: the metrics
    of a given-up reply are counted a few Redis round trips before its entry is acked."""
    for _ in range(int(timeout / 0.05)):
        if not await pending(env):
            return 0
        await asyncio.sleep(0.05)
    return await pending(env)


@pytest.mark.parametrize(
    ("mode", "first_write"),
    [("edit", "chat.postMessage"), ("stream", "chat.startStream")],
    ids=["edit", "stream"],
)
async def test_500_on_first_post_message_still_answers_exactly_once(
    redis_url: str, prefix: str, mode: str, first_write: str
) -> None:
    async with slack_bridge(redis_url, prefix, **FAST_RETRY, slack_reply_mode=mode) as env:
        env.slack.fail_next(first_write, Fault("status", status=500))
        env.neuroflash.script("Answered after all.")
        root = await env.slack.user_post(CHANNEL, f"{MENTION} hello")
        await env.wait_reply(CHANNEL, root, "Answered after all.")
        assert env.slack.calls_to(first_write)
        assert len(env.replies(CHANNEL, root)) == 1
        assert len(env.neuroflash.calls_to("message-streams", "POST")) == 1
        await env.wait(lambda: metric(env, "replies_total", outcome="done") == 1)


async def test_reply_refused_as_too_long_is_written_in_smaller_pages(
    redis_url: str, prefix: str
) -> None:
    """Slack answers msg_too_long for pages the bridge thought fit: nothing may be cut off."""
    paragraph = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 6).strip()
    text = "\n\n".join(f"{i}. {paragraph}" for i in range(26))
    assert len(text) > 2 * PAGE_LIMIT
    async with slack_bridge(redis_url, prefix, **EDIT_PATH) as env:
        env.slack.markdown_limit = 2000
        env.neuroflash.script(text)
        root = await env.slack.user_post(CHANNEL, f"{MENTION} a long one please")
        await env.wait_reply(CHANNEL, root, text, timeout=60)
        assert all(len(m.text) <= 2000 for m in env.replies(CHANNEL, root))
        assert metric(env, "messenger_write_failures_total", platform="slack") == 0


async def test_archived_channel_is_given_up_with_a_metric_not_retried_forever(
    redis_url: str, prefix: str
) -> None:
    async with slack_bridge(redis_url, prefix, **EDIT_PATH) as env:
        env.slack.fail_next("chat.update", Fault("error", body="is_archived"), times=1000)
        env.neuroflash.script("This will never be shown.")
        root = await env.slack.user_post(CHANNEL, f"{MENTION} hello")
        await env.wait(
            lambda: metric(env, "messenger_write_failures_total", platform="slack") == 1, timeout=30
        )
        await env.wait(lambda: metric(env, "replies_total", outcome="undeliverable") == 1)
        assert await drained(env) == 0
        assert len(env.slack.calls_to("chat.update")) < 10
        assert metric(env, "dead_letters_total") == 0
        env.slack.clear_faults("chat.update")
        env.neuroflash.script("Second answer.")
        await env.slack.user_post(CHANNEL, "again", thread_ts=root)
        await env.wait(lambda: env.reply_text(CHANNEL, root).endswith("Second answer."))


async def test_discord_missing_permissions_is_given_up_not_retried_forever(
    redis_url: str, prefix: str
) -> None:
    async with discord_bridge(redis_url, prefix, **FAST_RETRY) as env:
        emu = env.discord
        dm = emu.dm_channel(emu.user)
        denied = Fault("status", status=403, body={"message": "Missing Permissions", "code": 50013})
        emu.fail_next("create_message", denied, times=1000)
        env.neuroflash.script("Never shown.", "Shown.")
        await emu.user_message(dm.id, "hi", guild=False)
        await env.wait(
            lambda: metric(env, "messenger_write_failures_total", platform="discord") == 1,
            timeout=30,
        )
        assert await drained(env) == 0
        assert len(emu.calls_to(f"/channels/{dm.id}/messages", "POST")) < 10
        emu.clear_faults("create_message")
        await emu.user_message(dm.id, "again", guild=False)
        await env.wait(lambda: env.discord_text(dm.id) == "Shown.")
