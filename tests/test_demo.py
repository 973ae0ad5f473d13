"""`threadbridge demo` runs the whole path on a fresh machine, on each messenger, and prints its
summary; a developer's messenger settings switch nothing else on."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bridge.plugins import adapter_names

PLATFORMS = ["slack", "discord", "teams", "mattermost"]


def demo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    prefixes = tuple(f"{name.upper()}_" for name in [*adapter_names(), "neuroflash"])
    clean = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", "demo", *args],
        env=clean | (env or {}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("platform", PLATFORMS)
def test_demo_exits_zero_with_a_summary(redis_url: str, platform: str) -> None:
    # Another messenger's variable set (as in a developer's shell) must not switch it on.
    other = "SLACK_BOT_TOKEN" if platform != "slack" else "DISCORD_TOKEN"
    result = demo("--platform", platform, env={"REDIS_URL": redis_url, other: "not-for-the-demo"})
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert "👤 Thanks!" in lines
    assert "🤖 You're welcome — ask again any time in this thread. 😀" in lines
    summary = lines[-1]
    assert summary.startswith(f"Summary: 3 replies on {platform},"), summary
    assert "1 conversation" in summary and summary.endswith("exact match: yes")


def test_demo_help_names_the_platforms() -> None:
    result = demo("--help")
    assert result.returncode == 0, result.stderr
    assert "--platform {slack,discord,teams,mattermost}" in result.stdout
    assert "default: slack" in result.stdout


def test_an_unknown_platform_is_a_usage_error() -> None:
    result = demo("--platform", "irc")
    assert result.returncode == 2
    assert "invalid choice: 'irc'" in result.stderr
