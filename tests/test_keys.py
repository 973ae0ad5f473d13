"""One key map. Every key the bridge writes expires (only the inbox streams do not);
thread data lives BRIDGE_THREAD_TTL_DAYS after the last post, each accepted post refreshes it;
the stop-reaction index is per channel; inbox consumers of dead processes are removed."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from bridge import keys
from bridge.contracts import ThreadKey
from bridge.inbox import GROUP, Inbox
from bridge.keys import Keys
from bridge.store import Store
from tests.harness import Env, discord_bridge, slack_bridge

CHANNEL = "C1"
DAY = 24 * 3600


async def keys_without_ttl(redis: Redis, prefix: str) -> list[str]:
    found = []
    async for raw in redis.scan_iter(match=f"{prefix}*", count=500):
        key = raw.decode()
        if await redis.ttl(key) == -1:
            found.append(key)
    return sorted(found)


async def test_every_key_expires_but_the_inbox_streams(
    redis_url: str, prefix: str, redis: Redis
) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        replies = [f"Answer {n}." for n in range(20)]
        env.neuroflash.script(*replies)
        roots = [await env.slack.user_post(CHANNEL, f"<@UBOT> question {n}") for n in range(20)]
        await env.wait(lambda: all(env.reply_text(CHANNEL, r) in replies for r in roots), 60)
        await env.slack.user_post(CHANNEL, "and one more", thread_ts=roots[0])
        await env.wait(lambda: len(env.replies(CHANNEL, roots[0])) == 2, 30)
        await env.wait(lambda: env.runtime.metrics.value("replies_total", outcome="done") == 21)
        lasting = await keys_without_ttl(redis, prefix)
    streams = {f"{prefix}{{inbox:{n}}}:stream" for n in range(env.settings.bridge_inbox_shards)}
    assert set(lasting) <= streams, lasting
    assert lasting, "the inbox streams exist and never expire"


async def test_a_post_refreshes_the_thread(redis_url: str, prefix: str, redis: Redis) -> None:
    async with slack_bridge(redis_url, prefix, bridge_thread_ttl_days=30) as env:
        env.neuroflash.script("One.", "Two.")
        root = await env.slack.user_post(CHANNEL, "<@UBOT> one")
        await env.wait_reply(CHANNEL, root, "One.")
        store = env.runtime.store
        assert store is not None
        thread = ThreadKey("slack", "T1", CHANNEL, root)
        names = [store.thread_key(thread, s) for s in (keys.ACTIVE, keys.CONV, keys.DONE)]
        for name in names:
            assert 29 * DAY < await redis.ttl(name) <= 30 * DAY, name
            await redis.expire(name, 100)
        await env.slack.user_post(CHANNEL, "two", thread_ts=root)
        await env.wait_reply(CHANNEL, root, "One.Two.")
        for name in names:
            assert await redis.ttl(name) > 29 * DAY, name


async def test_reply_index_is_per_channel(store: Store) -> None:
    thread = ThreadKey("slack", "T1", "C1", "100.000001")
    await store.index_replies(thread, ["200.000002"])
    assert await store.reply_thread("slack", "T1", "C1", "200.000002") == thread
    assert await store.reply_thread("slack", "T1", "C2", "200.000002") is None


async def consumers(redis: Redis, inbox: Inbox) -> set[str]:
    names: set[str] = set()
    for shard in range(inbox.shards):
        for info in await redis.xinfo_consumers(inbox.stream(shard), GROUP):
            names.add(info["name"].decode() if isinstance(info["name"], bytes) else info["name"])
    return names


async def test_dead_consumers_are_removed(redis_url: str, prefix: str, redis: Redis) -> None:
    inbox = Inbox(redis, Keys(prefix), 4)
    await inbox.ensure_groups()
    for shard in range(inbox.shards):
        await redis.xgroup_createconsumer(inbox.stream(shard), GROUP, "dead-process")
    idle_hours = 0.5 / 3600

    async def idle_enough() -> None:
        while True:
            infos = await redis.xinfo_consumers(inbox.stream(0), GROUP)
            if all(int(i["idle"]) > 600 for i in infos):
                return
            await asyncio.sleep(0.1)

    await asyncio.wait_for(idle_enough(), 10)
    env: Env
    async with slack_bridge(redis_url, prefix, bridge_consumer_idle_hours=idle_hours) as env:
        env.neuroflash.script("Hi.")
        root = await env.slack.user_post(CHANNEL, "<@UBOT> hi")
        await env.wait_reply(CHANNEL, root, "Hi.")
        assert await consumers(redis, inbox) == {env.runtime.consumer}
    assert await consumers(redis, inbox) == set()


@pytest.mark.parametrize("cached", [True, False], ids=["cached", "uncached"])
async def test_discord_stop_reaction_in_a_thread(redis_url: str, prefix: str, cached: bool) -> None:
    """The reply index is keyed by the thread's channel: a reaction in a Discord thread is
    resolved to its parent channel before the lookup — from discord.py's cache, or, for a
    thread the client never cached (archived threads are not synced), by one channel lookup."""
    slow = "A long answer that keeps streaming for quite a while, word by word. " * 8
    async with discord_bridge(redis_url, prefix, tokens_per_second=30) as env:
        emu = env.discord
        emu.hide_threads = not cached
        env.neuroflash.hold = asyncio.Event()  # still running when the reaction comes
        env.neuroflash.script(slow)
        post = await emu.user_message(emu.channel.id, "talk a lot", mentions_bot=True)
        await env.wait(lambda: "A long" in env.discord_text(post.id), timeout=30)
        (reply,) = emu.bot_messages(post.id)
        await emu.user_reaction(reply.id, "🛑")
        await env.wait(lambda: env.discord_text(post.id).endswith("⏹️ Stopped."), timeout=30)
        assert len(env.neuroflash.calls_to("message-streams", "DELETE")) == 1
        assert len(emu.calls_to(f"/channels/{post.id}", "GET")) == (0 if cached else 1)


def test_forgetting_a_tenant_finds_every_budget_key_of_its_scopes() -> None:
    """A workspace's budgets (bucket, waiting first texts and finals, window log, open replies)
    all go with it; another workspace's stay."""
    ours = Keys("p:")
    scope = "slack:TA:chat.update"
    names = [
        ours.budget(scope),
        ours.budget_first(scope),
        ours.budget_final(scope),
        ours.budget_log(scope),
        ours.budget_replies(scope),
    ]
    shapes = [
        shape for pattern, shape in ours.tenant_families("slack", "TA") if "budget" in pattern
    ]
    assert len(shapes) == 1
    assert all(ours.owns(name, shapes[0]) for name in names), names
    assert not ours.owns(ours.budget_log("slack:TB:chat.update"), shapes[0])
