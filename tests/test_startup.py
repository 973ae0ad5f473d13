"""Start-up failures: one clear line naming what to fix, and a non-zero exit."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.discord.settings import DiscordSettings
from adapters.slack.settings import SlackSettings
from bridge.config import ConfigError, Settings
from emulators.discord import DiscordEmulator
from emulators.openai_compat import OpenAIEmulator
from emulators.slack import SlackEmulator
from providers.neuroflash.settings import NeuroflashSettings
from tests.harness import bridge_runtime

CONFIGURATION = (
    "SLACK_",
    "DISCORD_",
    "BRIDGE_",
    "NEUROFLASH_",
    "CONVERZEN_",
    "SENSEFLOW_",
    "OPENAI_",
)
"""Variables a test's child process must not inherit."""


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(CONFIGURATION)}
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_missing_token_names_the_variable(redis_url: str) -> None:
    result = run_cli("run", env={"REDIS_URL": redis_url, "SLACK_BOT_TOKEN": "xoxb-1"})
    assert result.returncode != 0
    assert "SLACK_SIGNING_SECRET" in result.stderr.strip().splitlines()[-1]


def test_no_messenger_configured(redis_url: str) -> None:
    result = run_cli("run", env={"REDIS_URL": redis_url})
    assert result.returncode != 0
    line = result.stderr.strip().splitlines()[-1]
    assert (
        "DISCORD_TOKEN or MATTERMOST_TOKEN or SLACK_BOT_TOKEN or SLACK_CLIENT_ID or TEAMS_APP_ID"
        " must be set" in line
    )


def test_bad_setting_names_the_variable(redis_url: str) -> None:
    result = run_cli("run", env={"REDIS_URL": redis_url, "BRIDGE_HTTP_PORT": "not-a-port"})
    assert result.returncode != 0
    assert "BRIDGE_HTTP_PORT" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [("SLACK_EDITS_PER_MINUTE", "-1"), ("SLACK_REPLY_MODE", "fast"), ("DISCORD_API_URL", "")],
)
def test_bad_adapter_setting_names_the_variable(redis_url: str, variable: str, value: str) -> None:
    """An adapter's own settings stop start-up in one line naming the variable, prefix and all
    (an empty value means unset, so it is no error)."""
    env = {"REDIS_URL": redis_url, "SLACK_BOT_TOKEN": "xoxb-1", variable: value}
    result = run_cli("run", env=env)
    assert result.returncode != 0
    line = result.stderr.strip().splitlines()[-1]
    if value:
        assert line.startswith(f"threadbridge: {variable} is invalid"), result.stderr
    else:
        assert "SLACK_SIGNING_SECRET" in line, result.stderr


def test_unreachable_redis_is_one_line() -> None:
    env = {"REDIS_URL": "redis://127.0.0.1:1/0", "DISCORD_TOKEN": "t", "NEUROFLASH_CLIENT_ID": "x"}
    result = run_cli("run", env=env)
    assert result.returncode != 0
    assert "REDIS_URL" in result.stderr and "cannot reach Redis" in result.stderr


async def test_refused_intent_stops_start_up(redis_url: str, prefix: str) -> None:
    emu = DiscordEmulator()
    emu.refuse_intents = True
    await emu.start()
    runtime = bridge_runtime(
        redis_url,
        prefix,
        discord_token=emu.token,
        discord_api_url=emu.api_url,
        discord_gateway_url=emu.gateway_url,
    )
    try:
        with pytest.raises(ConfigError, match="Message Content"):
            await runtime.start()
    finally:
        await runtime.stop(grace=1.0)
        await emu.stop()


async def test_bad_discord_token_stops_start_up(redis_url: str, prefix: str) -> None:
    emu = DiscordEmulator(token="right")
    await emu.start()
    runtime = bridge_runtime(
        redis_url,
        prefix,
        discord_token="wrong",
        discord_api_url=emu.api_url,
        discord_gateway_url=emu.gateway_url,
    )
    try:
        with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
            await runtime.start()
    finally:
        await runtime.stop(grace=1.0)
        await emu.stop()


def test_env_example_as_is_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """`cp .env.example .env` must not stop start-up: an empty value means "not set"."""
    for name in list(os.environ):
        if name.startswith(CONFIGURATION):
            monkeypatch.delenv(name)
    example = Path(__file__).resolve().parent.parent / ".env.example"
    settings = Settings(_env_file=example)  # type: ignore[call-arg]
    neuroflash = NeuroflashSettings(_env_file=example)  # type: ignore[call-arg]
    assert neuroflash.personality_id is None
    assert neuroflash.context_size is None
    assert settings.bridge_provider is None
    slack = SlackSettings(_env_file=example)  # type: ignore[call-arg]
    assert slack.bot_token is None and slack.reply_mode == "stream"
    assert DiscordSettings(_env_file=example).token is None  # type: ignore[call-arg]


ROOT = Path(__file__).resolve().parent.parent


def env_file(path: Path) -> dict[str, str]:
    """`KEY=value` lines as `docker run --env-file` reads them (comments and blanks skipped)."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v for k, v in pairs if k.strip() and not k.lstrip().startswith("#")}


def image_config() -> tuple[dict[str, str], str]:
    """The Dockerfile's final ENV values and WORKDIR."""
    env: dict[str, str] = {}
    workdir = "/"
    for line in (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines():
        if line.startswith("ENV "):
            env |= dict(pair.split("=", 1) for pair in line[4:].split())
        elif line.startswith("WORKDIR "):
            workdir = line.split()[1]
    return env, workdir


def test_docker_env_file_keeps_the_image_data_dir() -> None:
    """`docker run --env-file .env` (a copy of .env.example) overrides the image's ENV: the
    embedded Valkey's folder must still be on the image's /data volume."""
    image_env, workdir = image_config()
    assert image_env["BRIDGE_DATA_DIR"] == "/data"
    run_env = image_env | env_file(ROOT / ".env.example")
    data_dir = run_env.get("BRIDGE_DATA_DIR") or Settings.model_fields["bridge_data_dir"].default
    assert (Path(workdir) / data_dir).is_relative_to("/data"), data_dir
    for chosen in ("", ".data"):
        fallback = chosen or Settings.model_fields["bridge_data_dir"].default
        assert (Path(workdir) / fallback).is_relative_to("/data")


SECRET_URLS = [
    "redis://user:secret@127.0.0.1:1/0",
    "redis://:secret@127.0.0.1:1/0",
    "redis://127.0.0.1:1/0?password=secret",
    "redis+sentinel://user:secret@127.0.0.1:1/mymaster",
    "redis+cluster://user:secret@127.0.0.1:1",
]


@pytest.mark.parametrize("url", SECRET_URLS)
@pytest.mark.parametrize("command", ["run", "doctor"])
def test_redis_password_is_never_printed(command: str, url: str) -> None:
    """`print` bypasses the log redaction: the URL must be shown masked wherever it is shown."""
    env = {
        "REDIS_URL": url,
        "DISCORD_TOKEN": "t",
        "DISCORD_API_URL": "http://127.0.0.1:1/api",
        "NEUROFLASH_CLIENT_ID": "x",
        "NEUROFLASH_CLIENT_SECRET": "y",
    }
    result = run_cli(command, env=env)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "127.0.0.1:1" in output, output
    assert "secret" not in output, output
    assert "Traceback" not in output, output


def test_unwritable_data_dir_is_one_line(tmp_path: Path) -> None:
    """Without REDIS_URL the embedded Valkey needs BRIDGE_DATA_DIR; a folder under a regular
    file cannot be made, even by root."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = {
        "REDIS_URL": "",
        "BRIDGE_DATA_DIR": str(blocker / "data"),
        "DISCORD_TOKEN": "t",
        "NEUROFLASH_CLIENT_ID": "x",
        "NEUROFLASH_CLIENT_SECRET": "y",
    }
    result = run_cli("run", env=env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("threadbridge: BRIDGE_DATA_DIR"), result.stderr
    assert str(blocker / "data") in lines[0]


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line a failed start printed (asserting it failed and printed only that)."""
    assert result.returncode != 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


async def run_cli_async(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`run_cli` off the event loop, so emulators in this loop keep answering."""
    return await asyncio.to_thread(run_cli, *args, env=env)


@pytest.mark.parametrize(
    ("wrong", "expected"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-wrong"}, "SLACK_BOT_TOKEN was refused by Slack: invalid_auth"),
        ({"SLACK_APP_TOKEN": "xapp-wrong"}, "SLACK_APP_TOKEN was refused by Slack: invalid_auth"),
        ({"SLACK_APP_TOKEN": "xoxb-test"}, "SLACK_APP_TOKEN was refused by Slack: not_allowed"),
        ({"SLACK_API_URL": "http://127.0.0.1:1/api/"}, "SLACK_API_URL: cannot reach 127.0.0.1:1"),
    ],
    ids=["bot token", "app token", "bot token as app token", "unreachable"],
)
async def test_refused_slack_token_is_one_line(
    redis_url: str, prefix: str, wrong: dict[str, str], expected: str
) -> None:
    slack, model_server = SlackEmulator(), OpenAIEmulator()
    await slack.start()
    await model_server.start()
    try:
        env = {
            "REDIS_URL": redis_url,
            "BRIDGE_REDIS_PREFIX": prefix,
            "OPENAI_BASE_URL": model_server.base_url,
            "OPENAI_MODEL": "m",
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_APP_TOKEN": slack.app_token,
            "SLACK_API_URL": slack.api_url,
        }
        result = await run_cli_async("run", env=env | wrong)
    finally:
        await slack.stop()
        await model_server.stop()
    assert one_line(result).startswith(f"threadbridge: {expected}"), result.stderr


def test_unreachable_discord_is_one_line(redis_url: str, prefix: str) -> None:
    env = {
        "REDIS_URL": redis_url,
        "BRIDGE_REDIS_PREFIX": prefix,
        "BRIDGE_PROVIDER": "openai",
        "OPENAI_BASE_URL": "http://127.0.0.1:1/v1",
        "OPENAI_MODEL": "m",
        "DISCORD_TOKEN": "t",
        "DISCORD_API_URL": "http://127.0.0.1:1/api/v10",
        "BRIDGE_LOG_LEVEL": "ERROR",
    }
    line = one_line(run_cli("run", env=env))
    assert line.startswith("threadbridge: DISCORD_API_URL: cannot reach 127.0.0.1:1"), line
