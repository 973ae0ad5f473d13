"""`reset` while a thread's first converzen reply streams must not break the thread.

The conversation id arrives in the first stream; if the thread was reset meanwhile, the late
id must not recreate a binding without a provider (every later post then failed forever).
"""

from __future__ import annotations

from bridge.contracts import Conversation, ThreadKey
from bridge.store import Store
from emulators.base import Fault
from emulators.converzen import TEST_KEY, ConverzenEmulator
from tests.harness import slack_bridge

CHANNEL = "C1"
THREAD = ThreadKey("slack", "T1", "C1", "1.0")


async def test_late_id_never_resurrects_a_reset_thread(store: Store) -> None:
    await store.bind(Conversation("converzen", None, THREAD, {}))
    await store.unbind(THREAD)
    assert not await store.set_conversation_id(THREAD, "late-session", "")
    assert await store.binding(THREAD) is None
    assert not await store.redis.exists(store.thread_key(THREAD, "conv"))


async def test_record_without_provider_counts_as_none(store: Store) -> None:
    await store.redis.hset(store.thread_key(THREAD, "conv"), mapping={"id": "orphan"})
    assert await store.binding(THREAD) is None
    bound = await store.bind(Conversation("converzen", None, THREAD, {}))
    assert bound.provider == "converzen"
    assert (await store.binding(THREAD)) == bound


async def test_reset_during_first_converzen_reply(redis_url: str, prefix: str) -> None:
    async with ConverzenEmulator() as converzen:
        assert isinstance(converzen, ConverzenEmulator)
        overrides = {
            "bridge_provider": "converzen",
            "converzen_api_key": TEST_KEY,
            "converzen_api_url": converzen.api_url,
        }
        async with slack_bridge(redis_url, prefix, **overrides) as env:
            converzen.script("First answer.", "Second answer.")
            converzen.fail_next("completion", Fault("slow_start", delay=2.0))
            root = await env.slack.user_post(CHANNEL, "<@UBOT> hello")
            await env.wait(lambda: bool(converzen.calls_to("/completion/stream")), timeout=20)
            await env.slack.user_post(CHANNEL, "reset", thread_ts=root)
            await env.wait(lambda: "First answer." in env.reply_text(CHANNEL, root), timeout=20)
            await env.slack.user_post(CHANNEL, "and now?", thread_ts=root)
            await env.wait(lambda: "Second answer." in env.reply_text(CHANNEL, root), timeout=30)
            texts = [m.text for m in env.replies(CHANNEL, root)]
            assert texts[-1] == "Second answer.", texts
            assert not any("⚠️" in t for t in texts), texts
