"""A write whose lease lapsed while it waited inside the client library never reaches the
messenger: the fence is checked again as each request leaves (bridge.contracts.fencing), with
aiohttp and with httpx; and each request of either client is counted (bridge.contracts.metering)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
import discord
import httpx
import pytest
import yarl
from aiohttp import web

from bridge.contracts.fencing import fence_requests, fenced, httpx_fence
from bridge.contracts.metering import http_trace, httpx_trace
from bridge.lease import LeaseLost
from bridge.metrics import Metrics
from emulators.discord import DiscordEmulator
from tests.loopback import serving

TOKEN = "test-token"


class LapsesAfter:
    """A fence that lets `n` requests through, then says the lease is gone."""

    def __init__(self, n: int) -> None:
        self.allowed = n
        self.checks = 0

    def __call__(self) -> None:
        self.checks += 1
        if self.checks > self.allowed:
            raise LeaseLost("test")


async def test_request_is_refused_when_its_fence_fails_and_passes_outside_any_fence() -> None:
    seen: list[str] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/{name}", record)
    trace = fence_requests(aiohttp.TraceConfig())
    async with serving(app) as port, aiohttp.ClientSession(trace_configs=[trace]) as session:
        with fenced(LapsesAfter(0)), pytest.raises(LeaseLost):
            await session.post(f"http://127.0.0.1:{port}/stale")
        with fenced(LapsesAfter(1)):
            async with session.post(f"http://127.0.0.1:{port}/current") as response:
                assert response.status == 200
        async with session.post(f"http://127.0.0.1:{port}/unfenced") as response:
            assert response.status == 200
    assert seen == ["/current", "/unfenced"]


class Client(discord.Client):
    def __init__(self) -> None:
        trace = fence_requests(aiohttp.TraceConfig())
        super().__init__(intents=discord.Intents.default(), http_trace=trace)


@pytest.fixture
async def emu(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[DiscordEmulator]:
    emulator = DiscordEmulator(token=TOKEN, heartbeat_interval=0.5)
    await emulator.start()
    monkeypatch.setattr(discord.http.Route, "BASE", emulator.api_url)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(emulator.gateway_url)
    )
    yield emulator
    await emulator.stop()


async def test_discord_write_queued_behind_a_429_is_dropped_once_the_lease_lapsed(
    emu: DiscordEmulator,
) -> None:
    """discord.py sleeps out a 429 and sends again; by then the lease is gone: no second try."""
    emu.enforce_limits(per_channel=1, per_seconds=1.0, headers=False)
    client = Client()
    await client.login(TOKEN)
    try:
        channel = client.get_partial_messageable(emu.channel.id)
        await channel.send("first")
        fence = LapsesAfter(1)
        with fenced(fence), pytest.raises(LeaseLost):
            await asyncio.wait_for(channel.send("stale"), timeout=10)
        assert fence.checks == 2
        assert emu.rate_limited >= 1
        assert [m.content for m in emu.bot_messages(emu.channel.id)] == ["first"]
    finally:
        with contextlib.suppress(Exception):
            await client.close()


async def test_request_queued_for_a_connection_is_refused_if_its_fence_failed_meanwhile() -> None:
    """The session's only connection is busy; the lease lapses while a write waits for it."""
    seen: list[str] = []
    arrived, release = asyncio.Event(), asyncio.Event()

    async def record(request: web.Request) -> web.Response:
        seen.append(request.path)
        arrived.set()
        if request.path == "/busy":
            await release.wait()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/{name}", record)
    trace = fence_requests(aiohttp.TraceConfig())
    connector = aiohttp.TCPConnector(limit=1)
    async with (
        serving(app) as port,
        aiohttp.ClientSession(connector=connector, trace_configs=[trace]) as session,
    ):
        busy = asyncio.create_task(session.post(f"http://127.0.0.1:{port}/busy"))
        await asyncio.wait_for(arrived.wait(), 10)
        fence = LapsesAfter(1)
        with fenced(fence):
            stale = asyncio.create_task(session.post(f"http://127.0.0.1:{port}/stale"))
        await asyncio.sleep(0)
        assert fence.checks == 1, "the request has passed the fence and waits for a connection"
        release.set()
        with pytest.raises(LeaseLost):
            await stale
        (await busy).release()
    assert seen == ["/busy"]
    assert fence.checks == 2


def recording_app(seen: list[str]) -> web.Application:
    """Answers any POST; `/limited` with a 429."""

    async def record(request: web.Request) -> web.Response:
        seen.append(request.path)
        status = 429 if request.path == "/limited" else 200
        return web.json_response({"ok": status == 200}, status=status)

    app = web.Application()
    app.router.add_post("/{name}", record)
    return app


async def test_httpx_request_is_refused_before_it_is_sent_when_its_fence_fails() -> None:
    seen: list[str] = []
    async with (
        serving(recording_app(seen)) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", event_hooks=httpx_fence()) as client,
    ):
        with fenced(LapsesAfter(0)), pytest.raises(LeaseLost):
            await client.post("/stale")
        late = LapsesAfter(1)
        with fenced(late), pytest.raises(LeaseLost):
            await client.post("/lapsed-while-connecting")
        assert late.checks == 2, "checked again once the request had its connection"
        with fenced(LapsesAfter(2)):
            assert (await client.post("/current")).status_code == 200
        assert (await client.post("/unfenced")).status_code == 200
    assert seen == ["/current", "/unfenced"]


def by_path(method: str, url: httpx.URL | yarl.URL) -> str:
    return f"{method} {url.path}"


async def test_each_httpx_and_aiohttp_request_is_counted_and_its_429_too() -> None:
    metrics, seen = Metrics(), []
    async with serving(recording_app(seen)) as port:
        base = f"http://127.0.0.1:{port}"
        hooks = httpx_trace(metrics, "chat", by_path)
        async with httpx.AsyncClient(base_url=base, event_hooks=hooks) as client:
            await client.post("/ok")
            await client.post("/ok")
            await client.post("/limited")
        trace = http_trace(metrics, "other", by_path)
        async with (
            aiohttp.ClientSession(trace_configs=[trace]) as session,
            session.post(f"{base}/limited") as response,
        ):
            assert response.status == 429
    assert metrics.value("messenger_calls_total", platform="chat", method="POST /ok") == 2
    assert metrics.value("messenger_calls_total", platform="chat", method="POST /limited") == 1
    limited = ("messenger_rate_limited_total", "POST /limited")
    assert metrics.value(limited[0], platform="chat", method=limited[1]) == 1
    assert metrics.value(limited[0], platform="other", method=limited[1]) == 1
    assert metrics.value(limited[0], platform="chat", method="POST /ok") == 0
    assert len(seen) == 4
