"""Teams across `threadbridge run` processes: a restart keeps the thread's conversation, two
replicas behind one endpoint share the work, and a replica killed mid-reply (kill -9) is taken
over without a word lost or shown twice.

The replicas are configured only by the environment (TEAMS_* pointing at the emulator); the
emulator posts activities round-robin to their endpoints, as a load balancer would.
"""

from __future__ import annotations

from pathlib import Path

from emulators.teams import CHANNEL
from tests.harness import rate_for
from tests.teams_kit import teams_cluster


async def test_restart_keeps_the_thread(redis_url: str, prefix: str, tmp_path: Path) -> None:
    async with teams_cluster(redis_url, prefix, tmp_path) as cluster:
        emu = cluster.teams
        cluster.neuroflash.script("Before.", "After.")
        replica = await cluster.start()
        root = await emu.channel_post("remember me")
        await emu.wait_for(lambda: emu.thread_text(root.id) == "Before.", 20)
        assert await replica.terminate() == 0
        emu.bot_endpoints.clear()
        await cluster.start()
        await emu.thread_reply(root.id, "still there?")
        await emu.wait_for(lambda: emu.thread_text(root.id) == "Before.After.", 20)
        assert len(cluster.neuroflash.conversations) == 1


async def test_two_replicas_and_a_kill(redis_url: str, prefix: str, tmp_path: Path) -> None:
    text = "A reply long enough to outlive the replica that started it, word by word. " * 3
    async with teams_cluster(
        redis_url, prefix, tmp_path, tokens_per_second=rate_for(text, 6.0)
    ) as cluster:
        emu = cluster.teams
        first = await cluster.start("a")
        second = await cluster.start("b")
        answers = [f"Short answer {i}." for i in range(4)]
        cluster.neuroflash.script(*answers)
        roots = [await emu.channel_post(f"question {i}") for i in range(4)]
        await emu.wait_for(
            lambda: sorted(emu.thread_text(r.id) for r in roots) == sorted(answers), 30
        )
        logs = first.log() + second.log()
        assert "Teams: app" in first.log() and "Teams: app" in second.log(), logs
        cluster.neuroflash.script(text)
        root = await emu.channel_post("the long one")
        await emu.wait_for(lambda: len(emu.thread_text(root.id)) > 30, 20)
        await first.kill()
        await second.kill()
        assert emu.thread_text(root.id) != text
        third = await cluster.start("c")
        emu.bot_endpoints[:] = emu.bot_endpoints[-1:]
        await emu.wait_for(lambda: emu.thread_text(root.id) == text, 60)
        assert [m.text for m in emu.bot_messages(CHANNEL, root.id)] == [text], third.tail()
        assert emu.rate_limited == 0
