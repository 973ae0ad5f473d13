"""A real bridge against the Teams emulator: in this event loop (`teams_bridge`) or as
`threadbridge run` processes configured only by the environment (`teams_cluster`).

Real Redis, real aiohttp and PyJWT, the bridge's own runtime; Teams and neuroflash are the
emulators on loopback.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from adapters.teams import TeamsAdapter, limits
from adapters.teams.connector import Connector
from adapters.teams.settings import TeamsSettings
from bridge.contracts import Allowance, Permits
from bridge.runtime import Runtime
from emulators.neuroflash import NeuroflashEmulator
from emulators.teams import CHANNEL, TeamsEmulator
from tests.harness import bridge_settings
from tests.procs import Replica, Replicas, free_port, replica_env


def teams_settings(emu: TeamsEmulator, **overrides: Any) -> TeamsSettings:
    values: dict[str, Any] = {
        "_env_file": None,
        "app_id": emu.auth.app_id,
        "app_password": emu.auth.password,
        "tenant_id": emu.auth.tenant,
        "openid_metadata_url": emu.metadata_url,
        "token_url": emu.token_url,
    }
    return TeamsSettings(**(values | overrides))


def teams_env(emu: TeamsEmulator) -> dict[str, str]:
    return {
        "TEAMS_APP_ID": emu.auth.app_id,
        "TEAMS_APP_PASSWORD": emu.auth.password,
        "TEAMS_TENANT_ID": emu.auth.tenant,
        "TEAMS_OPENID_METADATA_URL": emu.metadata_url,
        "TEAMS_TOKEN_URL": emu.token_url,
    }


@dataclass
class TeamsEnv:
    teams: TeamsEmulator
    neuroflash: NeuroflashEmulator
    runtime: Runtime | None = None

    async def wait(self, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
        await self.teams.wait_for(predicate, timeout)

    def streams(self) -> list[str]:
        """What neuroflash was asked, in order."""
        return [c.body["text"] for c in self.neuroflash.calls_to("message-streams", "POST")]

    def conversations(self) -> int:
        return len(self.neuroflash.conversations)


@asynccontextmanager
async def teams_bridge(
    redis_url: str,
    prefix: str,
    *,
    tokens_per_second: float = 400.0,
    teams: dict[str, Any] | None = None,
    **overrides: Any,
) -> AsyncIterator[TeamsEnv]:
    """The emulators, then a bridge runtime with only the Teams adapter; all stopped on exit."""
    async with AsyncExitStack() as stack:
        neuroflash = NeuroflashEmulator(
            client_id="cid",
            client_secret="csecret",
            workspace_id="ws-1",
            tokens_per_second=tokens_per_second,
        )
        await neuroflash.start()
        stack.push_async_callback(neuroflash.stop)
        emu = TeamsEmulator()
        await emu.start()
        stack.push_async_callback(emu.stop)
        values = {
            "neuroflash_api_url": f"{neuroflash.url}/api",
            "neuroflash_token_url": f"{neuroflash.url}/oauth/v2/token",
        }
        settings = bridge_settings(redis_url, prefix, **(values | overrides))
        adapter = TeamsAdapter(teams_settings(emu, **(teams or {})))
        runtime = Runtime(settings, [adapter])
        stack.push_async_callback(runtime.stop, 3.0)
        await runtime.start()
        emu.bot_endpoints = [f"http://127.0.0.1:{runtime.http_port}/api/messages"]
        yield TeamsEnv(emu, neuroflash, runtime)


@dataclass
class TeamsCluster:
    teams: TeamsEmulator
    neuroflash: NeuroflashEmulator
    replicas: Replicas

    async def start(self, name: str | None = None) -> Replica:
        """One more replica on its own port, behind the emulator's load balancer."""
        port = free_port()
        self.replicas.env["BRIDGE_HTTP_PORT"] = str(port)
        replica = await self.replicas.start(name)
        self.teams.bot_endpoints.append(f"http://127.0.0.1:{port}/api/messages")
        return replica


@asynccontextmanager
async def teams_cluster(
    redis_url: str, prefix: str, log_dir: Path, *, tokens_per_second: float = 200.0
) -> AsyncIterator[TeamsCluster]:
    neuroflash = NeuroflashEmulator(tokens_per_second=tokens_per_second)
    teams = TeamsEmulator()
    redis = Redis.from_url(redis_url)
    replicas: Replicas | None = None
    try:
        await neuroflash.start()
        await teams.start()
        env = replica_env(redis_url, prefix, neuroflash) | teams_env(teams)
        replicas = Replicas(env, log_dir)
        yield TeamsCluster(teams, neuroflash, replicas)
    finally:
        if replicas is not None:
            await replicas.aclose()
        await teams.stop()
        await neuroflash.stop()
        with contextlib.suppress(RedisError, OSError):
            async for key in redis.scan_iter(match=f"{prefix}*", count=500):
                await redis.delete(key)
        await redis.aclose()


@dataclass
class ChannelThread:
    """A thread of the emulator's channel, under its enforced limits, and the bridge's own
    Connector and shared budget to post there as a reply's writes do."""

    adapter: TeamsAdapter
    connector: Connector
    budget: Permits
    root: str
    """The thread's root message id."""
    where: str
    """The conversation id a post into the thread goes to."""
    scopes: tuple[Allowance, ...]
    """The channel's windows and the app's: what a write there takes permits on."""

    def activity(self, text: str) -> dict[str, Any]:
        return {"type": "message", "text": text, "textFormat": "markdown"}


async def channel_thread(env: TeamsEnv) -> ChannelThread:
    """Enforce the documented limits and open a thread in the channel (`teams_bridge` runs)."""
    emu = env.teams
    emu.enforce_limits()
    (adapter,) = env.runtime.adapters if env.runtime else ()
    assert isinstance(adapter, TeamsAdapter)
    connector, budget = adapter._connector, adapter._budget
    assert connector is not None and budget is not None
    root = await emu.channel_post("a thread", mention=False)
    scopes = (*limits.conversation(emu.auth.tenant, CHANNEL), adapter._app)
    where = f"{CHANNEL};messageid={root.id}"
    return ChannelThread(adapter, connector, budget, root.id, where, scopes)
