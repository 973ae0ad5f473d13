"""What a thread does with posts that arrive while its reply streams, and stopping.

Real runtime(s), real Redis, real slack-bolt; Slack and neuroflash are emulators.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from tests.harness import Env, bridge_runtime, slack_bridge

CHANNEL = "C1"
SLOW = "A long and slow answer that keeps streaming for quite a while, word by word. " * 6


def stream_texts(env: Env) -> list[str]:
    return [c.body["text"] for c in env.neuroflash.calls_to("message-streams", "POST")]


def cancels(env: Env) -> int:
    return len(env.neuroflash.calls_to("message-streams", "DELETE"))


async def open_thread(env: Env, policy: str | None = None) -> str:
    """A thread with one quick exchange done, and the channel's policy set if given."""
    if policy:
        # Channel settings are for workspace admins; U1 is one from the start, as
        # the bridge remembers a user's users.info answer (admin flags too) for a few minutes.
        env.slack.admins.add("U1")
    env.neuroflash.script("Ready.")
    root = await env.slack.user_post(CHANNEL, "<@UBOT> hello")
    await env.wait_reply(CHANNEL, root, "Ready.")
    if policy:
        await env.slack.user_post(CHANNEL, f"policy {policy}", thread_ts=root)
        await env.wait(lambda: bool(env.slack.messages(CHANNEL)[-1].reactions))
    return root


async def start_slow_reply(env: Env, root: str, text: str = "tell me a lot") -> asyncio.Event:
    """A reply that streams and then stays open until the returned event is set (or it is
    cancelled), so later posts meet it running however slow the machine is."""
    hold = env.neuroflash.hold = asyncio.Event()
    env.neuroflash.tokens_per_second = 40
    env.neuroflash.script(SLOW)
    await env.slack.user_post(CHANNEL, text, thread_ts=root)
    await env.wait(
        lambda: len(env.replies(CHANNEL, root)) == 2 and "A long" in env.reply_text(CHANNEL, root)
    )
    return hold


async def test_queue_answers_each_post_in_turn(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        root = await open_thread(env)
        hold = await start_slow_reply(env, root)
        env.neuroflash.script("Queued answer.")
        await env.slack.user_post(CHANNEL, "meanwhile", thread_ts=root)
        dispatcher = env.runtime.dispatcher
        assert dispatcher is not None
        await env.wait(lambda: dispatcher.waiting == 1)
        hold.set()
        await env.wait(lambda: env.replies(CHANNEL, root)[-1].text == "Queued answer.", 40)
        assert env.replies(CHANNEL, root)[1].text == SLOW
        assert stream_texts(env)[-2:] == ["tell me a lot", "meanwhile"]
        assert cancels(env) == 0


async def test_interrupt_cancels_the_running_reply(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        root = await open_thread(env, "interrupt")
        hold = await start_slow_reply(env, root)
        env.neuroflash.tokens_per_second = 400
        env.neuroflash.script("Fresh answer.")
        await env.slack.user_post(CHANNEL, "actually, something else", thread_ts=root)
        await env.wait(lambda: cancels(env) == 1)
        hold.set()
        await env.wait(lambda: env.replies(CHANNEL, root)[-1].text == "Fresh answer.", 30)
        stopped = env.replies(CHANNEL, root)[1].text
        assert stopped.endswith("⏹️ Stopped.") and SLOW.startswith(stopped.split("\n\n>")[0])
        assert cancels(env) == 1
        assert stream_texts(env)[-1] == "actually, something else"


async def test_merge_answers_waiting_posts_together(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        root = await open_thread(env, "merge")
        hold = await start_slow_reply(env, root)
        env.neuroflash.script("One answer for both.")
        await env.slack.user_post(CHANNEL, "first extra", thread_ts=root, wait=True)
        await env.slack.user_post(CHANNEL, "second extra", thread_ts=root, wait=True)
        # Both posts wait behind the held reply before it may end (not a race with its speed).
        dispatcher = env.runtime.dispatcher
        assert dispatcher is not None
        await env.wait(lambda: dispatcher.waiting == 2)
        hold.set()
        await env.wait(lambda: env.replies(CHANNEL, root)[-1].text == "One answer for both.", 40)
        assert stream_texts(env)[-1] == "first extra\n\nsecond extra"
        assert len(env.replies(CHANNEL, root)) == 3


async def test_stop_command_ends_the_reply(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        root = await open_thread(env)
        await start_slow_reply(env, root)
        await env.slack.user_post(CHANNEL, "stop", thread_ts=root)
        await env.wait(lambda: env.replies(CHANNEL, root)[-1].text.endswith("⏹️ Stopped."))
        assert cancels(env) == 1
        assert env.slack.messages(CHANNEL)[-1].reactions


async def test_stop_reaction_reaches_the_streaming_replica(redis_url: str, prefix: str) -> None:
    async with AsyncExitStack() as stack:
        env = await stack.enter_async_context(slack_bridge(redis_url, prefix))
        root = await open_thread(env)
        hold = await start_slow_reply(env, root)
        assert env.runtime.dispatcher is not None and env.runtime.dispatcher.busy == 1
        other = bridge_runtime(redis_url, prefix, **_http_mode(env))
        stack.push_async_callback(other.stop, 2.0)
        await other.start()
        env.slack.http_events_url = f"http://127.0.0.1:{other.http_port}/slack/events"
        reply_ts = env.replies(CHANNEL, root)[1].ts
        status = await env.slack.deliver(
            {
                "type": "reaction_added",
                "user": "U1",
                "reaction": "octagonal_sign",
                "item": {"type": "message", "channel": CHANNEL, "ts": reply_ts},
                "item_user": "UBOT",
                "event_ts": env.slack.workspace.next_ts(),
            }
        )
        assert status == 200
        await env.wait(lambda: env.replies(CHANNEL, root)[-1].text.endswith("⏹️ Stopped."))
        assert cancels(env) == 1
        assert other.dispatcher is not None and other.dispatcher.busy == 0
        env.neuroflash.tokens_per_second = 400
        hold.set()
        await env.slack_barrier(CHANNEL, root)
        assert env.replies(CHANNEL, root)[1].text.endswith("⏹️ Stopped.")
        assert cancels(env) == 1


def _http_mode(env: Env) -> dict[str, object]:
    s = env.settings
    return {
        "slack_bot_token": env.values["slack_bot_token"],
        "slack_signing_secret": env.values["slack_signing_secret"],
        "slack_api_url": env.values["slack_api_url"],
        "neuroflash_api_url": s.plugin_values["neuroflash_api_url"],
        "neuroflash_token_url": s.plugin_values["neuroflash_token_url"],
    }
