"""Mattermost with real `threadbridge run` processes: a restart keeps the thread's binding,
two replicas answer each post once (both sockets get every event), and a replica killed
with SIGKILL mid-reply is taken over: the reply is finished in the same post."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis

from emulators.mattermost import MattermostEmulator, Post
from emulators.neuroflash import NeuroflashEmulator
from emulators.neuroflash.state import default_reply
from tests.harness import rate_for
from tests.mattermost_env import mattermost_vars
from tests.procs import Replicas, replica_env, wait_until


@dataclass
class Setup:
    emu: MattermostEmulator
    neuroflash: NeuroflashEmulator
    replicas: Replicas

    def text(self, root: Post) -> str:
        return self.emu.thread_text(root.id)

    async def wait_text(self, root: Post, expected: str, timeout: float, what: str) -> None:
        """Until the thread shows `expected`; else fail showing what it shows, post by post."""
        try:
            await wait_until(lambda: self.text(root) == expected, timeout, what)
        except TimeoutError as exc:
            shown = [p.message for p in self.emu.bot_posts(root.id)]
            raise AssertionError(f"{exc}\nexpected: {expected!r}\nthe posts: {shown!r}") from None

    async def start(self, count: int = 1) -> None:
        for _ in range(count):
            await self.replicas.start()
        links = len(self.replicas.alive)
        await wait_until(lambda: len(self.emu.sockets) >= links, 20, "Mattermost sockets")

    def streams(self) -> list[str]:
        return [c.body["text"] for c in self.neuroflash.calls_to("message-streams", "POST")]


@asynccontextmanager
async def setup(
    redis_url: str, prefix: str, log_dir: Path, tokens_per_second: float = 200.0
) -> AsyncIterator[Setup]:
    emu = MattermostEmulator()
    neuroflash = NeuroflashEmulator(tokens_per_second=tokens_per_second)
    await emu.start()
    await neuroflash.start()
    env = replica_env(redis_url, prefix, neuroflash, lease_seconds=4.0)
    env = {k: v for k, v in env.items() if not k.startswith("MATTERMOST_")}
    replicas = Replicas(env | mattermost_vars(emu), log_dir)
    try:
        yield Setup(emu, neuroflash, replicas)
    finally:
        await replicas.aclose()
        await emu.stop()
        await neuroflash.stop()
        redis = Redis.from_url(redis_url)
        async for key in redis.scan_iter(match=f"{prefix}*", count=500):
            await redis.delete(key)
        await redis.aclose()


async def test_restart_keeps_the_binding_and_reads_what_came_meanwhile(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    async with setup(redis_url, prefix, tmp_path) as s:
        await s.start()
        root = await s.emu.mention(s.emu.channel.id, "first question")
        await wait_until(lambda: s.text(root) == default_reply("first question"), 20, "reply")
        (replica,) = s.replicas.alive
        assert await replica.terminate() == 0
        await s.emu.user_post(s.emu.channel.id, "asked while no bridge ran", root.id)
        await s.start()
        expected = default_reply("first question") + default_reply("asked while no bridge ran")
        await wait_until(lambda: s.text(root) == expected, 30, "the missed post answered")
        await s.emu.user_post(s.emu.channel.id, "after the restart", root.id)
        expected += default_reply("after the restart")
        await wait_until(lambda: s.text(root) == expected, 20, "the follow-up answered")
        assert len(s.neuroflash.conversations) == 1


async def test_two_replicas_answer_each_post_once(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    async with setup(redis_url, prefix, tmp_path) as s:
        await s.start(2)
        roots = [await s.emu.mention(s.emu.channel.id, f"question {i}") for i in range(4)]
        for root, i in zip(roots, range(4), strict=True):
            await s.emu.user_post(s.emu.channel.id, f"more on {i}", root.id)
        for root, i in zip(roots, range(4), strict=True):
            expected = default_reply(f"question {i}") + default_reply(f"more on {i}")
            await s.wait_text(root, expected, 30, f"thread {i}")
            assert len(s.emu.bot_posts(root.id)) == 2, f"thread {i}: a post per reply"
        assert sorted(s.streams()) == sorted(
            [f"question {i}" for i in range(4)] + [f"more on {i}" for i in range(4)]
        )
        stop = await s.emu.user_post(s.emu.channel.id, "stop", roots[0].id)

        def confirmations() -> int:
            return len([r for r in s.emu.server.reactions if r.post_id == stop.id])

        await wait_until(lambda: confirmations() >= 1, 10, "the command confirmed")
        await s.emu.user_post(s.emu.channel.id, "last one", roots[1].id)
        last = default_reply("question 1") + default_reply("more on 1") + default_reply("last one")
        await s.wait_text(roots[1], last, 20, "a barrier answered")
        assert confirmations() == 1, "a command is carried out by one replica"


async def test_kill_9_mid_reply_is_taken_over_in_the_same_post(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    text = "A long answer that one replica starts and another one finishes. " * 4
    async with setup(redis_url, prefix, tmp_path, tokens_per_second=rate_for(text, 8)) as s:
        await s.start(2)
        s.neuroflash.script(text)
        root = await s.emu.mention(s.emu.channel.id, "long please")
        await wait_until(lambda: len(s.text(root)) > 30, 20, "the reply started")
        streaming = [r for r in s.replicas.alive if "conversation" in r.log()]
        victim = streaming[0] if streaming else s.replicas.alive[0]
        await victim.kill()
        await wait_until(lambda: s.text(root) == text, 60, "the reply finished by the other")
        assert len(s.emu.bot_posts(root.id)) == 1
