"""Teams' documented limits are kept for every Bot Connector call by when it can have arrived:
granted writes that a busy loop sends late do not land in the same window as the next ones, and
calls made outside a reply take their permit as they leave. (The window itself is tested in
`test_arrival_window`.)"""

from __future__ import annotations

import asyncio

import pytest
from yarl import URL

from adapters.teams.pace import conversation_of
from bridge.contracts import Priority, writing
from emulators.teams import CHANNEL
from tests.teams_kit import channel_thread, teams_bridge

pytestmark = pytest.mark.alone
"""Timing under enforced limits: run when no other test file loads the machine."""


def test_a_call_counts_on_its_conversation_and_a_thread_on_its_channel() -> None:
    base = "https://smba.trafficmanager.net/amer/v3/conversations"
    thread = URL(f"{base}/19%3Aabc%40thread.tacv2%3Bmessageid%3D17/activities/17", encoded=True)
    assert conversation_of(thread) == "19:abc@thread.tacv2"
    assert conversation_of(URL(f"{base}/a%3Apersonal/activities", encoded=True)) == "a:personal"
    assert conversation_of(URL(base)) == ""
    token = URL("https://login.microsoftonline.com/tenant/oauth2/v2.0/token")
    assert conversation_of(token) is None
    assert conversation_of(URL("https://login.botframework.com/v1/.well-known/keys")) is None


async def test_granted_requests_that_leave_late_wait_for_the_window_by_send_time(
    redis_url: str, prefix: str
) -> None:
    """A second's seven permits of a channel, sent a second late (a busy loop), then one more
    permit sent as soon as it is granted: by grant time they are apart, by send time all eight
    would reach Teams within one second, so the eighth waits for the window; no 429."""
    async with teams_bridge(redis_url, prefix) as env:
        emu = env.teams
        thread = await channel_thread(env)
        budget, scopes, activity = thread.budget, thread.scopes, thread.activity("late")

        async def send() -> None:
            async with writing(Priority.FINAL):
                await thread.connector.send(emu.service_url, thread.where, activity)

        async def late() -> None:
            await asyncio.sleep(1.0)
            await asyncio.gather(*(send() for _ in range(7)))

        for _ in range(7):
            await budget.acquire(scopes, priority=Priority.FINAL)
        held = asyncio.create_task(late())
        await budget.acquire(scopes, priority=Priority.FINAL)
        await send()
        await held
        assert emu.rate_limited == 0
        assert len(emu.bot_messages(CHANNEL, thread.root)) == 8


async def test_calls_outside_replies_take_their_permits(redis_url: str, prefix: str) -> None:
    """Twenty posts into a channel made outside any reply, at once: each takes its permit as it
    leaves, so none draws a 429."""
    async with teams_bridge(redis_url, prefix) as env:
        emu = env.teams
        thread = await channel_thread(env)
        activity = thread.activity("aside")
        sends = (thread.connector.send(emu.service_url, thread.where, activity) for _ in range(20))
        await asyncio.wait_for(asyncio.gather(*sends), 60)
        assert emu.rate_limited == 0
        assert len(emu.bot_messages(CHANNEL, thread.root)) == 20
