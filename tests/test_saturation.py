"""Under saturation nothing is doubled: a lease survives an exhausted Redis pool, and a takeover
never shows again what the old owner already showed, however late the old owner's writes land.

Real bridges (in this loop) against real Redis and the Discord, Slack and neuroflash emulators.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError

from bridge.contracts import ThreadKey
from bridge.keys import LEASE, Keys
from bridge.store import Store
from emulators.base import Fault
from tests.harness import Env, discord_bridge, rate_for, runtime_with, slack_bridge

pytestmark = pytest.mark.alone
"""Timing under enforced rate limits: run when no other test file loads the machine."""

LEASE_SECONDS = 3.0
ANSWER = "A slow answer, word by word, long enough to outlast a lease or two. " * 3


@contextlib.asynccontextmanager
async def exhausted(pool: ConnectionPool) -> AsyncIterator[int]:
    """Hold the connections of `pool` (as a burst of commands would), then give them back.

    Takes them until none frees up for a while: the pub/sub listener keeps one for good."""
    held: list[AbstractConnection] = []
    try:
        while True:
            try:
                held.append(await asyncio.wait_for(pool.get_connection(), 1.5))
            except (TimeoutError, RedisConnectionError):
                break
        yield len(held)
    finally:
        for connection in held:
            await pool.release(connection)


class Partition:
    """A TCP relay to Redis that can stop carrying bytes for a while, as a network partition
    does: what was sent meanwhile arrives late, once it heals."""

    def __init__(self, target: str) -> None:
        host, _, port = target.removeprefix("redis://").split("/")[0].rpartition(":")
        self._target = (host, int(port))
        self._open = asyncio.Event()
        self._open.set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}/0"

    def cut(self) -> None:
        self._open.clear()

    def heal(self) -> None:
        self._open.set()

    async def stop(self) -> None:
        self.heal()
        if self._server is not None:
            self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                await self._open.wait()
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            sink.close()


def lease_holder(redis: Redis, env: Env, thread: ThreadKey) -> str:
    return Store(redis, Keys(env.settings.bridge_redis_prefix)).thread_key(thread, LEASE)


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


async def test_a_late_first_message_of_the_old_owner_is_not_shown_beside_the_takeover(
    redis_url: str, prefix: str
) -> None:
    """The old owner's first message is in flight (Discord answers it late) when it is cut off
    from Redis for longer than its lease; another replica takes the reply over and answers in
    full; then the old message lands. The thread ends showing the answer once."""
    partition = Partition(redis_url)
    try:
        async with discord_bridge(
            await partition.start(),
            prefix,
            tokens_per_second=rate_for(ANSWER, LEASE_SECONDS),
            bridge_lease_seconds=LEASE_SECONDS,
        ) as env:
            emu = env.discord
            env.neuroflash.script(ANSWER)
            emu.fail_next("create_message", Fault("slow", delay=3 * LEASE_SECONDS))
            post = await emu.user_message(emu.channel.id, "slow please", mentions_bot=True)
            await env.wait(lambda: bool(emu.calls_to(f"/channels/{post.id}/messages")), 30)
            partition.cut()
            new = runtime_with(env.settings.model_copy(update={"redis_url": redis_url}), env.values)
            try:
                await new.start()
                await env.wait(lambda: env.discord_text(post.id) == ANSWER, timeout=30)
                await env.wait(lambda: len(emu.calls_to(f"/channels/{post.id}/messages")) > 2)
            finally:
                await new.stop(3.0)
            partition.heal()
            old = env.runtime.dispatcher
            assert old is not None
            await env.wait(lambda: old.busy == 0, 30)
            assert [m.content for m in emu.bot_messages(post.id)] == [ANSWER]
    finally:
        await partition.stop()


@pytest.mark.parametrize(
    ("mode", "first_call"), [("stream", "chat.startStream"), ("edit", "chat.postMessage")]
)
async def test_a_late_first_message_of_the_old_owner_is_not_shown_beside_the_takeover_on_slack(
    redis_url: str, prefix: str, mode: str, first_call: str
) -> None:
    """As on Discord: the old owner's first text (a native stream it opened, or a post) lands
    after another replica took the reply over and answered in full. The old owner deletes its
    unrecorded message (a stream it stops first); the thread shows the answer once."""
    partition = Partition(redis_url)
    try:
        async with slack_bridge(
            await partition.start(),
            prefix,
            tokens_per_second=rate_for(ANSWER, LEASE_SECONDS),
            bridge_lease_seconds=LEASE_SECONDS,
            slack_reply_mode=mode,
        ) as env:
            emu = env.slack
            env.neuroflash.script(ANSWER)
            emu.fail_next(first_call, Fault("slow", delay=3 * LEASE_SECONDS))
            root = await emu.user_post("C1", "<@UBOT> slow please")
            await env.wait(lambda: bool(emu.calls_to(f"/api/{first_call}")), 30)
            partition.cut()
            new = runtime_with(env.settings.model_copy(update={"redis_url": redis_url}), env.values)
            try:
                await new.start()
                await env.wait(lambda: env.reply_text("C1", root) == ANSWER, timeout=30)
            finally:
                await new.stop(3.0)
            await env.wait(lambda: len(emu.calls_to(f"/api/{first_call}")) > 1)
            partition.heal()
            old = env.runtime.dispatcher
            assert old is not None
            await env.wait(lambda: old.busy == 0, 30)
            assert [m.text for m in env.replies("C1", root)] == [ANSWER]
            assert len(emu.deleted) == 1
            assert not any(m.stream_started and not m.stream_stopped for m in emu.deleted)
    finally:
        await partition.stop()
