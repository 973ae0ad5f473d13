"""Refused provider credentials stop start-up with one line naming the variables (each provider
checks them with its own harmless call, against its emulator answering 401); a provider that
is merely unreachable at start does not stop it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import pytest

from bridge.config import ConfigError
from bridge.runtime import Runtime
from emulators.openai_compat import OpenAIEmulator
from tests.harness import bridge_runtime
from tests.provider_kit import KITS, Kit
from tests.test_startup import CONFIGURATION, one_line

WRONG: dict[str, tuple[dict[str, Any], str]] = {
    "neuroflash": ({"neuroflash_client_secret": "wrong"}, "NEUROFLASH_CLIENT_SECRET"),
    "neuroflash-prototype": ({"neuroflash_client_secret": "wrong"}, "NEUROFLASH_CLIENT_SECRET"),
    "converzen": ({"converzen_api_key": "wrong"}, "CONVERZEN_API_KEY"),
    "senseflow": ({"senseflow_api_key": "wrong"}, "SENSEFLOW_API_KEY"),
    "openai": ({"openai_api_key": "wrong"}, "OPENAI_API_KEY"),
}
NO_MESSENGER_NEEDED = {"discord_token": "never-used", "discord_api_url": "http://127.0.0.1:1/api"}
"""The check runs before any messenger connects; a messenger must only be configured."""


def emulator(kit: Kit) -> Any:
    """The kit's emulator; the OpenAI one asks for a key (a local server may not)."""
    return OpenAIEmulator(api_key="right") if kit.name == "openai" else kit.emulator()


def runtime_for(kit: Kit, root: str, redis_url: str, prefix: str, **extra: Any) -> Runtime:
    values = {"bridge_provider": kit.name, **kit.values(root)}
    right = {"openai_api_key": "right"} if kit.name == "openai" else {}
    return bridge_runtime(redis_url, prefix, **(values | right | NO_MESSENGER_NEEDED | extra))


@pytest.mark.parametrize("kit", KITS, ids=[k.name for k in KITS])
async def test_refused_credentials_stop_start_up_naming_them(
    kit: Kit, redis_url: str, prefix: str
) -> None:
    wrong, variable = WRONG[kit.name]
    emu = emulator(kit)
    await emu.start()
    runtime = runtime_for(kit, emu.url, redis_url, prefix, **wrong)
    try:
        with pytest.raises(ConfigError) as caught:
            await runtime.start()
    finally:
        await runtime.stop(grace=1.0)
        await emu.stop()
    message = str(caught.value)
    assert variable in message and "refused" in message and "\n" not in message, message


@pytest.mark.parametrize("kit", KITS, ids=[k.name for k in KITS])
async def test_right_credentials_pass_the_start_up_check(
    kit: Kit, redis_url: str, prefix: str
) -> None:
    """The control: the same set-up with the right credentials gets past the provider."""
    emu = emulator(kit)
    await emu.start()
    runtime = runtime_for(kit, emu.url, redis_url, prefix)
    try:
        with pytest.raises(ConfigError) as caught:
            await runtime.start()
    finally:
        await runtime.stop(grace=1.0)
        await emu.stop()
    assert "DISCORD" in str(caught.value), caught.value


async def test_unreachable_provider_does_not_stop_start_up(redis_url: str, prefix: str) -> None:
    """A model server that is not up yet (started after the bridge) is left to the replies."""
    kit = next(k for k in KITS if k.name == "openai")
    runtime = runtime_for(kit, "http://127.0.0.1:1", redis_url, prefix)
    try:
        with pytest.raises(ConfigError) as caught:
            await runtime.start()
    finally:
        await runtime.stop(grace=1.0)
    assert "DISCORD" in str(caught.value), caught.value


async def test_refused_key_is_one_line_from_the_command(redis_url: str, prefix: str) -> None:
    emu = OpenAIEmulator(api_key="right")
    await emu.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(CONFIGURATION)}
    env |= {
        "REDIS_URL": redis_url,
        "BRIDGE_REDIS_PREFIX": prefix,
        "DISCORD_TOKEN": "t",
        "OPENAI_BASE_URL": emu.base_url,
        "OPENAI_MODEL": "m",
        "OPENAI_API_KEY": "wrong",
    }
    try:
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bridge.cli", "run"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        await emu.stop()
    line = one_line(result)
    assert line.startswith("threadbridge: OPENAI_API_KEY was refused by openai: HTTP 401"), line
