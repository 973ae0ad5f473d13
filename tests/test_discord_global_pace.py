"""The bot's global limit is kept for every request discord.py sends, by the time it is sent:
requests the bridge makes outside a reply's write take their permit too, and a batch of granted
writes that a busy loop held back does not land in the same Discord window as the next batch.
(`granted()` marks requests as a reply's writes, whose permits the render took.) The window
itself is tested in `test_arrival_window`.
"""

from __future__ import annotations

import asyncio

import pytest

from adapters.discord.surface import global_allowance
from bridge.contracts import Priority, writing
from tests.harness import discord_bridge

pytestmark = pytest.mark.alone
"""Timing under an enforced global limit: run when no other test file loads the machine."""

PER_SECOND = 10


async def test_requests_outside_replies_count_on_the_global_limit(
    redis_url: str, prefix: str
) -> None:
    """Thirty lookups of discord.py's own, at once, while four replies start: no 429.

    Without the pace the lookups pass the shared budget by and overflow Discord's window."""
    async with discord_bridge(
        redis_url, prefix, discord_requests_per_second=float(PER_SECOND)
    ) as env:
        emu = env.discord
        emu.enforce_limits(per_channel=None, per_seconds=5.0, global_per_second=PER_SECOND)
        (adapter,) = env.runtime.adapters
        http = adapter.client.http  # type: ignore[attr-defined]
        env.neuroflash.script(*(f"Answer {i}." for i in range(4)))
        posts = [
            await emu.user_message(emu.channel.id, f"question {i}", mentions_bot=True)
            for i in range(4)
        ]
        lookups = [http.get_channel(emu.channel.id) for _ in range(30)]
        await asyncio.gather(*lookups)
        await env.wait(
            lambda: all(env.discord_text(p.id).startswith("Answer") for p in posts), timeout=30
        )
        assert emu.rate_limited == 0, dict(emu.rate_limited_by_route)


async def test_granted_requests_that_leave_late_wait_for_the_window_by_send_time(
    redis_url: str, prefix: str
) -> None:
    """Two windows' worth of granted requests, the first sent 0.3 s after its permits (a busy
    loop), the second on time a window later: by send time the second batch would land in the
    same Discord second as the first, so it waits for it; no 429."""
    async with discord_bridge(
        redis_url, prefix, discord_requests_per_second=float(PER_SECOND)
    ) as env:
        emu = env.discord
        (adapter,) = env.runtime.adapters
        http = adapter.client.http  # type: ignore[attr-defined]
        emu.enforce_limits(per_channel=None, per_seconds=5.0, global_per_second=PER_SECOND)
        length = global_allowance(PER_SECOND).rate.window

        async def batch(delay: float) -> None:
            await asyncio.sleep(delay)
            async with writing(Priority.FINAL):
                await asyncio.gather(*(http.get_channel(emu.channel.id) for _ in range(PER_SECOND)))

        await asyncio.gather(batch(0.3), batch(length))
        assert emu.rate_limited == 0, dict(emu.rate_limited_by_route)
