"""One way to build the HTTP clients that talk to providers: pooled for hundreds of streams,
with explicit timeouts (httpx's 5 s default read timeout kills slow first tokens)."""

from __future__ import annotations

import httpx

from bridge.config import Settings

MAX_CONNECTIONS = 512


def provider_client(settings: Settings, base_url: str, **kwargs: object) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` for one provider base URL, sized for many concurrent streams."""
    timeout = httpx.Timeout(
        connect=settings.provider_connect_timeout,
        read=settings.provider_read_timeout,
        write=30.0,
        pool=30.0,
    )
    limits = httpx.Limits(
        max_connections=MAX_CONNECTIONS,
        max_keepalive_connections=MAX_CONNECTIONS // 4,
        keepalive_expiry=30.0,
    )
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/") + "/",
        timeout=timeout,
        limits=limits,
        trust_env=False,
        **kwargs,  # type: ignore[arg-type]
    )
