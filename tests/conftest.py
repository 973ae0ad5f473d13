"""Shared fixtures: a real Redis (REDIS_URL, else 127.0.0.1:6379), isolated by a key prefix, and
the provider kit (tests/provider_kit.py) as fixtures for the conformance and per-provider tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from redis.asyncio import Redis

from bridge.config import Settings
from bridge.contracts import Provider, ProviderContext
from bridge.keys import Keys
from bridge.plugins import load_provider
from bridge.registry import Providers
from bridge.registry import provider_context as core_context
from bridge.runtime import Runtime
from bridge.store import Store
from tests.feedback_kit import Ratings
from tests.provider_kit import Bench, Kit, OpenBench, OpenProviders, running

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
def ratings_of(
    redis: Redis,
    redis_url: str,
    prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Callable[[Runtime], Ratings]:
    """The feedback a running bridge kept, as `tests.feedback_kit.Ratings` reads it."""
    return lambda runtime: Ratings(runtime, redis, redis_url, prefix, monkeypatch, capsys)


@pytest.fixture
async def store(redis: Redis, prefix: str) -> Store:
    return Store(redis, Keys(prefix))


# The provider kit ------------------------------------------------------------------------------


def provider_context(settings: Settings, store: Store) -> ProviderContext:
    """Every ProviderContext a test builds comes from here, so a change to it is one edit."""
    return core_context(settings, store.thread_state)


@asynccontextmanager
async def providers_at(kit: Kit, store: Store, root: str, **extra: Any) -> AsyncIterator[Providers]:
    """A process's providers, the kit's as the default, pointed at `root`; closed on exit."""
    providers = Providers(kit.settings(root, **extra), store.thread_state)
    try:
        providers.get(kit.name)
        yield providers
    finally:
        await providers.aclose()


@pytest.fixture
def kit(request: pytest.FixtureRequest) -> Kit:
    """The provider under test: parametrized with `with_kits`, or overridden by a module."""
    return request.param


@pytest.fixture
async def emu(kit: Kit) -> AsyncIterator[Any]:
    async with running(kit) as emulator:
        yield emulator


@pytest.fixture
async def make_provider(kit: Kit, emu: Any, store: Store) -> AsyncIterator[Callable[..., Any]]:
    """Build the kit's provider by its entry point, at `emu`, with settings overrides; each one
    is closed after the test."""
    made: list[Provider] = []

    def make(**extra: Any) -> Any:
        settings = kit.settings(emu.url, **extra)
        provider = load_provider(kit.name, settings, provider_context(settings, store))
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


@pytest.fixture
def provider(make_provider: Callable[..., Any]) -> Any:
    return make_provider()


@pytest.fixture
async def bench(kit: Kit, emu: Any, store: Store) -> AsyncIterator[Bench]:
    async with providers_at(kit, store, emu.url) as providers:
        yield Bench(kit, emu, store, providers)


@pytest.fixture
def open_providers(store: Store) -> OpenProviders:
    """`(kit, root, **settings)`: a second process's providers, pointed somewhere else."""

    def open_(kit: Kit, root: str, **extra: Any) -> AbstractAsyncContextManager[Providers]:
        return providers_at(kit, store, root, **extra)

    return open_


@pytest.fixture
def open_bench(store: Store) -> OpenBench:
    """`(kit, **settings)`: a bench of its own, for a test that needs several or other settings."""

    @asynccontextmanager
    async def open_(kit: Kit, **extra: Any) -> AsyncIterator[Bench]:
        async with running(kit) as emu, providers_at(kit, store, emu.url, **extra) as providers:
            yield Bench(kit, emu, store, providers)

    return open_
