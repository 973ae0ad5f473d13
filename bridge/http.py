"""One way to build the HTTP clients that talk to providers: pooled for thousands of streams,
with explicit timeouts (httpx's 5 s default read timeout kills slow first tokens).

Each stream holds its connection for the whole reply, so the pool must be at least as large
as the streams a process runs at once (`PROVIDER_MAX_CONNECTIONS`). A smaller pool queues
replies for a connection; and httpcore walks every queued request at each pool event, so
1,000 streams on 512 connections cost 15 s of CPU where 2,048 connections cost 2 s. Idle
connections are all kept, so the next burst reuses them instead of connecting again.
"""

from __future__ import annotations

import httpx

from bridge.config import Settings


def provider_client(settings: Settings, base_url: str, **kwargs: object) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` for one provider base URL, sized for many concurrent streams."""
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
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/") + "/",
        timeout=timeout,
        limits=limits,
        trust_env=False,
        **kwargs,  # type: ignore[arg-type]
    )
