"""Nothing holds a thread. A reply that streams forever, sends only keep-alives or
grows past the size cap is cut: the text shown is kept, a notice appended, the stream cancelled
at the provider, and the next post in the same thread is answered."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from bridge.contracts.toolkit.sse import retry_after_seconds
from bridge.contracts.toolkit.waits import MAX_WAIT, WaitBudget, WaitBudgetSpent, capped_wait
from bridge.deadlines import NOTICES
from emulators.base import Fault
from emulators.openai_compat import OpenAIEmulator
from tests.harness import Env, slack_bridge

CHANNEL = "C1"
MENTION = "<@UBOT>"


async def cut_then_next_answered(env: Env, fault: Fault, reason: str) -> str:
    """Post into a thread whose reply never ends; return the text the cut reply shows."""
    env.neuroflash.fail_next("stream", fault)
    root = await env.slack.user_post(CHANNEL, f"{MENTION} tell me everything")
    await env.wait(lambda: env.reply_text(CHANNEL, root).endswith(NOTICES[reason]), timeout=30)
    shown = env.reply_text(CHANNEL, root)
    await env.wait(lambda: len(env.neuroflash.calls_to("message-streams", "DELETE")) == 1)
    env.neuroflash.script("The next answer.")
    await env.slack.user_post(CHANNEL, "and now?", thread_ts=root)
    await env.wait(lambda: env.reply_text(CHANNEL, root).endswith("The next answer."))
    return shown


async def test_reply_that_streams_forever_is_cut_at_the_wall_clock_deadline(
    redis_url: str, prefix: str
) -> None:
    overrides = {"bridge_reply_timeout_seconds": 3.0, "bridge_idle_timeout_seconds": 60.0}
    async with slack_bridge(redis_url, prefix, **overrides) as env:
        shown = await cut_then_next_answered(env, Fault("forever", delay=0.05), "time")
        assert shown.startswith("more more")


async def test_reply_of_only_keepalives_is_cut_at_the_idle_deadline(
    redis_url: str, prefix: str
) -> None:
    overrides = {"bridge_reply_timeout_seconds": 120.0, "bridge_idle_timeout_seconds": 2.0}
    async with slack_bridge(redis_url, prefix, **overrides) as env:
        shown = await cut_then_next_answered(env, Fault("keepalive", delay=0.1), "idle")
        assert shown == f"> {NOTICES['idle']}"


async def test_runaway_reply_is_cut_at_the_size_cap(redis_url: str, prefix: str) -> None:
    overrides = {"bridge_max_reply_chars": 500}
    async with slack_bridge(redis_url, prefix, **overrides) as env:
        shown = await cut_then_next_answered(env, Fault("forever", delay=0.002), "size")
        assert shown == ("more " * 100).rstrip() + f"\n\n> {NOTICES['size']}"


@pytest.mark.parametrize("kind", ["keepalive", "forever"])
async def test_openai_compatible_stream_that_never_ends_frees_the_thread(
    redis_url: str, prefix: str, kind: str
) -> None:
    """The same guarantee for the shared chat emulator's endless streams (openai-compatible)."""
    emu = OpenAIEmulator()
    await emu.start()
    overrides = {
        "bridge_provider": "openai",
        "openai_base_url": emu.base_url,
        "openai_model": "llama3",
        "bridge_reply_timeout_seconds": 4.0,
        "bridge_idle_timeout_seconds": 2.0,
    }
    reason = "idle" if kind == "keepalive" else "time"
    try:
        async with slack_bridge(redis_url, prefix, **overrides) as env:
            emu.script("tick ")
            emu.fail_next("chat", Fault(kind, delay=0.1))
            root = await env.slack.user_post(CHANNEL, f"{MENTION} go on forever")
            await env.wait(
                lambda: env.reply_text(CHANNEL, root).endswith(NOTICES[reason]), timeout=30
            )
            await env.wait(lambda: emu.aborted == 1)
            emu.script("Next.")
            await env.slack.user_post(CHANNEL, "and now?", thread_ts=root)
            await env.wait(lambda: env.reply_text(CHANNEL, root).endswith("Next."))
    finally:
        await emu.stop()


@pytest.mark.parametrize(
    ("asked", "seconds"),
    [("inf", MAX_WAIT), ("nan", 1.0), ("-5", 0.0), ("2.5", 2.5), ("1e9", MAX_WAIT), ("x", 1.0)],
)
def test_asked_waits_are_capped(asked: str, seconds: float) -> None:
    assert capped_wait(asked) == seconds
    response = httpx.Response(429, headers={"Retry-After": asked})
    assert retry_after_seconds(response) == seconds
    if asked != "x":
        assert capped_wait(float(asked)) == seconds
    assert capped_wait(math.inf) == MAX_WAIT


def test_retry_after_may_be_an_http_date() -> None:
    """RFC 9110: `Retry-After` is delay-seconds or an HTTP date."""
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=10), usegmt=True)
    assert 8.0 <= capped_wait(soon) <= 10.0
    assert capped_wait(format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)) == 0
    assert capped_wait("Wed, 21 Oct 2099 07:28:00 GMT") == MAX_WAIT
    assert capped_wait("Wed, 99 Foo 2015") == 1.0


def test_wait_budget_refuses_a_wait_it_cannot_cover() -> None:
    budget = WaitBudget(40.0)
    budget.charge(30.0)
    with pytest.raises(WaitBudgetSpent):
        budget.charge(30.0)
