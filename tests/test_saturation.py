"""Under saturation nothing is doubled: a lease survives an exhausted Redis pool, and a takeover
never shows again what the old owner already showed, however late the old owner's writes land.

Real bridges (in this loop) against real Redis and the Discord and neuroflash emulators.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection, ConnectionPool

from bridge.contracts import ThreadKey
from bridge.keys import LEASE
from bridge.store import Store
from tests.harness import Env, discord_bridge, rate_for

LEASE_SECONDS = 3.0
ANSWER = "A slow answer, word by word, long enough to outlast a lease or two. " * 3


@contextlib.asynccontextmanager
async def exhausted(pool: ConnectionPool) -> AsyncIterator[int]:
    """Hold every connection of `pool` (as a burst of commands would), then give them back."""
    held: list[AbstractConnection] = []
    try:
        while True:
            try:
                held.append(await asyncio.wait_for(pool.get_connection(), 1.5))
            except (TimeoutError, ConnectionError):
                break
            except Exception as exc:
                if "No connection available" not in str(exc):
                    raise
                break
        yield len(held)
    finally:
        for connection in held:
            await pool.release(connection)


def lease_holder(redis: Redis, env: Env, thread: ThreadKey) -> str:
    return Store(redis, env.settings.bridge_redis_prefix).thread_key(thread, LEASE)


async def test_an_exhausted_redis_pool_never_costs_the_lease(
    redis_url: str, prefix: str, redis: Redis
) -> None:
    """Every connection of the main pool busy for two lease TTLs: the renewals still land,
    the lease is never lost or taken over, and the reply ends exact, in one message."""
    async with discord_bridge(
        redis_url,
        prefix,
        tokens_per_second=rate_for(ANSWER, 4 * LEASE_SECONDS),
        bridge_lease_seconds=LEASE_SECONDS,
        redis_max_connections=16,
    ) as env:
        emu = env.discord
        env.neuroflash.script(ANSWER)
        post = await emu.user_message(emu.channel.id, "slow please", mentions_bot=True)
        await env.wait(lambda: bool(env.discord_text(post.id)), timeout=30)
        thread = ThreadKey("discord", str(emu.guild.id), str(emu.channel.id), str(post.id))
        key = lease_holder(redis, env, thread)
        token = await redis.get(key)
        assert token is not None
        assert env.runtime._redis is not None
        seen: set[bytes | None] = set()
        async with exhausted(env.runtime._redis.client.connection_pool) as count:
            assert count > 0
            loop = asyncio.get_running_loop()
            until = loop.time() + 2 * LEASE_SECONDS
            while loop.time() < until:
                seen.add(await redis.get(key))
                await asyncio.sleep(0.1)
        assert seen == {token}, "the lease lapsed while the main pool was busy"
        await env.wait(lambda: env.discord_text(post.id) == ANSWER, timeout=60)
        assert len(emu.bot_messages(post.id)) == 1
