"""A post that cannot be answered goes to the dead-letter stream, is counted,
listed by `threadbridge dead-letters list` and answered after `replay`."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from bridge.cli import main
from bridge.deadletters import DeadLetters
from bridge.keys import Keys
from bridge.render import FINAL_ATTEMPTS
from emulators.base import Fault
from tests.harness import Env, slack_bridge

CHANNEL = "C1"
MENTION = "<@UBOT>"


def metric(env: Env, name: str, **labels: str) -> float:
    return env.runtime.metrics.value(name, **labels)


async def command(monkeypatch: pytest.MonkeyPatch, env: Env, *argv: str) -> int:
    """Run the operator command as a person would (its own event loop, in a thread)."""
    monkeypatch.setenv("REDIS_URL", str(env.settings.redis_url))
    monkeypatch.setenv("BRIDGE_REDIS_PREFIX", env.settings.bridge_redis_prefix)
    return await asyncio.to_thread(main, ["dead-letters", *argv])


async def test_persistent_failure_is_dead_lettered_then_replayed(
    redis_url: str,
    prefix: str,
    redis: Redis,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    overrides = {
        "bridge_max_attempts": 3,
        "bridge_retry_base_seconds": 0.2,
        "slack_reply_mode": "edit",
    }
    async with slack_bridge(redis_url, prefix, **overrides) as env:
        env.slack.fail_next("chat.postMessage", Fault("status", status=500), times=1000)
        env.neuroflash.script("Here it is at last.")
        root = await env.slack.user_post(CHANNEL, f"{MENTION} please answer")
        await env.wait(lambda: metric(env, "dead_letters_total") == 1, timeout=90)
        dead = DeadLetters(redis, Keys(prefix))
        (letter,) = await dead.list()
        assert letter.post.message_id == root
        assert letter.attempts == 3
        assert "500" in letter.reason or "internal_error" in letter.reason
        posts = len(env.slack.calls_to("chat.postMessage"))
        assert 3 * FINAL_ATTEMPTS <= posts <= 3 * (FINAL_ATTEMPTS + 2), "bounded, not a loop"
        assert await command(monkeypatch, env, "list") == 0
        assert letter.id in capsys.readouterr().out

        env.slack.clear_faults("chat.postMessage")
        assert await command(monkeypatch, env, "replay", "--all") == 0
        await env.wait_reply(CHANNEL, root, "Here it is at last.")
        assert await dead.list() == []
        assert len(env.replies(CHANNEL, root)) == 1


async def test_replay_of_an_unknown_id_says_so(
    redis_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        assert await command(monkeypatch, env, "replay", "0-1") == 1
