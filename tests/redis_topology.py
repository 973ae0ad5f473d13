"""Real Redis Cluster and Sentinel deployments on loopback, for tests: every server is a
`redis-server` process on a free port in a temp folder, killed and reaped on exit."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import RedisError

from tests.procs import die_with_parent, free_port, server_binary

UP_TIMEOUT = 60.0


@dataclass
class Server:
    port: int
    process: asyncio.subprocess.Process
    folder: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> Redis:
        return Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=2, socket_timeout=5)

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()


def cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is valid and free too."""
    while True:
        port = free_port()
        if port + 10000 <= 65535:
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port + 10000))
                except OSError:
                    continue
            return port


async def start_server(folder: Path, *args: str, sentinel: bool = False) -> Server:
    """A redis-server (or Sentinel, with a config file) on a free port, answering PING."""
    port = cluster_port() if "--cluster-enabled" in args else free_port()
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    base = [*("--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder))]
    base += ["--logfile", str(folder / "server.log"), "--save", ""]
    command = [server_binary()]
    if sentinel:
        config = folder / "sentinel.conf"
        await asyncio.to_thread(config.write_text, "\n".join(args) + "\n")
        command += [str(config), "--sentinel", *base]
    else:
        command += [*base, *args]
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )
    server = Server(port, process, folder)
    await until(lambda: ping(server), f"redis-server on port {port} answers")
    return server


async def ping(server: Server) -> bool:
    client = server.client()
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False
    finally:
        await client.aclose()


async def until(
    check: Callable[[], Awaitable[bool]], what: str, timeout: float = UP_TIMEOUT
) -> None:
    """Await `check()` (an async predicate) until it is true."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout:.0f}s: {what}")
        await asyncio.sleep(0.1)


@dataclass
class RedisClusterSet:
    servers: list[Server] = field(default_factory=list)

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{s.port}" for s in self.servers[:3])

    async def roles(self) -> dict[int, tuple[str, str]]:
        """port → (role, node id) as each node reports itself."""
        found: dict[int, tuple[str, str]] = {}
        for server in self.servers:
            client = server.client()
            try:
                role = (await client.execute_command("ROLE"))[0]
                node = (await client.execute_command("CLUSTER", "MYID")).decode()
                found[server.port] = (role.decode() if isinstance(role, bytes) else role, node)
            finally:
                await client.aclose()
        return found

    async def master_of_slot(self, slot: int) -> int:
        client = self.servers[0].client()
        try:
            for start, end, master, *_ in await client.execute_command("CLUSTER", "SLOTS"):
                if int(start) <= slot <= int(end):
                    return int(master[1])
        finally:
            await client.aclose()
        raise LookupError(slot)

    async def replica_of(self, master_port: int) -> Server:
        roles = await self.roles()
        master_id = roles[master_port][1]
        for server in self.servers:
            client = server.client()
            try:
                info = await client.info("replication")
            finally:
                await client.aclose()
            if info.get("role") == "slave" and int(info.get("master_port", 0)) == master_port:
                return server
        raise LookupError(f"no replica of {master_port} ({master_id})")

    async def healthy(self) -> bool:
        for server in self.servers:
            client = server.client()
            try:
                info = (await client.execute_command("CLUSTER", "INFO")).decode()
            except (RedisError, OSError):
                return False
            finally:
                await client.aclose()
            if "cluster_state:ok" not in info:
                return False
        return True


@asynccontextmanager
async def redis_cluster(folder: Path, masters: int = 3) -> AsyncIterator[RedisClusterSet]:
    """`masters` masters with one replica each, formed with plain CLUSTER commands (what
    `redis-cli --cluster create` sends), so the embedded Valkey alone is enough."""
    found = RedisClusterSet()
    try:
        for index in range(masters * 2):
            found.servers.append(
                await start_server(
                    folder / f"node{index}",
                    *("--cluster-enabled", "yes", "--cluster-node-timeout", "2000"),
                    *("--cluster-config-file", "nodes.conf", "--appendonly", "yes"),
                    *("--repl-diskless-sync-delay", "0"),
                )
            )
        await _form_cluster(found.servers[:masters], found.servers[masters:])
        await until(found.healthy, "cluster_state:ok on every node")
        await until(lambda: _replicas_linked(found), "every replica linked to its master")
        yield found
    finally:
        for server in found.servers:
            await server.kill()


SLOTS = 16384


async def _form_cluster(masters: list[Server], replicas: list[Server]) -> None:
    """Meet every node, give each master an even share of the slots, then one replica each."""
    first = masters[0]
    for server in masters + replicas:
        await _command(server, "CLUSTER", "MEET", "127.0.0.1", str(first.port))
    share = SLOTS // len(masters)
    for index, master in enumerate(masters):
        last = SLOTS - 1 if index == len(masters) - 1 else (index + 1) * share - 1
        await _command(master, "CLUSTER", "ADDSLOTSRANGE", str(index * share), str(last))
    await until(lambda: _all_known(masters + replicas), "every node knows every other")
    for master, replica in zip(masters, replicas, strict=True):
        master_id = await _command(master, "CLUSTER", "MYID")
        await _command(replica, "CLUSTER", "REPLICATE", _text(master_id))


async def _all_known(servers: list[Server]) -> bool:
    for server in servers:
        nodes = await _command(server, "CLUSTER", "NODES")
        known = len(nodes) if isinstance(nodes, dict) else len(_text(nodes).splitlines())
        if known < len(servers):
            return False
    return True


async def _command(server: Server, *args: str) -> object:
    client = server.client()
    try:
        return await client.execute_command(*args)
    finally:
        await client.aclose()


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def _replicas_linked(found: RedisClusterSet) -> bool:
    return all([await _linked(server) for server in found.servers])


async def _linked(server: Server) -> bool:
    """True for a master, or a replica whose link to its master is up."""
    client = server.client()
    try:
        info = await client.info("replication")
    finally:
        await client.aclose()
    return info.get("role") != "slave" or info.get("master_link_status") == "up"


@dataclass
class SentinelSet:
    master: Server
    replica: Server
    sentinels: list[Server]
    service: str = "bridgemaster"

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{self.service}/0"

    async def master_port(self) -> int:
        client = self.sentinels[0].client()
        try:
            _, port = await client.execute_command(
                "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service
            )
            return int(port)
        finally:
            await client.aclose()


@asynccontextmanager
async def redis_sentinel(folder: Path, sentinels: int = 3) -> AsyncIterator[SentinelSet]:
    """One master, one replica, `sentinels` Sentinels (quorum: a majority)."""
    async with AsyncExitStack() as stack:
        durable = ("--appendonly", "yes", "--repl-diskless-sync-delay", "0")
        master = await start_server(folder / "master", *durable)
        stack.push_async_callback(master.kill)
        replica = await start_server(
            folder / "replica", *durable, "--replicaof", "127.0.0.1", str(master.port)
        )
        stack.push_async_callback(replica.kill)
        quorum = sentinels // 2 + 1
        watchers = []
        for index in range(sentinels):
            watcher = await start_server(
                folder / f"sentinel{index}",
                f"sentinel monitor bridgemaster 127.0.0.1 {master.port} {quorum}",
                "sentinel down-after-milliseconds bridgemaster 1000",
                "sentinel failover-timeout bridgemaster 10000",
                "sentinel parallel-syncs bridgemaster 1",
                sentinel=True,
            )
            stack.push_async_callback(watcher.kill)
            watchers.append(watcher)
        found = SentinelSet(master, replica, watchers)
        await until(lambda: _linked(replica), "the replica synced with the master")
        await until(lambda: _sentinels_see_replica(found), "Sentinels know the replica")
        yield found


async def _sentinels_see_replica(found: SentinelSet) -> bool:
    for watcher in found.sentinels:
        client = watcher.client()
        try:
            replicas = await client.execute_command("SENTINEL", "REPLICAS", found.service)
            others = await client.execute_command("SENTINEL", "SENTINELS", found.service)
        except (RedisError, OSError):
            return False
        finally:
            await client.aclose()
        if not replicas or len(others) < len(found.sentinels) - 1:
            return False
    return True
