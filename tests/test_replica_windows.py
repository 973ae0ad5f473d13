"""Two replicas on one shared budget keep a platform's window together: the Redis log counts a
request of either from its grant until a window after its answer, as each process's own
arrival window does, so a request one replica was granted but that reached the platform late
still holds the other replica's requests back. Each replica is its own aiohttp session with
its own arrival window, on one real Redis, against the Discord emulator's global limit and the
Teams emulator's conversation windows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import ClientSession, TraceConfig

from adapters.discord.pace import pace_requests
from adapters.discord.surface import global_allowance
from adapters.teams import pace as teams_pace
from adapters.teams.connector import Connector
from adapters.teams.token import BotToken
from bridge.contracts import Allowance, Priority, writing
from bridge.pacing import EditBudget
from bridge.store import Store
from emulators.base import Fault
from emulators.discord import DiscordEmulator
from emulators.teams import CHANNEL
from tests.teams_kit import channel_thread, teams_bridge

pytestmark = pytest.mark.alone
"""Timing under an enforced global limit: run when no other test file loads the machine."""

PER_SECOND = 10
LATE = 0.5
"""How long after its permit a slow replica's request reaches the platform."""


@pytest.fixture
async def discord() -> AsyncIterator[DiscordEmulator]:
    emu = DiscordEmulator()
    await emu.start()
    emu.enforce_limits(per_channel=None, global_per_second=PER_SECOND)
    try:
        yield emu
    finally:
        await emu.stop()


def replica(budget: EditBudget, allowance: Allowance, api_url: str) -> ClientSession:
    """One replica's session: its own arrival window in its trace, on the shared budget."""
    return ClientSession(trace_configs=[pace_requests(TraceConfig(), budget, allowance, api_url)])


def channel_getter(discord: DiscordEmulator) -> Callable[[ClientSession], Awaitable[int]]:
    """A request for the emulator's channel, as the bot, answering its status."""
    url = f"{discord.api_url}/channels/{discord.channel.id}"
    headers = {"Authorization": f"Bot {discord.token}"}

    async def get(session: ClientSession) -> int:
        async with session.get(url, headers=headers) as answer:
            return answer.status

    return get


async def test_a_replicas_slow_requests_hold_the_others_back_until_a_window_after(
    store: Store, discord: DiscordEmulator
) -> None:
    """Replica A spends the whole second on requests that reach Discord half a second late;
    replica B asks right after. By grant time B may go a second after A's permits, which is
    inside the Discord second A's requests opened; counted until a window after A's answers,
    B waits for it: no 429."""
    allowance = global_allowance(PER_SECOND)
    replicas = [
        replica(EditBudget(store.redis, store.keys), allowance, discord.api_url) for _ in range(2)
    ]

    get = channel_getter(discord)
    try:
        discord.fail_next("get_channel", Fault("slow", delay=LATE), times=PER_SECOND)
        slow = [asyncio.create_task(get(replicas[0])) for _ in range(PER_SECOND)]
        await asyncio.sleep(0.1)
        statuses = await asyncio.gather(*(get(replicas[1]) for _ in range(PER_SECOND)), *slow)
    finally:
        for session in replicas:
            await session.close()
    assert discord.rate_limited == 0, statuses
    assert statuses == [200] * (2 * PER_SECOND)


async def test_a_replicas_writes_sent_late_hold_the_others_back(
    store: Store, discord: DiscordEmulator
) -> None:
    """Replica A's writes take the whole second's permits, as the renderer does, and a busy
    loop sends them half a second later; replica B asks right after. The permits count in
    flight until A's writes are over, so B's requests go a window after them: no 429."""
    allowance = global_allowance(PER_SECOND)
    budgets = [EditBudget(store.redis, store.keys) for _ in range(2)]
    replicas = [replica(budget, allowance, discord.api_url) for budget in budgets]

    get = channel_getter(discord)

    async def late_write() -> int:
        async with writing(Priority.FINAL) as grant:
            await budgets[0].acquire((allowance,), priority=Priority.FINAL, grant=grant)
            await asyncio.sleep(LATE)
            return await get(replicas[0])

    try:
        late = [asyncio.create_task(late_write()) for _ in range(PER_SECOND)]
        await asyncio.sleep(0.1)
        statuses = await asyncio.gather(*(get(replicas[1]) for _ in range(PER_SECOND)), *late)
    finally:
        for session in replicas:
            await session.close()
    assert discord.rate_limited == 0, statuses
    assert statuses == [200] * (2 * PER_SECOND)


async def test_teams_replicas_keep_a_channels_second_together(redis_url: str, prefix: str) -> None:
    """Replica A (the bridge) takes a channel's whole second for seven writes that a busy loop
    sends half a second later; replica B, its own session on the same budget, posts right
    after. By grant time B's post may go a second after A's permits, seven within a second of
    A's posts at Teams; counted until A's writes are over, it waits: no 429."""
    async with teams_bridge(redis_url, prefix) as env:
        emu = env.teams
        thread = await channel_thread(env)
        adapter, connector, budget = thread.adapter, thread.connector, thread.budget
        where, activity = thread.where, thread.activity("late")
        per_second = adapter.settings.requests_per_second
        trace = teams_pace.pace_requests(
            TraceConfig(), budget, emu.auth.tenant, adapter._app, per_second
        )

        async def late_write() -> None:
            async with writing(Priority.FINAL) as grant:
                await budget.acquire(thread.scopes, priority=Priority.FINAL, grant=grant)
                await asyncio.sleep(LATE)
                await connector.send(emu.service_url, where, activity)

        async with ClientSession(trace_configs=[trace]) as session:
            other = Connector(session, BotToken(session, adapter.settings))
            late = [asyncio.create_task(late_write()) for _ in range(7)]
            await asyncio.sleep(0.1)
            await other.send(emu.service_url, where, activity)
            await asyncio.gather(*late)
        assert emu.rate_limited == 0
        assert len(emu.bot_messages(CHANNEL, thread.root)) == 8
