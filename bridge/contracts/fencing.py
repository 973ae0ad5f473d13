"""The lease fence, checked again at the moment a messenger request leaves the process.

A write can wait a long time inside a client library (discord.py queues requests behind its own
per-bucket lock and 429 sleeps; slack_sdk retries) after the lease was checked. If the lease
lapsed meanwhile, another owner may already have written the final text, and the late write
would overwrite it. The reply's surface (`bridge.recording`) sets the fence for the duration of
a write; the plugin's HTTP client calls it just before each request is sent: an aiohttp trace
(`fence_requests`) or httpx event hooks (`httpx_fence`), whichever client the plugin uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import SimpleNamespace
from typing import Any

import httpx
from aiohttp import ClientSession, TraceConfig, TraceRequestStartParams

Fence = Callable[[], None]
"""Raises (`LeaseLost`, a `Fenced`) when this process may no longer write to the reply."""

HttpxHook = Callable[[httpx.Request], Any]
"""An httpx `event_hooks["request"]` entry (async for an `httpx.AsyncClient`)."""

SENDING = frozenset({"http11.send_request_headers.started", "http2.send_request_headers.started"})
"""httpcore trace events that mean the request, with its connection, is about to go out."""

_current: ContextVar[Fence | None] = ContextVar("threadbridge_write_fence", default=None)


@contextmanager
def fenced(fence: Fence | None) -> Iterator[None]:
    """Every messenger request made inside this block is checked against `fence` first."""
    token = _current.set(fence)
    try:
        yield
    finally:
        _current.reset(token)


def check() -> None:
    """Call the fence of the write in progress, if any."""
    fence = _current.get()
    if fence is not None:
        fence()


def fence_requests(trace: TraceConfig) -> TraceConfig:
    """Make `trace` check the current write's fence before each request it sees is sent, and
    again once a request that queued for one of the session's connections gets it."""

    async def on_start(_: ClientSession, __: SimpleNamespace, ___: TraceRequestStartParams) -> None:
        check()

    async def on_dequeued(_: ClientSession, __: SimpleNamespace, ___: object) -> None:
        check()

    trace.on_request_start.append(on_start)
    trace.on_connection_queued_end.append(on_dequeued)
    return trace


def httpx_fence() -> dict[str, list[HttpxHook]]:
    """Event hooks for an `httpx.AsyncClient` (`event_hooks=`, or merged into the client's):
    the fence is checked before each request is sent, and again when its connection is ready
    (after any wait for one of the pool's connections), through httpcore's trace extension."""

    async def on_request(request: httpx.Request) -> None:
        check()
        inner = request.extensions.get("trace")

        async def trace(name: str, info: dict[str, Any]) -> None:
            if name in SENDING:
                check()
            if inner is not None:
                await inner(name, info)

        request.extensions["trace"] = trace

    return {"request": [on_request]}
