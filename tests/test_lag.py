"""A process whose event loop lags stops taking new posts and leaves them to another replica.

The gate's logic is tested on its own with explicit times; the end-to-end test starves a real
`threadbridge run` process of CPU (SIGSTOP/SIGCONT) beside a healthy one (tests/procs.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

from bridge.lag import LagGate
from emulators.neuroflash.state import default_reply
from tests.procs import cluster, wait_until

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
        assert lagging.log().count("reply done") == 0, lagging.tail()
        assert healthy.log().count("reply done") == len(questions), healthy.tail()
