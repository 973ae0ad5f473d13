"""One way to build the HTTP clients that talk to providers: pooled for thousands of streams,
with explicit timeouts (httpx's 5 s default read timeout kills slow first tokens).

Each stream holds its connection for the whole reply, so the pool must be at least as large
as the streams a process runs at once (`PROVIDER_MAX_CONNECTIONS`). A smaller pool queues
replies for a connection; and httpcore walks every queued request at each pool event, so
1,000 streams on 512 connections cost 15 s of CPU where 2,048 connections cost 2 s. Idle
connections are all kept, so the next burst reuses them instead of connecting again.

Whether any request still waits for one is measured: httpcore's `trace` extension names the
moment a request has its connection (a new one's TCP connect complete, or a pooled one's
request headers going out), and the time from the request's start to it is reported.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bridge.config import Settings

CONNECTED = frozenset(
    {
        "connection.connect_tcp.complete",
        "http11.send_request_headers.started",
        "http2.send_request_headers.started",
    }
)
"""httpcore trace events, the first of which means the request has a connection."""


def provider_client(
    settings: Settings,
    base_url: str,
    *,
    connection_wait: Callable[[float], None] | None = None,
    **kwargs: object,
) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` for one provider base URL, sized for many concurrent streams;
    `connection_wait` is given each request's wait for a connection, in seconds."""
    timeout = httpx.Timeout(
        connect=settings.provider_connect_timeout,
        read=settings.provider_read_timeout,
        write=30.0,
        pool=30.0,
    )
    size = settings.provider_max_connections
    limits = httpx.Limits(
        max_connections=size, max_keepalive_connections=size, keepalive_expiry=30.0
    )
    hooks = {"request": [timed_connection(connection_wait)]} if connection_wait else {}
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/") + "/",
        timeout=timeout,
        limits=limits,
        trust_env=False,
        event_hooks=hooks,
        **kwargs,  # type: ignore[arg-type]
    )


def timed_connection(
    observe: Callable[[float], None],
) -> Callable[[httpx.Request], Awaitable[None]]:
    """A request hook that traces the request until it has a connection, then reports how
    long that took (once; the trace's later events only cost a comparison)."""

    async def on_request(request: httpx.Request) -> None:
        started = time.monotonic()
        waiting = True

        async def trace(name: str, info: dict[str, Any]) -> None:
            nonlocal waiting
            if waiting and name in CONNECTED:
                waiting = False
                observe(time.monotonic() - started)

        request.extensions["trace"] = trace

    return on_request
