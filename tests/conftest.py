"""Shared fixtures: a real Redis (REDIS_URL, else 127.0.0.1:6379), isolated by a key prefix."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bridge.config import Settings
from bridge.contracts import ProviderContext
from bridge.store import Store

for _var in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_var, None)


@pytest.fixture
def redis_url() -> str:
    return os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


@pytest.fixture
def prefix() -> str:
    return f"test:{uuid.uuid4().hex[:10]}:"


@pytest.fixture
async def redis(redis_url: str, prefix: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    async for key in client.scan_iter(match=f"{prefix}*", count=500):
        await client.delete(key)
    await client.aclose()


@pytest.fixture
async def store(redis: Redis, prefix: str) -> Store:
    return Store(redis, prefix)


def provider_context(settings: Settings, store: Store) -> ProviderContext:
    """What a provider is built with, as the runtime builds it (state kept in `store`)."""
    return ProviderContext(settings, store.thread_state)
