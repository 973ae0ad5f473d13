"""Where a reply needs a thread first (Discord), the provider is asked while the thread is being
opened: post → first text is the longer of the two, not their sum; and nothing is shown before
the thread exists, nor lost when the whole answer comes first.

Real discord.py against the Discord emulator (thread creation slowed by a fault), the neuroflash
emulator (its first token slowed likewise), real Redis and the bridge's runtime.
"""

from __future__ import annotations

from emulators.base import Fault
from tests.harness import discord_bridge

SLOW = 2.0
ANSWER = "Ready when you are."


async def test_post_to_first_text_is_the_longer_wait_not_the_sum(
    redis_url: str, prefix: str
) -> None:
    async with discord_bridge(redis_url, prefix) as env:
        emu = env.discord
        env.neuroflash.script(ANSWER)
        emu.fail_next("start_thread", Fault("slow", delay=SLOW))
        env.neuroflash.fail_next("stream", Fault("slow", delay=SLOW))
        post = await emu.user_message(emu.channel.id, "hello there", mentions_bot=True)
        await env.wait(lambda: env.discord_text(post.id) == ANSWER, timeout=30)
        (thread_call,) = emu.calls_to(f"/channels/{emu.channel.id}/messages/{post.id}/threads")
        (stream_call,) = env.neuroflash.calls_to("message-streams", "POST")
        assert stream_call.at < thread_call.at + SLOW, "the provider was asked only after"
        first = min(m.created_at for m in emu.bot_messages(post.id)) - post.created_at
        assert SLOW <= first < 1.6 * SLOW, f"post → first text {first:.2f}s"


async def test_an_answer_done_before_its_thread_opens_is_shown_whole_in_it(
    redis_url: str, prefix: str
) -> None:
    async with discord_bridge(redis_url, prefix) as env:
        emu = env.discord
        env.neuroflash.script(ANSWER)
        emu.fail_next("start_thread", Fault("slow", delay=SLOW))
        post = await emu.user_message(emu.channel.id, "hello there", mentions_bot=True)
        await env.wait(lambda: env.discord_text(post.id) == ANSWER, timeout=30)
        assert [t.id for t in emu.threads_of(emu.channel.id)] == [post.id]
        assert [m.content for m in emu.bot_messages(post.id)] == [ANSWER]
        assert not emu.bot_messages(emu.channel.id)


async def test_a_thread_refused_for_good_stops_the_provider_already_asked(
    redis_url: str, prefix: str
) -> None:
    """The provider streams without end while the thread is refused (the post is gone): the
    reply ends undeliverable at once, the provider is told to stop, nothing is written."""
    async with discord_bridge(redis_url, prefix) as env:
        emu = env.discord
        refused = Fault("status", 404, {"message": "Unknown Message", "code": 10008}, delay=SLOW)
        emu.fail_next("start_thread", refused)
        env.neuroflash.fail_next("stream", Fault("forever", delay=0.1))
        await emu.user_message(emu.channel.id, "hello there", mentions_bot=True)
        metrics = env.runtime.metrics
        await env.wait(lambda: metrics.value("replies_total", outcome="undeliverable") == 1, 30)
        await env.wait(lambda: bool(env.neuroflash.calls_to("message-streams", "DELETE")), 10)
        assert emu.bot_messages(emu.channel.id) == []
