"""Slack replies stream natively (chat.startStream / appendStream / stopStream).

Real Redis, real slack-bolt/slack_sdk in Socket Mode and HTTP mode, the bridge's runtime; Slack
and neuroflash are the emulators. Every failure of a streaming method must end with the exact
text in the same single message: nothing lost, nothing doubled.
"""

from __future__ import annotations

import pytest

from emulators.base import Fault
from tests.harness import Env, rate_for, slack_bridge

MENTION = "<@UBOT>"
TEXT = (
    "Streaming answer, part one. Here is code:\n\n```python\ndef f():\n    return 'é'\n```\n\n"
    "And a list:\n\n- one\n- two — ✓\n\nThe end of the streamed answer, 日本語も。"
)


def methods(env: Env) -> list[str]:
    return [c.path.rsplit("/", 1)[-1] for c in env.slack.calls if c.path.startswith("/api/chat.")]


async def ask(env: Env, channel: str, question: str) -> str:
    if channel.startswith("D"):
        return await env.slack.user_post(channel, question, channel_type="im")
    return await env.slack.user_post(channel, f"{MENTION} {question}")


@pytest.mark.parametrize("socket_mode", [True, False], ids=["socket", "http"])
@pytest.mark.parametrize("channel", ["C1", "D1"], ids=["channel", "dm"])
async def test_reply_streams_natively(
    redis_url: str, prefix: str, socket_mode: bool, channel: str
) -> None:
    rate = rate_for(TEXT, 4.0)
    async with slack_bridge(
        redis_url, prefix, socket_mode=socket_mode, tokens_per_second=rate
    ) as env:
        env.neuroflash.script(TEXT)
        root = await ask(env, channel, "stream please")
        await env.wait_reply(channel, root, TEXT, timeout=30)
        await env.wait(lambda: "chat.stopStream" in methods(env))
        (message,) = env.replies(channel, root)
        assert message.text == TEXT
        assert len(message.edits) >= 3, message.edits
        assert all(TEXT.startswith(shown) for shown in message.edits)
        used = methods(env)
        assert used[0] == "chat.startStream"
        assert used.count("chat.startStream") == 1 and used.count("chat.stopStream") == 1
        assert "chat.update" not in used and "chat.postMessage" not in used
        (start,) = env.slack.calls_to("chat.startStream")
        assert start.body["recipient_user_id"] == "U1"
        assert start.body["recipient_team_id"] == env.slack.team_id
        assert start.body["thread_ts"] == root


@pytest.mark.parametrize("socket_mode", [True, False], ids=["socket", "http"])
async def test_expired_stream_ends_complete_in_the_same_message(
    redis_url: str, prefix: str, socket_mode: bool
) -> None:
    rate = rate_for(TEXT, 4.0)
    async with slack_bridge(
        redis_url, prefix, socket_mode=socket_mode, tokens_per_second=rate
    ) as env:
        env.slack.stream_ttl = 1.5
        env.neuroflash.script(TEXT)
        root = await ask(env, "C1", "outlive the stream")
        await env.wait_reply("C1", root, TEXT, timeout=30)
        (message,) = env.replies("C1", root)
        used = methods(env)
        assert used.count("chat.startStream") == 1
        assert "chat.postMessage" not in used
        assert "chat.update" in used
        assert len(message.edits) >= 2


STREAM_ERRORS = [
    ("chat.startStream", "missing_recipient_user_id"),
    ("chat.startStream", "missing_recipient_team_id"),
    ("chat.startStream", "unknown_method"),
    ("chat.startStream", "not_authed"),
    ("chat.startStream", "channel_type_not_supported"),
    ("chat.appendStream", "message_not_in_streaming_state"),
    ("chat.appendStream", "streaming_mode_mismatch"),
    ("chat.appendStream", "unknown_method"),
    ("chat.appendStream", "not_authed"),
    ("chat.appendStream", "internal_error"),
    ("chat.appendStream", "message_not_owned_by_app"),
    ("chat.stopStream", "streaming_mode_mismatch"),
    ("chat.stopStream", "message_not_in_streaming_state"),
    ("chat.stopStream", "unknown_method"),
    ("chat.stopStream", "not_authed"),
    ("chat.stopStream", "internal_error"),
]


@pytest.mark.parametrize(("method", "code"), STREAM_ERRORS)
async def test_stream_error_falls_back_without_loss_or_duplicates(
    redis_url: str, prefix: str, method: str, code: str
) -> None:
    rate = rate_for(TEXT, 3.0)
    async with slack_bridge(redis_url, prefix, tokens_per_second=rate) as env:
        env.slack.fail_next(method, Fault("error", body=code))
        env.neuroflash.script(TEXT, "Second answer, streamed again.")
        root = await ask(env, "C1", "fail somewhere")
        await env.wait_reply("C1", root, TEXT, timeout=30)
        # The thread's next reply starts only once the first has ended: a barrier.
        await env.slack.user_post("C1", "again", thread_ts=root)
        await env.wait_reply("C1", root, TEXT + "Second answer, streamed again.", timeout=30)
        assert env.slack.take_fault(method) is None, "the fault was never met"
        first, second = env.replies("C1", root)
        assert first.text == TEXT
        assert all(TEXT.startswith(shown.rstrip("`\n")) for shown in first.edits)
        assert second.text == "Second answer, streamed again."
