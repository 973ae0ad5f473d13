"""Slack's AI-app surface end to end: an assistant thread offers suggested prompts, is titled by
its first post and shows a status until the first text; a channel mention gets none of it.

Real Redis, real slack-bolt/slack_sdk, the bridge's runtime; Slack and neuroflash are the
emulators on loopback (the Slack one implements the assistant.threads.* methods, their rate
tiers and the container's events).
"""

from __future__ import annotations

import time

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from emulators.base import Fault
from emulators.slack import SlackEmulator
from tests.harness import Env, slack_bridge

DM = "D1"
MENTION = "<@UBOT>"
THINKING = "is thinking…"
ASSISTANT_METHODS = (
    "assistant.threads.setStatus",
    "assistant.threads.setTitle",
    "assistant.threads.setSuggestedPrompts",
)


def assistant_calls(env: Env) -> int:
    return sum(len(env.slack.calls_to(f"/api/{m}")) for m in ASSISTANT_METHODS)


def slow_first_token(env: Env, seconds: float = 1.5) -> None:
    """The provider's next answer starts only after `seconds`."""
    env.neuroflash.fail_next("stream", Fault("slow", delay=seconds))


async def held_reply(env: Env, thread_ts: str, text: str, answer: str) -> None:
    """Post `text` in the assistant thread while the provider is slow to start: the status
    shows and no text does; then the answer streams and the status is cleared."""
    slow_first_token(env)
    env.neuroflash.script(answer)
    before = len(env.replies(DM, thread_ts))
    await env.slack.user_post(DM, text, user="U1", thread_ts=thread_ts, channel_type="im")
    thread = env.slack.assistant_thread(DM, thread_ts)
    await env.wait(lambda: thread.status != "")
    assert len(env.replies(DM, thread_ts)) == before
    await env.wait(lambda: [m.text for m in env.replies(DM, thread_ts)[before:]] == [answer])
    await env.wait(lambda: thread.statuses()[-1:] == [""])


@pytest.mark.parametrize("socket_mode", [True, False], ids=["socket", "http"])
async def test_assistant_thread_prompts_title_and_status(
    redis_url: str, prefix: str, socket_mode: bool
) -> None:
    async with slack_bridge(redis_url, prefix, socket_mode=socket_mode) as env:
        env.slack.add_user("U1", "Ann")
        thread_ts = await env.slack.open_assistant_thread("U1", DM, context_channel="C1")
        thread = env.slack.assistant_thread(DM, thread_ts)
        await env.wait(lambda: bool(thread.prompts))
        assert thread.prompts_title == "How can I help?"
        assert [p["title"] for p in thread.prompts] == [
            "Brainstorm ideas",
            "Explain something",
            "Draft a message",
        ]
        assert all(p["message"].endswith(".") for p in thread.prompts)

        await held_reply(env, thread_ts, "What is a monad, briefly?\nWith an example.", "A.")
        assert thread.title == "What is a monad, briefly?"
        kinds = [kind for kind, _ in thread.history]
        assert kinds.index("status") < kinds.index("reply")
        assert thread.statuses() == [THINKING, ""]
        assert thread.shown_status == ""

        await held_reply(env, thread_ts, "And a functor?", "B.")
        assert [kind for kind, _ in thread.history].count("title") == 1
        assert thread.statuses() == [THINKING, "", THINKING, ""]
        assert len(env.neuroflash.conversations) == 1
        texts = [c.body["text"] for c in env.neuroflash.calls_to("message-streams", "POST")]
        assert texts == ["What is a monad, briefly?\nWith an example.", "And a functor?"]


async def test_prompts_per_channel_then_setting_and_status_in_german(
    redis_url: str, prefix: str
) -> None:
    async with slack_bridge(
        redis_url, prefix, slack_suggested_prompts="Plan => Plan my week | Recap"
    ) as env:
        env.slack.add_user("UADMIN", "Ada", admin=True)
        env.slack.add_user("UDE", "Dora", locale="de-DE")
        answer = await env.slack.slash(
            "config suggested_prompts Triage => Triage this channel's open questions",
            user="UADMIN",
            channel="C7",
        )
        assert "suggested_prompts" in str(answer["text"])

        viewing = await env.slack.open_assistant_thread("UDE", "D7", context_channel="C7")
        elsewhere = await env.slack.open_assistant_thread("UDE", "D8", context_channel="C8")
        first = env.slack.assistant_thread("D7", viewing)
        second = env.slack.assistant_thread("D8", elsewhere)
        await env.wait(lambda: bool(first.prompts and second.prompts))
        assert first.prompts == [
            {"title": "Triage", "message": "Triage this channel's open questions"}
        ]
        assert second.prompts == [
            {"title": "Plan", "message": "Plan my week"},
            {"title": "Recap", "message": "Recap"},
        ]
        assert first.prompts_title == "Wie kann ich helfen?"
        await env.slack.change_assistant_context("D8", elsewhere, "C7")
        await env.wait(lambda: second.prompts == first.prompts)

        slow_first_token(env)
        env.neuroflash.script("Hallo.")
        await env.slack.user_post("D7", "Hallo", user="UDE", thread_ts=viewing, channel_type="im")
        await env.wait(lambda: first.status != "")
        assert first.status == "denkt nach…"
        await env.wait_reply("D7", viewing, "Hallo.")


async def test_channel_mention_and_plain_dm_thread_get_none_of_it(
    redis_url: str, prefix: str
) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        env.neuroflash.script("In the channel.", "In the DM.", "In its thread.")
        root = await env.slack.user_post("C1", f"{MENTION} hello")
        await env.wait_reply("C1", root, "In the channel.")
        dm = await env.slack.user_post(DM, "hi", channel_type="im")
        await env.wait_reply(DM, dm, "In the DM.")
        await env.slack.user_post(DM, "more", thread_ts=dm, channel_type="im")
        await env.wait_reply(DM, dm, "In the DM.In its thread.")
        assert assistant_calls(env) == 0
        assert env.slack.assistant_threads == {}


async def test_status_never_delays_the_first_text(redis_url: str, prefix: str) -> None:
    """setStatus answering slowly holds nothing up: the first text goes out at once, and the
    status is cleared after its late answer (it could otherwise outlive the reply)."""
    async with slack_bridge(redis_url, prefix) as env:
        thread_ts = await env.slack.open_assistant_thread("U1", DM)
        thread = env.slack.assistant_thread(DM, thread_ts)
        await env.wait(lambda: bool(thread.prompts))
        env.slack.fail_next("assistant.threads.setStatus", Fault("slow", delay=3.0))
        env.neuroflash.script("Quick.")
        started = time.monotonic()
        await env.slack.user_post(DM, "Quick one", thread_ts=thread_ts, channel_type="im")
        await env.wait_reply(DM, thread_ts, "Quick.")
        assert time.monotonic() - started < 2.5
        await env.wait(lambda: thread.statuses() == [THINKING, ""])
        assert thread.shown_status == ""


async def test_emulated_methods_follow_the_reference() -> None:
    """Arguments, errors, scopes, the implicit clear by a reply, and the rate tiers."""
    emu = SlackEmulator()
    await emu.start()
    try:
        emu.enforce_documented_limits()
        web = AsyncWebClient(token=emu.bot_token, base_url=emu.api_url)
        thread_ts = await emu.open_assistant_thread("U1", DM)
        where = {"channel_id": DM, "thread_ts": thread_ts}
        await web.assistant_threads_setStatus(**where, status=THINKING)
        assert emu.assistant_thread(DM, thread_ts).shown_status == THINKING
        await web.chat_postMessage(channel=DM, thread_ts=thread_ts, text="hi")
        thread = emu.assistant_thread(DM, thread_ts)
        assert thread.shown_status == "" and ("cleared", thread.history[-1][1]) in thread.history

        prompts = [{"title": f"t{i}", "message": f"m{i}"} for i in range(5)]
        for bad, code in (
            (web.assistant_threads_setSuggestedPrompts(**where, prompts=prompts), "invalid"),
            (web.assistant_threads_setTitle(channel_id=DM, thread_ts="1.0", title="x"), "thread"),
            (web.assistant_threads_setStatus(channel_id="D9", thread_ts="1.0", status=""), "chan"),
        ):
            with pytest.raises(SlackApiError) as error:
                await bad
            assert code in str(error.value.response["error"])

        root = await emu.user_post("C1", f"{MENTION} hi")
        await web.assistant_threads_setStatus(channel_id="C1", thread_ts=root, status=THINKING)
        with pytest.raises(SlackApiError, match="invalid_thread_ts"):
            await web.assistant_threads_setTitle(channel_id="C1", thread_ts=root, title="x")

        limited = 0
        for _ in range(6):
            try:
                await web.assistant_threads_setStatus(**where, status=THINKING)
            except SlackApiError as exc:
                assert exc.response.status_code == 429
                limited += 1
        assert limited > 0, "setStatus is paced per channel, about one a second"
        await web.assistant_threads_setStatus(channel_id="C1", thread_ts=root, status="")

        emu.bot_scopes.remove("assistant:write")
        with pytest.raises(SlackApiError, match="missing_scope"):
            await web.assistant_threads_setTitle(**where, title="x")
    finally:
        await emu.stop()
