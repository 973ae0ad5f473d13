"""The bridge on Redis Cluster and Redis Sentinel, for real: local servers on loopback,
conversations through them, and a master failed over mid-load (Cluster: CLUSTER FAILOVER on a
replica; Sentinel: kill -9 the master). Every post is answered exactly once, none is lost."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bridge.contracts import ThreadKey
from bridge.control import Control
from bridge.keys import Keys
from bridge.redis_conn import make_client
from emulators.neuroflash.state import default_reply
from tests.harness import Env, rate_for, slack_bridge
from tests.redis_topology import redis_cluster, redis_sentinel, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

CHANNEL = "C1"
MENTION = "<@UBOT>"
THREADS = 8
REPLY_SECONDS = 4.0
SETTLE = 90.0
FAILOVER_ATTEMPTS = 4


def texts(tag: str, round_: int) -> list[str]:
    return [f"{tag} thread {i} post {round_}" for i in range(THREADS)]


async def post_round(env: Env, roots: list[str], round_texts: list[str]) -> list[str]:
    """Post one message in each thread (a new thread per post when `roots` is empty)."""
    posted = []
    for index, text in enumerate(round_texts):
        if roots:
            await env.slack.user_post(CHANNEL, text, thread_ts=roots[index], wait=True)
            posted.append(roots[index])
        else:
            posted.append(await env.slack.user_post(CHANNEL, f"{MENTION} {text}", wait=True))
    return posted


def answered(env: Env, roots: list[str], rounds: list[list[str]]) -> bool:
    """Each thread shows exactly one reply per post, in order, each the provider's full text."""
    for index, root in enumerate(roots):
        shown = [m.text for m in env.replies(CHANNEL, root)]
        if shown != [default_reply(r[index]) for r in rounds]:
            return False
    return True


async def wait_answered(env: Env, roots: list[str], rounds: list[list[str]]) -> None:
    try:
        await env.wait(lambda: answered(env, roots, rounds), SETTLE)
    except TimeoutError:
        seen = {
            root: [m.text for m in env.replies(CHANNEL, root)]
            for index, root in enumerate(roots)
            if not answered(env, [root], [[r[index]] for r in rounds])
        }
        raise AssertionError(f"not every post answered exactly once: {seen}") from None


async def run_with_failover(
    redis_url: str, prefix: str, fail_over: Callable[[], Awaitable[None]]
) -> None:
    """Posts in flight, a failover, then more posts: all answered once."""
    sample = default_reply(texts("x", 0)[0])
    rate = rate_for(sample, REPLY_SECONDS)
    async with slack_bridge(redis_url, prefix, tokens_per_second=rate) as env:
        first = texts("before", 0)
        roots = await post_round(env, [], first)
        await env.wait(
            lambda: env.runtime.metrics.value("posts_received_total", platform="slack") == THREADS
        )
        await env.wait(lambda: any(env.replies(CHANNEL, r) for r in roots))
        await fail_over()
        second = texts("after", 1)
        await post_round(env, roots, second)
        await wait_answered(env, roots, [first, second])
        assert env.runtime.metrics.value("posts_received_total", platform="slack") == 2 * THREADS


async def converse(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        rounds = [texts("talk", 0), texts("talk", 1)]
        roots = await post_round(env, [], rounds[0])
        await wait_answered(env, roots, rounds[:1])
        await post_round(env, roots, rounds[1])
        await wait_answered(env, roots, rounds)
        assert len(env.neuroflash.conversations) == THREADS


async def stop_reaches_listener(redis_url: str, prefix: str) -> None:
    """The control channel (pub/sub) carries a stop from one client to another's listener."""
    publisher, listener = make_client(redis_url), make_client(redis_url)
    seen: list[ThreadKey] = []
    task = asyncio.create_task(Control(listener, Keys(prefix)).listen(lambda t, _: seen.append(t)))
    thread = ThreadKey("slack", "T1", "C1", "1.0")
    try:

        async def delivered() -> bool:
            await Control(publisher, Keys(prefix)).publish_stop(thread)
            await asyncio.sleep(0.2)
            return bool(seen)

        await until(delivered, "a published stop reached the listener", 30)
        assert seen[0] == thread
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await publisher.aclose()
        await listener.aclose()


async def test_cluster_conversations_and_shards_spread(tmp_path: Path, prefix: str) -> None:
    async with redis_cluster(tmp_path) as cluster:
        await converse(cluster.url, prefix)
        await stop_reaches_listener(cluster.url, prefix)
        client = cluster.servers[0].client()
        try:
            masters = set()
            for shard in range(4):
                slot = await client.execute_command(
                    "CLUSTER", "KEYSLOT", f"{prefix}{{inbox:{shard}}}:stream"
                )
                masters.add(await cluster.master_of_slot(int(slot)))
        finally:
            await client.aclose()
        assert len(masters) >= 2, "the inbox shards all live on one master"


async def test_cluster_failover_mid_load(tmp_path: Path, prefix: str) -> None:
    async with redis_cluster(tmp_path) as cluster:
        client = cluster.servers[0].client()
        try:
            slot = int(
                await client.execute_command("CLUSTER", "KEYSLOT", f"{prefix}{{inbox:0}}:stream")
            )
        finally:
            await client.aclose()
        old_master = await cluster.master_of_slot(slot)
        replica = await cluster.replica_of(old_master)

        async def fail_over() -> None:
            """CLUSTER FAILOVER on the replica; asked again if a busy machine lets the manual
            failover time out (Redis gives it 5 s)."""

            async def moved() -> bool:
                return await cluster.master_of_slot(slot) == replica.port

            for attempt in range(FAILOVER_ATTEMPTS):
                promote = replica.client()
                try:
                    await promote.execute_command("CLUSTER", "FAILOVER")
                finally:
                    await promote.aclose()
                try:
                    await until(moved, "the replica took over the inbox's slot", 15)
                    return
                except TimeoutError:
                    if attempt == FAILOVER_ATTEMPTS - 1:
                        raise

        await run_with_failover(cluster.url, prefix, fail_over)


async def test_sentinel_conversations(tmp_path: Path, prefix: str) -> None:
    async with redis_sentinel(tmp_path) as sentinel:
        await converse(sentinel.url, prefix)
        await stop_reaches_listener(sentinel.url, prefix)


async def test_sentinel_master_killed_mid_load(tmp_path: Path, prefix: str) -> None:
    async with redis_sentinel(tmp_path) as sentinel:

        async def fail_over() -> None:
            await sentinel.master.kill()

            async def promoted() -> bool:
                try:
                    return await sentinel.master_port() == sentinel.replica.port
                except OSError:
                    return False

            await until(promoted, "the Sentinels promoted the replica")

        await run_with_failover(sentinel.url, prefix, fail_over)
