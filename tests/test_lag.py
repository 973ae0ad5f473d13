"""A process whose event loop lags, or whose messenger connection runs behind, stops taking new
posts and leaves them to another replica (or to later).

The gate's logic is tested on its own with explicit times; the end-to-end test starves a real
`threadbridge run` process of CPU (SIGSTOP/SIGCONT) beside a healthy one (tests/procs.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
from pathlib import Path

import pytest

from adapters.discord.heartbeat import lateness
from bridge.lag import LagGate, furthest_behind
from emulators.neuroflash.state import default_reply
from tests.harness import Env, discord_bridge
from tests.procs import cluster, wait_until

pytestmark = pytest.mark.alone
"""Timing under enforced rate limits: run when no other test file loads the machine."""

CHANNEL = "C1"
MENTION = "<@UBOT>"


def test_the_gate_closes_on_a_lag_past_the_limit_and_stays_closed_until_calm() -> None:
    gate = LagGate(limit=1.0, calm=5.0)
    gate.observe(0.3, now=0.0)
    assert gate.is_open(0.0)
    gate.observe(1.5, now=10.0)
    assert not gate.is_open(10.0)
    gate.observe(0.6, now=12.0)
    assert not gate.is_open(16.0), "a lag above half the limit while closed keeps it closed"
    gate.observe(0.2, now=16.5)
    assert not gate.is_open(16.9)
    assert gate.is_open(17.0)


def test_a_limit_of_zero_never_closes_the_gate() -> None:
    gate = LagGate(limit=0.0)
    gate.observe(30.0, now=1.0)
    assert gate.is_open(1.0)
    assert gate.lag == 30.0


async def starve(pid: int, stopped: float = 0.5, running: float = 0.1) -> None:
    """Let `pid` run a tenth of the time, as on a machine with far too little CPU for it."""
    while True:
        os.kill(pid, signal.SIGSTOP)
        await asyncio.sleep(stopped)
        os.kill(pid, signal.SIGCONT)
        await asyncio.sleep(running)


async def test_a_lagging_replica_leaves_new_posts_to_the_other(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    async with cluster(redis_url, prefix, tmp_path) as c:
        c.replicas.env["BRIDGE_MAX_LOOP_LAG_SECONDS"] = "0.2"
        (lagging,) = await c.start(1)
        stalls = asyncio.create_task(starve(lagging.pid))
        try:
            await wait_until(lambda: "leaving new posts" in lagging.log(), 30, "the gate closing")
            (healthy,) = await c.start(1)
            questions = [f"question {i}" for i in range(6)]
            roots = [
                await c.slack.user_post(CHANNEL, f"{MENTION} {q}", wait=True) for q in questions
            ]
            await wait_until(
                lambda: all(
                    [m.text for m in c.slack.bot_replies(CHANNEL, root)] == [default_reply(q)]
                    for root, q in zip(roots, questions, strict=True)
                ),
                60,
                "every post answered",
            )
        finally:
            stalls.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stalls
            os.kill(lagging.pid, signal.SIGCONT)
        await wait_until(
            lambda: healthy.log().count("reply done") == len(questions),
            10,
            "the healthy replica logging every reply done (it logs after the final write lands)",
        )
        assert lagging.log().count("reply done") == 0, lagging.tail()


def test_the_gate_closes_while_events_arrive_late_and_reopens_once_calm() -> None:
    gate = LagGate(limit=1.0, calm=5.0, behind_limit=3.0)
    gate.observe(0.0, now=0.0, behind=2.0)
    assert gate.is_open(0.0)
    gate.observe(0.0, now=1.0, behind=3.5)
    assert not gate.is_open(1.0)
    assert "events arrive 3.50s behind" in gate.reason()
    gate.observe(0.0, now=4.0, behind=1.6)
    assert not gate.is_open(8.9), "above half the limit while closed keeps it closed"
    gate.observe(0.0, now=9.0, behind=0.2)
    assert gate.is_open(9.0)


def test_a_gateway_limit_of_zero_never_closes_the_gate() -> None:
    gate = LagGate(limit=1.0, behind_limit=0.0)
    gate.observe(0.1, now=1.0, behind=60.0)
    assert gate.is_open(1.0)


def test_the_loop_and_the_gateway_each_close_the_gate_on_their_own_limit() -> None:
    gate = LagGate(limit=1.0, behind_limit=3.0)
    gate.observe(1.5, now=1.0, behind=0.1)
    assert not gate.is_open(1.0) and "event loop runs 1.50s behind" in gate.reason()


def test_gateway_lateness_is_a_late_ack_or_the_age_of_one_awaited() -> None:
    assert lateness(0.2, last_send=10.0, last_ack=10.2, now=30.0) == 0.2
    assert lateness(0.2, last_send=40.0, last_ack=10.2, now=43.5) == 3.5
    assert lateness(math.inf, last_send=1.0, last_ack=1.0, now=2.0) == 0.0


def test_an_ack_read_before_its_send_was_noted_is_no_lateness() -> None:
    """discord.py stamps a heartbeat's send in its keep-alive thread after the loop sent it;
    a prompt ACK is often read first, and its `latency` spans the whole interval before."""
    assert lateness(41.2, last_send=50.003, last_ack=50.001, now=58.0) == 0.0
    assert lateness(41.2, last_send=50.0, last_ack=8.8, now=58.0) == 8.0


class Stuck:
    def behind(self) -> float:
        raise RuntimeError("no connection yet")


class Late:
    def behind(self) -> float:
        return 4.0


def test_the_furthest_behind_source_counts_and_one_that_cannot_say_keeps_up() -> None:
    assert furthest_behind([Stuck(), Late()]) == 4.0
    assert furthest_behind([]) == 0.0


async def late_heartbeats(env: Env, count: int) -> None:
    """Wait until the gateway has answered `count` more heartbeats (one a second here)."""
    acks = env.discord.gateway.acks
    await env.wait(lambda: env.discord.gateway.acks >= acks + count, 30)


async def test_a_gateway_answering_heartbeats_late_pauses_new_posts_until_it_keeps_up(
    redis_url: str, prefix: str
) -> None:
    """The Discord emulator answers each heartbeat 0.8 s late (the limit 0.4 s): the process
    stops taking new posts; a mention meanwhile waits in the inbox, unanswered over two more
    late heartbeats, and is answered once the gateway keeps up again."""
    async with discord_bridge(
        redis_url, prefix, discord_heartbeat=1.0, bridge_max_gateway_lag_seconds=0.4
    ) as env:
        emu = env.discord
        metrics = env.runtime.metrics
        emu.heartbeat_ack_delay = 0.8
        await env.wait(lambda: metrics.value("inbox_paused") == 1, 30)
        assert metrics.value("gateway_behind_seconds") > 0.4
        await late_heartbeats(env, 3)  # an inbox read begun before it closed (≤ 1 s) is over
        env.neuroflash.script("Later.")
        post = await emu.user_message(emu.channel.id, "hello", mentions_bot=True)
        await env.wait(lambda: metrics.value("posts_received_total", platform="discord") == 1)
        await late_heartbeats(env, 2)
        assert env.discord_text(post.id) == "" and metrics.value("inbox_paused") == 1
        emu.heartbeat_ack_delay = 0.0
        await env.wait(lambda: env.discord_text(post.id) == "Later.", 30)
        assert metrics.value("inbox_paused") == 0
