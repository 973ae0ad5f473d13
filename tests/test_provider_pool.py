"""A reply never waits for a connection to its provider because of the bridge's own pool: as
many streams as the pool allows are open at the same moment (real httpx over loopback)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from aiohttp import web

from bridge.contracts import ProviderContext, ProviderOptions
from bridge.contracts.toolkit.http import ShardedTransport, provider_client
from bridge.store import Store
from tests.loopback import serving

STREAMS = 600
"""More than the 512 connections the pool once had: the 513th stream waited for one."""
HOLD = 0.3
"""How long the server takes to answer a request in the one-connection test."""


async def test_every_stream_gets_its_connection_at_once(store: Store) -> None:
    """Each stream stays open until all of them have reached the server, so any stream
    queued behind the pool would never arrive; also reports the longest connection wait."""
    arrived = 0
    everyone = asyncio.Event()

    async def stream(request: web.Request) -> web.StreamResponse:
        nonlocal arrived
        arrived += 1
        if arrived == STREAMS:
            everyone.set()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await everyone.wait()
        await response.write(b"data: done\n\n")
        return response

    app = web.Application()
    app.router.add_get("/stream", stream)
    context = ProviderContext(store.thread_state)
    waits: list[float] = []

    async def one(client: Any) -> None:
        started = time.monotonic()

        async def trace(name: str, info: dict[str, Any]) -> None:
            if name == "http11.send_request_headers.started":
                waits.append(time.monotonic() - started)

        async with client.stream("GET", "stream", extensions={"trace": trace}) as response:
            assert await response.aread() == b"data: done\n\n"

    async with (
        serving(app, backlog=STREAMS) as port,
        provider_client(context, f"http://127.0.0.1:{port}") as client,
    ):
        await asyncio.wait_for(asyncio.gather(*(one(client) for _ in range(STREAMS))), 60)
    assert len(waits) == STREAMS
    print(f"longest wait for a provider connection, {STREAMS} streams: {max(waits):.3f}s")


async def test_a_request_queued_for_a_connection_reports_its_wait(store: Store) -> None:
    """With one connection, the second of two requests waits for the first (held 0.3 s): the
    client's `connection_wait` gets that wait, and about none for the first."""

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(HOLD)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/slow", slow)
    waits: list[float] = []
    context = ProviderContext(store.thread_state, ProviderOptions(max_connections=1), waits.append)
    async with serving(app) as port:
        url = f"http://127.0.0.1:{port}"
        async with provider_client(context, url) as client:
            await asyncio.gather(client.get("slow"), client.get("slow"))
    assert len(waits) == 2
    assert min(waits) < HOLD / 2 and max(waits) >= HOLD * 0.9, waits


async def test_streams_spread_over_small_pools_and_free_them_when_closed() -> None:
    """Every request goes to the least busy of the small pools, so 100 open streams over four
    pools of 25 fill them evenly (none queues, no pool walks more than 25), and closing the
    responses gives every pool back its room."""

    opened = 0
    everyone = asyncio.Event()

    async def stream(request: web.Request) -> web.StreamResponse:
        nonlocal opened
        opened += 1
        if opened == 100:
            everyone.set()
        response = web.StreamResponse()
        await response.prepare(request)
        await everyone.wait()
        await response.write(b"done")
        return response

    app = web.Application()
    app.router.add_get("/stream", stream)
    transport = ShardedTransport(100, shard_size=32)
    seen_busy: list[list[int]] = []

    async def one(client: Any) -> None:
        async with client.stream("GET", "stream") as response:
            seen_busy.append(list(transport._busy))
            assert await response.aread() == b"done"

    async with (
        serving(app) as port,
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}/", transport=transport, timeout=30
        ) as client,
    ):
        await asyncio.wait_for(asyncio.gather(*(one(client) for _ in range(100))), 30)
        assert len(transport._pools) == 4
        fullest = max(seen_busy, key=sum)
        assert sum(fullest) == 100 and max(fullest) - min(fullest) <= 1, fullest
        assert transport._busy == [0, 0, 0, 0]
