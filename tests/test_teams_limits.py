"""End to end: Teams' limits. A reply over the message size is split, a 429 storm is waited
out with nothing lost, and ten threads in one channel stay inside the documented per-conversation
windows (0 × 429 with the emulator enforcing them).
"""

from __future__ import annotations

from emulators.base import Fault
from emulators.teams import CHANNEL
from tests.harness import rate_for
from tests.teams_kit import teams_bridge


async def test_over_size_reply_is_split(redis_url: str, prefix: str) -> None:
    para = "This paragraph explains something at some length, in plain words. " * 6 + "\n\n"
    text = para * 30
    async with teams_bridge(redis_url, prefix, tokens_per_second=4000) as env:
        emu = env.teams
        emu.connector.max_message_bytes = 8000
        env.neuroflash.script(text)
        root = await emu.channel_post("a long one")
        await env.wait(lambda: emu.thread_text(root.id) == text, timeout=40)
        pages = emu.bot_messages(CHANNEL, root.id)
        assert len(pages) >= 3
        assert all(len(p.text.encode("utf-16-le")) <= 8000 for p in pages)
        assert any(c for c in emu.calls if c.body and c.body.get("type") == "message")


async def test_429_storm_waits_and_loses_nothing(redis_url: str, prefix: str) -> None:
    text = "Despite the storm, every word arrives exactly once. " * 4
    async with teams_bridge(redis_url, prefix, tokens_per_second=rate_for(text, 3.0)) as env:
        emu = env.teams
        env.neuroflash.script(text)
        emu.fail_next("any", Fault("status", 429, {"error": {"code": "TooManyRequests"}}), times=4)
        root = await emu.channel_post("storm")
        await env.wait(lambda: emu.thread_text(root.id) == text, timeout=40)
        assert emu.rate_limited == 4
        assert [m.text for m in emu.bot_messages(CHANNEL, root.id)] == [text]


async def test_ten_threads_in_one_channel_without_429(redis_url: str, prefix: str) -> None:
    async with teams_bridge(redis_url, prefix, tokens_per_second=60) as env:
        emu = env.teams
        emu.enforce_limits()
        answers = [f"Answer number {i}: " + "word " * 30 for i in range(10)]
        env.neuroflash.script(*answers)
        roots = [await emu.channel_post(f"question {i}") for i in range(10)]
        await env.wait(
            lambda: sorted(emu.thread_text(r.id) for r in roots) == sorted(answers), timeout=80
        )
        assert emu.rate_limited == 0
        assert emu.windows.peak[CHANNEL] <= 7
