"""`/threadbridge` is registered with Discord only when its definition changed.

Discord keeps global application commands across restarts (Bulk Overwrite Global Application
Commands, `PUT /applications/{id}/commands`, replaces them all), so a replica that starts with
the commands Discord already has need not send them again; every start of every replica did,
spending the bot's request budget. Real discord.py and Redis against the Discord emulator, the
same emulator across starts, as one Discord application outlives the bridge's processes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from discord import app_commands

from adapters.discord import slash
from bridge.contracts import Core
from emulators.base import Fault
from emulators.discord import DiscordEmulator
from tests.harness import bridge_runtime

COMMANDS = "/commands"


@asynccontextmanager
async def discord_emulator() -> AsyncIterator[DiscordEmulator]:
    emu = DiscordEmulator(heartbeat_interval=5.0)
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


async def start_and_stop(emu: DiscordEmulator, redis_url: str, prefix: str) -> None:
    """One replica's life: start (log in, register commands, connect), then stop."""
    runtime = bridge_runtime(
        redis_url,
        prefix,
        discord_token=emu.token,
        discord_api_url=emu.api_url,
        discord_gateway_url=emu.gateway_url,
    )
    try:
        await runtime.start()
    finally:
        await runtime.stop(3.0)


def syncs(emu: DiscordEmulator) -> int:
    return len(emu.calls_to(COMMANDS, "PUT"))


async def test_same_commands_are_synced_once(redis_url: str, prefix: str) -> None:
    async with discord_emulator() as emu:
        await start_and_stop(emu, redis_url, prefix)
        await start_and_stop(emu, redis_url, prefix)
        assert syncs(emu) == 1
        (command,) = emu.commands[None]
        assert command["name"] == slash.NAME


async def test_changed_commands_are_synced_again(
    redis_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with discord_emulator() as emu:
        await start_and_stop(emu, redis_url, prefix)
        assert syncs(emu) == 1
        original = slash.command_group

        def newer(hub: Core, answers: slash.Answers) -> app_commands.Group:
            """The next version's commands: one subcommand more."""
            group = original(hub, answers)

            @group.command(name="ping", description="Check the bot answers")
            async def ping(interaction: object) -> None:
                """Never run: only the definition matters here."""

            return group

        monkeypatch.setattr(slash, "command_group", newer)
        await start_and_stop(emu, redis_url, prefix)
        assert syncs(emu) == 2
        (command,) = emu.commands[None]
        assert "ping" in {o["name"] for o in command["options"]}
        await start_and_stop(emu, redis_url, prefix)
        assert syncs(emu) == 2


async def test_a_failed_sync_is_tried_again_at_the_next_start(redis_url: str, prefix: str) -> None:
    async with discord_emulator() as emu:
        emu.fail_next("commands", Fault("status", 403))
        await start_and_stop(emu, redis_url, prefix)
        assert emu.commands.get(None) is None
        await start_and_stop(emu, redis_url, prefix)
        assert emu.commands[None][0]["name"] == slash.NAME
