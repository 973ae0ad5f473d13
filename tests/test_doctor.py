"""`threadbridge doctor` against the emulators: exit 0 when every part is healthy, exit 1
naming the broken part for each fault an operator meets first."""

from __future__ import annotations

import asyncio
import importlib.resources
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from adapters.slack.manifest import load_bot_scopes
from adapters.slack.settings import DEFAULT_SCOPES
from emulators.discord import DiscordEmulator
from emulators.neuroflash import NeuroflashEmulator
from emulators.slack import SlackEmulator
from tests.procs import redis_server, replica_env
from tests.test_slack_distribution import KEY, distributed_bridge, install
from tests.test_slack_distribution import Env as DistributedEnv
from tests.test_startup import ROOT, env_file

TIMEOUT = 60.0


@dataclass
class Parts:
    env: dict[str, str]
    slack: SlackEmulator
    discord: DiscordEmulator
    neuroflash: NeuroflashEmulator
    workdir: Path


@asynccontextmanager
async def deployment(tmp_path: Path, prefix: str, *redis_args: str) -> AsyncIterator[Parts]:
    """A private Redis with AOF (plus `redis_args`), Slack, Discord and neuroflash emulators."""
    async with AsyncExitStack() as stack:
        data = tmp_path / "redis"
        data.mkdir()
        server = await stack.enter_async_context(redis_server(data, *redis_args))
        nf = NeuroflashEmulator(client_id="cid", client_secret="csecret", workspace_id="ws-1")
        slack = SlackEmulator()
        discord = DiscordEmulator()
        for emu in (nf, slack, discord):
            await emu.start()
            stack.push_async_callback(emu.stop)
        env = replica_env(server.url, prefix, nf, slack, discord)
        work = tmp_path / "work"
        work.mkdir()
        yield Parts(env, slack, discord, nf, work)


async def doctor(parts: Parts) -> tuple[int, str]:
    return await run_doctor(parts.env, parts.workdir)


async def run_doctor(env: dict[str, str], workdir: Path) -> tuple[int, str]:
    """Run the real command in a child process; the emulators keep serving meanwhile."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bridge.cli",
        "doctor",
        env=env,
        cwd=workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), TIMEOUT)
    return int(process.returncode or 0), out.decode()


def row(output: str, part: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith(part + " ")]
    assert lines, f"no row {part!r} in:\n{output}"
    return lines[0]


async def test_healthy_deployment_passes(tmp_path: Path, prefix: str) -> None:
    async with deployment(tmp_path, prefix) as parts:
        code, output = await doctor(parts)
    assert code == 0, output
    for part in (
        "settings",
        "redis",
        "redis version",
        "redis persistence",
        "redis eviction",
        "slack auth.test",
        "slack scopes",
        "slack socket mode",
        "discord login",
        "discord intents",
        "provider neuroflash",
    ):
        assert " ok " in row(output, part), output
    assert " FAIL " not in output


BROKEN = {
    "bad slack token": ("slack auth.test", "invalid_auth"),
    "missing scope": ("slack scopes", "missing users:read"),
    "no message content intent": ("discord intents", "Message Content intent is off"),
    "provider auth failure": ("provider neuroflash", "401"),
}


@pytest.mark.parametrize("fault", list(BROKEN))
async def test_each_broken_part_is_named(tmp_path: Path, prefix: str, fault: str) -> None:
    async with deployment(tmp_path, prefix) as parts:
        if fault == "bad slack token":
            parts.env["SLACK_BOT_TOKEN"] = "xoxb-not-the-right-one"
        elif fault == "missing scope":
            parts.slack.bot_scopes.remove("users:read")
        elif fault == "no message content intent":
            parts.discord.refuse_intents = True
        else:
            parts.env["NEUROFLASH_CLIENT_SECRET"] = "wrong"
        code, output = await doctor(parts)
    part, detail = BROKEN[fault]
    assert code == 1, output
    line = row(output, part)
    assert " FAIL " in line and detail in line, output
    failed = [r for r in output.splitlines() if " FAIL " in r]
    assert all(r.startswith(part) for r in failed), output


async def test_redis_that_evicts_is_refused(tmp_path: Path, prefix: str) -> None:
    async with deployment(tmp_path, prefix, "--maxmemory-policy", "allkeys-lru") as parts:
        code, output = await doctor(parts)
    assert code == 1, output
    line = row(output, "redis eviction")
    assert " FAIL " in line and "allkeys-lru" in line and "noeviction" in line, output


def test_the_manifest_ships_inside_the_package() -> None:
    """An installed wheel or the Docker image has no deploy/ folder: the doctor reads the
    package's copy, which is the documented deploy/slack-manifest.yml."""
    shipped = importlib.resources.files("adapters.slack") / "slack-manifest.yml"
    documented = Path(__file__).resolve().parent.parent / "deploy" / "slack-manifest.yml"
    assert shipped.read_bytes() == documented.read_bytes()
    assert "files:read" in load_bot_scopes()


def test_env_example_leaves_the_scopes_to_the_code() -> None:
    """A copied .env.example must not ask for fewer scopes than the bridge uses."""
    assert "SLACK_SCOPES" not in env_file(ROOT / ".env.example")
    assert "files:read" in DEFAULT_SCOPES.split(",")


OAUTH_ROWS = (
    "slack oauth settings",
    "slack oauth client",
    "slack scopes",
    "slack redirect",
    "slack installations",
    "slack events",
)
OAUTH_BROKEN = {
    "another encryption key": ("slack installations", "1 of 1 cannot be decrypted"),
    "wrong client secret": ("slack oauth client", "SLACK_CLIENT_SECRET refused"),
    "wrong client id": ("slack oauth client", "SLACK_CLIENT_ID refused"),
    "scopes without files:read": ("slack scopes", "lacks files:read"),
    "redirect elsewhere": ("slack redirect", "is not …/slack/oauth_redirect"),
}


def oauth_env(env: DistributedEnv, redis_url: str, prefix: str) -> dict[str, str]:
    """doctor's environment for a running many-workspace bridge (HTTP mode)."""
    slack = env.slack
    return replica_env(redis_url, prefix, env.neuroflash) | {
        "SLACK_CLIENT_ID": slack.client_id,
        "SLACK_CLIENT_SECRET": slack.client_secret,
        "SLACK_SIGNING_SECRET": slack.signing_secret,
        "SLACK_STATE_SECRET": "state-signing-secret",
        "SLACK_API_URL": slack.api_url,
        "SLACK_REDIRECT_URI": f"{env.bridge_url}/slack/oauth_redirect",
        "BRIDGE_ENCRYPTION_KEY": KEY,
    }


@pytest.mark.parametrize("fault", [None, *OAUTH_BROKEN])
async def test_many_workspace_deployment_is_checked(
    tmp_path: Path, prefix: str, fault: str | None
) -> None:
    """SLACK_CLIENT_ID instead of SLACK_BOT_TOKEN: a working deployment passes, and each
    broken OAuth part is the one named."""
    data = tmp_path / "redis"
    data.mkdir()
    async with redis_server(data) as server, distributed_bridge(server.url, prefix) as env:
        assert await install(env, "TA") == 200
        values = oauth_env(env, server.url, prefix)
        if fault == "another encryption key":
            values["BRIDGE_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
        elif fault == "wrong client secret":
            values["SLACK_CLIENT_SECRET"] = "not-the-secret"
        elif fault == "wrong client id":
            values["SLACK_CLIENT_ID"] = "not-the-id"
        elif fault == "scopes without files:read":
            default = DEFAULT_SCOPES.split(",")
            values["SLACK_SCOPES"] = ",".join(s for s in default if s != "files:read")
        elif fault == "redirect elsewhere":
            values["SLACK_REDIRECT_URI"] = f"{env.bridge_url}/oauth"
        code, output = await run_doctor(values, tmp_path)
    if fault is None:
        assert code == 0, output
        for part in ("settings", *OAUTH_ROWS):
            assert " ok " in row(output, part), output
        assert "slack (many workspaces)" in row(output, "settings")
        assert "1 stored" in row(output, "slack installations")
        return
    part, detail = OAUTH_BROKEN[fault]
    assert code == 1, output
    line = row(output, part)
    assert " FAIL " in line and detail in line, output
    assert all(r.startswith(part) for r in output.splitlines() if " FAIL " in r), output
