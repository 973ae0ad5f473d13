"""The `threadbridge` command line as a new user meets it: every subcommand has its own help,
and `--version` names the installed version."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys

import pytest

from bridge.plugins import command_names


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_version_names_the_installed_version() -> None:
    result = cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["threadbridge", importlib.metadata.version("threadbridge")]


def test_top_level_help_lists_every_command() -> None:
    result = cli("--help")
    assert result.returncode == 0, result.stderr
    for name in ["run", *command_names()]:
        assert f"    {name}" in result.stdout, result.stdout


@pytest.mark.parametrize(
    ("command", "phrase"),
    [
        ("run", "SIGTERM"),
        ("doctor", "before going live"),
        ("dead-letters", "replay"),
        ("demo", "no credentials"),
        ("rotate-slack-keys", "re-encrypt"),
    ],
)
def test_each_command_has_its_own_help(command: str, phrase: str) -> None:
    top = cli("--help").stdout
    result = cli(command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout != top
    assert f"usage: threadbridge {command}" in result.stdout, result.stdout
    assert phrase in result.stdout, result.stdout


def test_a_command_keeps_its_own_arguments() -> None:
    """`dead-letters replay` without an id is refused by the command's own parser."""
    result = cli("dead-letters", "replay")
    assert result.returncode == 2
    assert "threadbridge dead-letters replay" in result.stderr, result.stderr


def test_unknown_command_is_one_usage_error() -> None:
    result = cli("serve")
    assert result.returncode == 2
    assert "invalid choice: 'serve'" in result.stderr
    assert "Traceback" not in result.stderr
