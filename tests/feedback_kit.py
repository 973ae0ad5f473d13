"""What the feedback tests check on every messenger: a press is stored under its thread, counted
by provider and outcome, and listed by `threadbridge feedback list`; once the thread is
forgotten, a press leaves none of the three."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import pytest
from redis.asyncio import Redis

from bridge.cli import main
from bridge.contracts import ThreadKey
from bridge.keys import Keys
from bridge.runtime import Runtime

PROVIDER = "neuroflash"


async def kept(redis: Redis, prefix: str, thread: ThreadKey) -> list[dict[str, Any]]:
    """The ratings stored under `thread`."""
    return [json.loads(v) for v in (await redis.hgetall(Keys(prefix).feedback(thread))).values()]


@dataclass
class Ratings:
    """One bridge's feedback as a test reads it: in Redis, in its metrics, and as an operator
    lists it."""

    runtime: Runtime
    redis: Redis
    redis_url: str
    prefix: str
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]

    async def kept(self, thread: ThreadKey) -> list[dict[str, Any]]:
        return await kept(self.redis, self.prefix, thread)

    def count(self, outcome: str) -> float:
        labels = {"provider": PROVIDER, "outcome": outcome}
        registry = self.runtime.metrics.registry
        return registry.get_sample_value("threadbridge_feedback_total", labels) or 0.0

    async def listed(self, since: str = "1d") -> str:
        """`threadbridge feedback list --since …` as an operator runs it (its own loop, in a
        thread); its output."""
        self.monkeypatch.setenv("REDIS_URL", self.redis_url)
        self.monkeypatch.setenv("BRIDGE_REDIS_PREFIX", self.prefix)
        self.capsys.readouterr()
        assert await asyncio.to_thread(main, ["feedback", "list", "--since", since]) == 0
        return self.capsys.readouterr().out

    async def recorded(
        self, thread: ThreadKey, reply: str, outcome: str, since: str = "1d"
    ) -> dict[str, Any]:
        """The one press on `thread`'s reply to `reply` is stored, counted and listed; the
        stored rating, for the checks of a platform's own."""
        (rating,) = await self.kept(thread)
        assert rating["reply"] == reply and rating["outcome"] == outcome
        assert rating["provider"] == PROVIDER
        assert self.count(outcome) == 1
        out = await self.listed(since)
        (row,) = [line for line in out.splitlines() if str(thread) in line]
        assert f"  {thread.platform}  {thread}  {reply}  {PROVIDER}  {outcome}  " in row
        assert "1 feedback press(es)" in out
        return rating

    async def refused(self, thread: ThreadKey, outcome: str, counted: float = 0) -> None:
        """After `thread` was forgotten, a press with `outcome` was neither stored, nor counted
        (the count stays at `counted`), nor listed."""
        assert await self.kept(thread) == []
        assert self.count(outcome) == counted
        assert str(thread) not in await self.listed()
