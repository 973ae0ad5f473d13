"""Gauges read from Redis at scrape time are reused for a few seconds, so frequent or
concurrent scrapes do not each query Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from bridge.metrics import REDIS_GAUGES_SECONDS, Cached
from tests.harness import slack_bridge


async def test_a_value_is_loaded_once_per_window() -> None:
    now = [100.0]
    loads: list[float] = []

    async def load() -> float:
        loads.append(now[0])
        await asyncio.sleep(0)
        return now[0]

    cached = Cached(load, 5.0, clock=lambda: now[0])
    assert await asyncio.gather(cached.get(), cached.get(), cached.get()) == [100.0] * 3
    now[0] = 104.9
    assert await cached.get() == 100.0
    now[0] = 105.0
    assert await cached.get() == 105.0
    assert loads == [100.0, 105.0]


async def test_a_failed_load_is_not_kept() -> None:
    calls = []

    async def load() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("redis away")
        return len(calls)

    cached = Cached(load, 60.0)
    with pytest.raises(ConnectionError):
        await cached.get()
    assert await cached.get() == 2
    assert await cached.get() == 2


async def test_two_scrapes_in_the_window_query_redis_once(
    redis_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert REDIS_GAUGES_SECONDS >= 1
    async with slack_bridge(redis_url, prefix) as env:
        handle = env.runtime._redis
        assert handle is not None
        client, xlen = handle.client, handle.client.xlen
        counted: list[str] = []

        def counting(name: Any) -> Any:
            counted.append(name)
            return xlen(name)

        monkeypatch.setattr(client, "xlen", counting)
        url = f"http://127.0.0.1:{env.runtime.http_port}/metrics"
        async with httpx.AsyncClient() as http:
            first = await http.get(url)
            second = await http.get(url)
        assert first.status_code == second.status_code == 200
        assert "threadbridge_inbox_pending" in second.text
        assert len(counted) == env.settings.bridge_inbox_shards, "one backlog read, not two"
