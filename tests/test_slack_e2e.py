"""End to end: Slack threads become neuroflash conversations, streamed live.

Real Redis, real slack-bolt/slack_sdk (Socket Mode and signed HTTP), real httpx-sse, the
bridge's own runtime; Slack and neuroflash are the emulators on loopback.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from adapters.slack.format import PAGE_LIMIT
from bridge.contracts.toolkit.split import open_fence
from emulators.base import Fault
from tests.harness import BARRIER, BARRIER_ANSWER, Env, rate_for, slack_bridge

CHANNEL = "C1"
MENTION = "<@UBOT>"


def streams(env: Env) -> list[dict[str, str]]:
    return [c.body for c in env.neuroflash.calls_to("message-streams", "POST")]


async def converse(env: Env, texts: list[str], replies: list[str]) -> str:
    """Mention the bot, then post follow-ups in its thread; wait for each reply in turn."""
    env.neuroflash.script(*replies)
    root = await env.slack.user_post(CHANNEL, f"{MENTION} {texts[0]}")
    expected = ""
    for i, text in enumerate(texts):
        if i:
            await env.slack.user_post(CHANNEL, text, thread_ts=root)
        expected += replies[i]
        await env.wait_reply(CHANNEL, root, expected)
    return root


@pytest.mark.parametrize("socket_mode", [True, False], ids=["socket", "http"])
async def test_thread_is_one_conversation(redis_url: str, prefix: str, socket_mode: bool) -> None:
    async with slack_bridge(redis_url, prefix, socket_mode=socket_mode) as env:
        replies = ["First answer.", "Second answer.", "Third answer."]
        root = await converse(env, ["hello there", "and then?", "thanks"], replies)
        assert len(env.neuroflash.conversations) == 1
        assert [s["text"] for s in streams(env)] == ["hello there", "and then?", "thanks"]
        bot = env.replies(CHANNEL, root)
        assert [m.text for m in bot] == replies
        assert all(m.thread_ts == root for m in bot)


async def test_bad_signature_is_refused(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix, socket_mode=False) as env:
        ts = env.slack.workspace.next_ts()
        event = {
            "type": "app_mention",
            "user": "U1",
            "text": f"{MENTION} hi",
            "ts": ts,
            "channel": CHANNEL,
            "channel_type": "channel",
        }
        status = await env.slack.deliver(event, bad_signature=True)
        assert status == 401
        await env.slack_barrier(CHANNEL)
        assert env.replies(CHANNEL, ts) == []
        assert [s["text"] for s in streams(env)] == [BARRIER]


async def test_slow_reply_grows_in_place(redis_url: str, prefix: str) -> None:
    text = (
        "Grüße! 😀👩‍👩‍👧 Here is code:\n\n```python\ndef greet():\n    return 'hé'\n```\n\n"
        "And a list:\n\n- one\n- two — ✓\n\n日本語のテキストも。"
    )
    rate = rate_for(text, 4.5)
    async with slack_bridge(
        redis_url, prefix, tokens_per_second=rate, slack_reply_mode="edit"
    ) as env:
        env.neuroflash.script(text)
        root = await env.slack.user_post(CHANNEL, f"{MENTION} stream slowly")
        await env.wait_reply(CHANNEL, root, text, timeout=30)
        (message,) = env.replies(CHANNEL, root)
        shown = list(message.edits)
        assert len(shown) >= 3, shown
        assert shown[-1] == text
        for interim in shown[:-1]:
            assert open_fence(interim) is None
            assert text.startswith(interim.rstrip("`\n")[: len(interim) // 2])


async def test_retried_event_gets_one_reply(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        env.neuroflash.script("Only once.")
        ts = await env.slack.user_post(CHANNEL, f"{MENTION} hi", wait=True)
        first = env.slack.deliveries[0]
        for retry in (1, 2):
            acked = await env.slack.deliver(
                first.event, event_id=first.event_id, retry_num=retry, retry_reason="timeout"
            )
            assert acked
        await env.wait_reply(CHANNEL, ts, "Only once.")
        await env.slack_barrier(CHANNEL, ts)
        assert [m.text for m in env.replies(CHANNEL, ts)] == ["Only once.", BARRIER_ANSWER]
        assert [s["text"] for s in streams(env)] == ["hi", BARRIER]
        assert env.neuroflash.llm_runs == 2


async def test_bots_and_edit_echoes_are_ignored(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        env.neuroflash.script("Hello human.")
        root = await env.slack.user_post(CHANNEL, f"{MENTION} hi")
        await env.wait_reply(CHANNEL, root, "Hello human.")
        ts = env.slack.workspace.next_ts()
        await env.slack.deliver(
            {
                "type": "message",
                "subtype": "bot_message",
                "bot_id": "B9",
                "text": "beep",
                "ts": ts,
                "thread_ts": root,
                "channel": CHANNEL,
                "channel_type": "channel",
            }
        )
        await env.slack.deliver(
            {
                "type": "message",
                "subtype": "message_changed",
                "channel": CHANNEL,
                "ts": env.slack.workspace.next_ts(),
                "message": {"user": "U1", "text": f"{MENTION} edited", "ts": root},
                "channel_type": "channel",
            }
        )
        await env.slack_barrier(CHANNEL, root)
        assert [s["text"] for s in streams(env)] == ["hi", BARRIER]
        assert [m.text for m in env.replies(CHANNEL, root)] == ["Hello human.", BARRIER_ANSWER]


async def test_racing_posts_make_one_conversation(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        env.neuroflash.script("Answer one.", "Answer two.")
        root = await env.slack.user_post(CHANNEL, f"{MENTION} first")
        await asyncio.sleep(0.005)
        await env.slack.user_post(CHANNEL, f"{MENTION} second", thread_ts=root)
        await env.wait_reply(CHANNEL, root, "Answer one.Answer two.")
        assert len(env.neuroflash.conversations) == 1
        # Slack delivers the two events side by side; either may be taken in first.
        assert sorted(s["text"] for s in streams(env)) == ["first", "second"]


async def test_long_reply_spans_messages(redis_url: str, prefix: str) -> None:
    block = "```python\n" + "".join(f"print({i})\n" for i in range(60)) + "```\n\n"
    para = "A sentence that goes on for a while to fill the paragraph nicely. " * 6 + "\n\n"
    text = ""
    while len(text) < 10_000:
        text += para * 4 + block
    text += "The end."
    async with slack_bridge(redis_url, prefix, tokens_per_second=5000) as env:
        env.neuroflash.script(text)
        root = await env.slack.user_post(CHANNEL, f"{MENTION} long please")
        await env.wait(lambda: len(env.replies(CHANNEL, root)) >= 3, timeout=30)
        await env.wait_reply(CHANNEL, root, text, timeout=30)
        pages = [m.text for m in env.replies(CHANNEL, root)]
        assert len(pages) >= 3
        assert all(len(p) <= PAGE_LIMIT for p in pages)
        assert all(open_fence(p) is None for p in pages)


def logged_under_ref(text: str, caplog: pytest.LogCaptureFixture, *details: str) -> None:
    """The thread shows a reference and no provider detail; the log has both, on one line."""
    found = re.search(r"\(ref ([0-9a-f]{6})\)$", text)
    assert found, text
    assert not any(detail in text for detail in details), text
    lines = [r.getMessage() for r in caplog.records if f"ref {found.group(1)}" in r.getMessage()]
    assert any(all(detail in line for detail in details) for line in lines), lines


async def test_provider_faults_read_well_and_thread_recovers(
    redis_url: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        nf = env.neuroflash
        nf.fail_next("create", Fault("status", 500, body={"message": "database on fire"}))
        root = await env.slack.user_post(CHANNEL, f"{MENTION} hello")
        await env.wait(lambda: "could not start" in env.reply_text(CHANNEL, root))
        logged_under_ref(env.reply_text(CHANNEL, root), caplog, "500", "database on fire")

        nf.script("Recovered fine.")
        await env.slack.user_post(CHANNEL, "try again", thread_ts=root)
        await env.wait(lambda: env.replies(CHANNEL, root)[-1].text == "Recovered fine.")

        nf.script("Partial text that will be interrupted by an error event.")
        nf.fail_next(
            "stream",
            Fault("error_event", after=3, body={"message": "model crashed", "code": "internal"}),
        )
        await env.slack.user_post(CHANNEL, "third", thread_ts=root)
        await env.wait(lambda: "could not finish" in env.replies(CHANNEL, root)[-1].text)
        broken = env.replies(CHANNEL, root)[-1].text
        partial, _, note = broken.partition("\n\n> ")
        assert partial and "Partial text that will be interrupted".startswith(partial)
        assert note.startswith("⚠️ neuroflash could not finish the answer. (ref ")
        logged_under_ref(note, caplog, "model crashed")

        nf.script("After the cut, reconciled.")
        nf.fail_next("stream", Fault("cut", after=2))
        await env.slack.user_post(CHANNEL, "fourth", thread_ts=root)
        await env.wait(lambda: env.replies(CHANNEL, root)[-1].text == "After the cut, reconciled.")

        nf.script("Locked, then fine.")
        nf.fail_next("stream", Fault("status", 409, body={"code": "conversationLocked"}))
        await env.slack.user_post(CHANNEL, "fifth", thread_ts=root)
        await env.wait(lambda: env.replies(CHANNEL, root)[-1].text == "Locked, then fine.")

        nf.script("Token refreshed.")
        nf.revoke_tokens()
        await env.slack.user_post(CHANNEL, "sixth", thread_ts=root)
        await env.wait(lambda: env.replies(CHANNEL, root)[-1].text == "Token refreshed.")
        assert len(nf.conversations) == 1


async def test_dm_thread_is_one_conversation(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        env.neuroflash.script("DM one.", "DM two.", "Other thread.")
        root = await env.slack.user_post("D1", "hi in a DM", channel_type="im")
        await env.wait_reply("D1", root, "DM one.")
        await env.slack.user_post("D1", "and more", thread_ts=root, channel_type="im")
        await env.wait_reply("D1", root, "DM one.DM two.")
        other = await env.slack.user_post("D1", "a new top-level DM", channel_type="im")
        await env.wait_reply("D1", other, "Other thread.")
        assert len(env.neuroflash.conversations) == 2
        assert [s["text"] for s in streams(env)] == ["hi in a DM", "and more", "a new top-level DM"]


async def test_metrics_count_replies_and_429s(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        env.neuroflash.script("Counted.")
        env.slack.fail_next("chat.startStream", Fault("status", 429, headers={"Retry-After": "1"}))
        root = await env.slack.user_post(CHANNEL, f"{MENTION} count me")
        await env.wait_reply(CHANNEL, root, "Counted.")
        metrics = env.runtime.metrics
        # The final text is written before the reply is recorded and counted: wait for the count.
        await env.wait(lambda: metrics.value("replies_total", outcome="done") == 1)
        limited = {"platform": "slack", "method": "chat.startStream"}
        assert metrics.value("messenger_rate_limited_total", **limited) == 1
        assert metrics.value("messenger_writes_total", platform="slack") >= 1
