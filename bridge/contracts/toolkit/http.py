"""One way to build the HTTP clients that talk to providers: pooled for thousands of streams,
with explicit timeouts (httpx's 5 s default read timeout kills slow first tokens).

Each stream holds its connection for the whole reply, so the pool must be at least as large
as the streams a process runs at once (`PROVIDER_MAX_CONNECTIONS`). A smaller pool queues
replies for a connection. httpcore's pool is one list: at every request and every response
closed it walks all its connections (and asks each idle one's socket whether it is still
open), so one pool of 1,000 busy connections spends most of the process's CPU on that walk.
The client's connections are therefore spread over small pools (`ShardedTransport`, 32
connections each), each request to the least busy one: the same capacity, a walk of 32.
Idle connections are all kept, so the next burst reuses them instead of connecting again.

Whether any request still waits for one is measured: httpcore's `trace` extension names the
moment a request has its connection (a new one's TCP connect complete, or a pooled one's
request headers going out), and the time from the request's start to it is reported.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from bridge.contracts.provider import ProviderContext

CONNECTED = frozenset(
    {
        "connection.connect_tcp.complete",
        "http11.send_request_headers.started",
        "http2.send_request_headers.started",
    }
)
"""httpcore trace events, the first of which means the request has a connection."""
SHARD_SIZE = 32
"""Connections per pool: large enough that a pool is rarely idle, small enough that its
per-event walk costs nothing next to the streams it serves."""


def provider_client(context: ProviderContext, base_url: str, **kwargs: object) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` for one provider base URL, sized for many concurrent streams,
    with the context's timeouts; the context's `connection_wait` is given each request's wait
    for a connection, in seconds."""
    options = context.options
    timeout = httpx.Timeout(
        connect=options.connect_timeout, read=options.read_timeout, write=30.0, pool=30.0
    )
    wait = context.connection_wait
    hooks = {"request": [timed_connection(wait)]} if wait else {}
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/") + "/",
        timeout=timeout,
        transport=ShardedTransport(options.max_connections),
        trust_env=False,
        event_hooks=hooks,
        **kwargs,  # type: ignore[arg-type]
    )


def timed_connection(
    observe: Callable[[float], None],
) -> Callable[[httpx.Request], Awaitable[None]]:
    """A request hook that traces the request until it has a connection, then reports how
    long that took (once; the trace's later events only cost a comparison). A trace already
    on the request (another hook's) is still called."""

    async def on_request(request: httpx.Request) -> None:
        started = time.monotonic()
        waiting = True
        inner = request.extensions.get("trace")

        async def trace(name: str, info: dict[str, Any]) -> None:
            nonlocal waiting
            if waiting and name in CONNECTED:
                waiting = False
                observe(time.monotonic() - started)
            if inner is not None:
                await inner(name, info)

        request.extensions["trace"] = trace

    return on_request


class ShardedTransport(httpx.AsyncBaseTransport):
    """`size` connections as small pools, opened as they are needed; a request goes to the
    pool with the fewest requests in flight (a streamed response counts until it is closed),
    so no pool queues while the client has room. The pools share one TLS context: each
    would otherwise load the CA bundle again (about 1 MB a pool)."""

    def __init__(self, size: int, shard_size: int = SHARD_SIZE) -> None:
        self._most = math.ceil(size / shard_size)
        self._per_pool = math.ceil(size / self._most)
        self._limits = httpx.Limits(
            max_connections=self._per_pool,
            max_keepalive_connections=self._per_pool,
            keepalive_expiry=30.0,
        )
        self._tls = httpx.create_ssl_context()
        self._pools: list[httpx.AsyncHTTPTransport] = []
        self._busy: list[int] = []

    def _least_busy(self) -> int:
        index = min(range(len(self._pools)), key=self._busy.__getitem__, default=-1)
        if (index < 0 or self._busy[index] >= self._per_pool) and len(self._pools) < self._most:
            self._pools.append(httpx.AsyncHTTPTransport(verify=self._tls, limits=self._limits))
            self._busy.append(0)
            index = len(self._pools) - 1
        return index

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = self._least_busy()
        self._busy[index] += 1
        try:
            response = await self._pools[index].handle_async_request(request)
        except BaseException:
            self._busy[index] -= 1
            raise
        response.stream = _Counted(response.stream, lambda: self._done(index))
        return response

    def _done(self, index: int) -> None:
        self._busy[index] -= 1

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


class _Counted(httpx.AsyncByteStream):
    """A response body that tells its pool's counter, once, that the response is closed."""

    def __init__(
        self, stream: httpx.AsyncByteStream | httpx.SyncByteStream, done: Callable[[], None]
    ) -> None:
        assert isinstance(stream, httpx.AsyncByteStream)
        self._stream = stream
        self._done: Callable[[], None] | None = done

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            done, self._done = self._done, None
            if done is not None:
                done()
