"""End to end: Discord threads become neuroflash conversations, streamed live.

Real discord.py against the Discord emulator, real Redis, real httpx-sse, the bridge's runtime.
"""

from __future__ import annotations

import asyncio

from adapters.discord.feedback import feedback_row
from adapters.discord.format import PAGE_LIMIT
from bridge.contracts.toolkit.split import open_fence
from emulators.base import Fault
from tests.harness import BARRIER, BARRIER_ANSWER, Env, bridge_env, discord_bridge, rate_for


def conversations(env: Env) -> int:
    return len(env.neuroflash.conversations)


def stream_texts(env: Env) -> list[str]:
    return [c.body["text"] for c in env.neuroflash.calls_to("message-streams", "POST")]


async def test_mention_opens_a_thread_and_streams(redis_url: str, prefix: str) -> None:
    text = "Streaming 😀 slowly:\n\n```js\nconsole.log('hi')\n```\n\nThat was it — done. ✓"
    async with discord_bridge(redis_url, prefix, tokens_per_second=rate_for(text, 5.0)) as env:
        emu = env.discord
        env.neuroflash.script(text, "Second.", "Third.")
        post = await emu.user_message(emu.channel.id, "Explain streaming please", mentions_bot=True)
        await env.wait(lambda: env.discord_text(post.id) == text, timeout=30)
        (thread,) = emu.threads_of(emu.channel.id)
        assert thread.id == post.id and thread.name == "Explain streaming please"
        (reply,) = emu.bot_messages(thread.id)
        writes = [
            c.body["content"]
            for c in emu.calls_to(f"/channels/{thread.id}/messages")
            if c.method in ("POST", "PATCH") and isinstance(c.body, dict) and "content" in c.body
        ]
        assert writes[-1] == text
        assert len(set(writes[:-1])) >= 2
        assert all(open_fence(w) is None for w in writes), writes
        assert reply.allowed_mentions == {"parse": []}
        assert emu.calls_to(f"/channels/{thread.id}/typing")
        await emu.user_message(thread.id, "follow-up without mention")
        await env.wait(lambda: env.discord_text(thread.id) == text + "Second.")
        await emu.user_message(thread.id, "another one")
        await env.wait(lambda: env.discord_text(thread.id) == text + "Second." + "Third.")
        assert conversations(env) == 1
        assert stream_texts(env)[1:] == ["follow-up without mention", "another one"]


async def test_dm_is_one_conversation(redis_url: str, prefix: str) -> None:
    async with discord_bridge(redis_url, prefix) as env:
        emu = env.discord
        dm = emu.dm_channel(emu.user)
        env.neuroflash.script("One.", "Two.", "Three.")
        expected = ""
        for text, answer in [("hi", "One."), ("more", "Two."), ("bye", "Three.")]:
            await emu.user_message(dm.id, text, guild=False)
            expected += answer
            await env.wait(lambda e=expected: env.discord_text(dm.id) == e)
        assert conversations(env) == 1


async def test_long_reply_is_split_at_clean_boundaries(redis_url: str, prefix: str) -> None:
    code = "```python\n" + "".join(f"total += {i}\n" for i in range(40)) + "```\n\n"
    para = "This paragraph explains the code above in some detail. " * 8 + "\n\n"
    text = (para * 3 + code) * 2 + para * 4
    text = text[:6000]
    async with discord_bridge(redis_url, prefix, tokens_per_second=3000) as env:
        emu = env.discord
        env.neuroflash.script(text)
        post = await emu.user_message(emu.channel.id, "long one", mentions_bot=True)
        await env.wait(lambda: env.discord_text(post.id) == text, timeout=30)
        pages = [m.content for m in emu.bot_messages(post.id)]
        assert len(pages) >= 3
        assert all(len(p) <= PAGE_LIMIT for p in pages)
        assert all(open_fence(p) is None for p in pages)


async def test_ten_mentions_stream_side_by_side_without_429(redis_url: str, prefix: str) -> None:
    async with discord_bridge(redis_url, prefix, tokens_per_second=80) as env:
        emu = env.discord
        emu.enforce_limits(per_channel=5, per_seconds=5.0, headers=False)
        answers = [f"Answer number {i}: " + "word " * 40 for i in range(10)]
        env.neuroflash.script(*answers)
        posts = await asyncio.gather(
            *(
                emu.user_message(emu.channel.id, f"question {i}", mentions_bot=True)
                for i in range(10)
            )
        )
        await env.wait(lambda: len(emu.threads_of(emu.channel.id)) == 10, timeout=40)
        await env.wait(
            lambda: sorted(env.discord_text(p.id) for p in posts) == sorted(answers), timeout=60
        )
        assert emu.rate_limited == 0
        assert conversations(env) == 10


async def test_bots_echoes_and_replays_get_no_reply(redis_url: str, prefix: str) -> None:
    async with discord_bridge(redis_url, prefix) as env:
        emu = env.discord
        env.neuroflash.script("Hello.")
        post = await emu.user_message(emu.channel.id, "hi", mentions_bot=True)
        await env.wait(lambda: env.discord_text(post.id) == "Hello.")
        await emu.other_bot_message(post.id, f"<@{emu.bot_id}> I am a bot")
        await emu.other_bot_message(emu.channel.id, f"<@{emu.bot_id}> also a bot")
        emu.replay_last(5)
        await emu.drop_connections()
        await env.wait(lambda: emu.gateway.resumes >= 1)
        await env.discord_barrier(post.id)
        assert stream_texts(env) == ["hi", BARRIER]
        assert [m.content for m in emu.bot_messages(post.id)] == ["Hello.", BARRIER_ANSWER]
        assert conversations(env) == 1


async def test_reconnect_mid_reply_still_finishes(redis_url: str, prefix: str) -> None:
    text = "A reply that takes a while to arrive, across a gateway reconnect. " * 3
    async with discord_bridge(redis_url, prefix, tokens_per_second=rate_for(text, 3)) as env:
        emu = env.discord
        env.neuroflash.script(text)
        post = await emu.user_message(emu.channel.id, "go", mentions_bot=True)
        await env.wait(lambda: len(env.discord_text(post.id)) > 40)
        await emu.request_reconnect()
        await env.wait(lambda: env.discord_text(post.id) == text, timeout=30)
        assert emu.gateway.resumes >= 1


async def test_foreign_thread_needs_a_mention(redis_url: str, prefix: str) -> None:
    async with discord_bridge(redis_url, prefix) as env:
        emu = env.discord
        env.neuroflash.script("Now I am here.")
        start = await emu.user_message(emu.channel.id, "let us talk in a thread")
        thread = await emu.create_thread(start.id, "A user's thread")
        await emu.user_message(thread.id, "nobody called the bot")
        await emu.user_message(thread.id, "now you", mentions_bot=True)
        await env.wait(lambda: env.discord_text(thread.id) == "Now I am here.")
        assert [m.content for m in emu.bot_messages(thread.id)] == ["Now I am here."]
        context = "Earlier in this thread (oldest first):\nalice: nobody called the bot\n"
        assert stream_texts(env) == [context + "(end of the earlier posts)\n\nalice: now you"]
        assert emu.threads_of(emu.channel.id) == [thread]


async def test_slack_and_discord_side_by_side(redis_url: str, prefix: str) -> None:
    async with bridge_env(redis_url, prefix, slack=True, discord=True) as env:
        env.neuroflash.script("Hi Slack.", "Hi Discord.")
        root = await env.slack.user_post("C1", "<@UBOT> hello from slack")
        await env.wait_reply("C1", root, "Hi Slack.")
        post = await env.discord.user_message(env.discord.channel.id, "hello", mentions_bot=True)
        await env.wait(lambda: env.discord_text(post.id) == "Hi Discord.")
        assert conversations(env) == 2


def thread_refused(code: int, message: str, status: int = 400) -> Fault:
    return Fault("status", status, {"message": message, "code": code})


async def answered_in_channel(env: Env, code: int, message: str) -> None:
    """A mention whose thread creation is refused with `code` gets its answer in the channel,
    as a reply to it, and once the reply ends its stop button has given way to the feedback
    buttons."""
    emu = env.discord
    emu.fail_next("start_thread", thread_refused(code, message))
    answer = f"Answer despite {code}."
    env.neuroflash.script(answer)
    post = await emu.user_message(emu.channel.id, "hello", mentions_bot=True)
    await env.wait(lambda: answer in env.discord_text(emu.channel.id))
    reply = emu.bot_messages(emu.channel.id)[-1]
    assert reply.content == answer and reply.message_reference is not None
    assert reply.message_reference["message_id"] == str(post.id)
    await env.wait(lambda: reply.components == feedback_row(str(post.id)))


async def test_mention_where_no_thread_can_be_opened_is_answered_in_the_channel(
    redis_url: str, prefix: str
) -> None:
    """Thread limit reached (160006) or a channel type without threads (50024): the channel
    can still be written, so the answer is a reply to the mention there, with no stop button
    left on it; the next mention tries a thread again."""
    async with discord_bridge(redis_url, prefix) as env:
        emu = env.discord
        await answered_in_channel(env, 160006, "Maximum number of active threads reached")
        await answered_in_channel(env, 50024, "Cannot execute action on this channel type")
        assert emu.threads_of(emu.channel.id) == []
        env.neuroflash.script("In a thread again.")
        post = await emu.user_message(emu.channel.id, "and now?", mentions_bot=True)
        await env.wait(lambda: env.discord_text(post.id) == "In a thread again.")


async def test_thread_refused_for_good_ends_undeliverable_without_retries(
    redis_url: str, prefix: str
) -> None:
    """A refusal that leaves nothing to write to (the message is gone) is classified like a
    write: the reply ends undeliverable and counted, not retried as an unknown error."""
    async with discord_bridge(redis_url, prefix) as env:
        emu = env.discord
        emu.fail_next("start_thread", thread_refused(10008, "Unknown Message", 404), times=50)
        env.neuroflash.script("Never shown.")
        await emu.user_message(emu.channel.id, "hello", mentions_bot=True)
        metrics = env.runtime.metrics
        await env.wait(lambda: metrics.value("replies_total", outcome="undeliverable") == 1)
        assert metrics.value("messenger_write_failures_total", platform="discord") == 1
        assert len(emu.calls_to("/threads", "POST")) == 1
        assert emu.bot_messages(emu.channel.id) == []
        emu.clear_faults("start_thread")


async def test_post_in_a_thread_the_client_never_cached_is_answered(
    redis_url: str, prefix: str
) -> None:
    """With no THREAD_CREATE and no threads in GUILD_CREATE (as for archived threads after a
    restart), discord.py gives a later post in the bridge's thread an uncached channel; the
    bridge looks the channel up and answers in the thread, without a mention."""
    async with discord_bridge(redis_url, prefix) as env:
        emu = env.discord
        emu.hide_threads = True
        env.neuroflash.script("First.", "Second.")
        post = await emu.user_message(emu.channel.id, "hello", mentions_bot=True)
        await env.wait(lambda: env.discord_text(post.id) == "First.")
        await emu.user_message(post.id, "and more, no mention")
        await env.wait(lambda: env.discord_text(post.id) == "First.Second.")
        assert conversations(env) == 1
        assert len(emu.calls_to(f"/channels/{post.id}", "GET")) == 1
