"""`threadbridge demo`: the whole path on one machine, no credentials.

It starts the emulators of a messenger and of neuroflash, runs the real bridge (real Redis or
the embedded Valkey) with only that messenger's adapter, posts a short conversation into one
thread and prints each reply as it grows on the emulated messenger, then a one-line summary.

Arguments:
  --platform {slack,discord,teams,mattermost}
                        the messenger to emulate (default: slack)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
import uuid
from typing import Any

from bridge.config import ConfigError, load_settings
from bridge.plugins import adapter_names, adapter_plugins, messengers
from bridge.runtime import Runtime
from emulators.demo_platforms import DRIVERS, Driver
from emulators.neuroflash import NeuroflashEmulator

CONVERSATION = [
    (
        "What is threadbridge?",
        "threadbridge connects a **Slack** or **Discord** thread to one persistent LLM "
        "conversation. Every post in the thread continues it, and the answer grows in place "
        "as tokens arrive. 🚀",
    ),
    (
        "Show me a tiny example.",
        "Sure:\n\n```python\nprint('hello from the thread')\n```\n\nThat is all it takes.",
    ),
    (
        "Thanks!",
        "You're welcome — ask again any time in this thread. 😀",
    ),
]


async def _show_growth(driver: Driver, before: int, done: str) -> float | None:
    """Print the reply's text as it grows; return when the thread shows `done` (and when its
    first text became visible)."""
    printed = ""
    first_visible: float | None = None
    while True:
        text = "".join(driver.replies()[before:])
        if text and first_visible is None:
            first_visible = time.monotonic()
        if text.startswith(printed) and len(text) > len(printed):
            sys.stdout.write(text[len(printed) :])
            sys.stdout.flush()
            printed = text
        if text == done:
            sys.stdout.write("\n")
            return first_visible
        await asyncio.sleep(0.03)


def _adapters(platform: str, driver: Driver) -> list[Any]:
    """Only `platform`'s adapter, pointed at its emulator; no adapter reads `.env`, and no other
    is built whatever the environment sets, so the demo runs the same on any machine."""
    overrides: dict[str, dict[str, Any]] = {name: {"_env_file": None} for name in adapter_names()}
    overrides[platform] = overrides.get(platform, {}) | driver.settings()
    found = [p for p in adapter_plugins([], overrides) if p.name == platform]
    if not found:
        raise ConfigError(f"{platform} support is not installed: pip install '.[{platform}]'")
    return messengers(found, [])


async def _converse(driver: Driver, neuroflash: NeuroflashEmulator) -> tuple[list[float], bool]:
    """Post the conversation; (post-to-first-text latencies, every reply exact)."""
    neuroflash.script(*(answer for _, answer in CONVERSATION))
    latencies: list[float] = []
    exact = True
    for question, answer in CONVERSATION:
        print(f"\n👤 {question}\n🤖 ", end="", flush=True)
        before = len(driver.replies())
        posted = time.monotonic()
        await driver.say(question)
        shown = await asyncio.wait_for(_show_growth(driver, before, answer), 60)
        if shown is not None:
            latencies.append(shown - posted)
        exact = exact and "".join(driver.replies()[before:]) == answer
    return latencies, exact


async def run_demo(platform: str = "slack") -> int:
    driver = DRIVERS[platform]()
    neuroflash = NeuroflashEmulator(
        client_id="demo", client_secret="demo", workspace_id="demo-ws", tokens_per_second=60.0
    )
    await driver.start()
    await neuroflash.start()
    try:
        settings = load_settings(
            _env_file=None,
            redis_url=os.environ.get("REDIS_URL") or None,
            bridge_redis_prefix=f"demo:{uuid.uuid4().hex[:8]}:",
            bridge_http_port=0,
            bridge_provider="neuroflash",
            neuroflash_client_id="demo",
            neuroflash_client_secret="demo",
            neuroflash_workspace_id="demo-ws",
            neuroflash_api_url=f"{neuroflash.url}/api",
            neuroflash_token_url=f"{neuroflash.url}/oauth/v2/token",
        )
        runtime = Runtime(settings, _adapters(platform, driver))
        try:
            await runtime.start()
            driver.serve(runtime.http_port)
            latencies, exact = await _converse(driver, neuroflash)
        finally:
            await runtime.stop(grace=2.0)
    finally:
        await driver.stop()
        await neuroflash.stop()
    first = min(latencies) if latencies else float("nan")
    print(
        f"\nSummary: {len(CONVERSATION)} replies on {platform}, first visible text after "
        f"{first * 1000:.0f} ms (post to text, worst {max(latencies, default=0) * 1000:.0f} ms), "
        f"{driver.edits()} edits, {len(neuroflash.conversations)} conversation, "
        f"exact match: {'yes' if exact else 'NO'}"
    )
    return 0 if exact else 1


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(prog="threadbridge demo", description=__doc__.split("\n")[0])
    cli.add_argument("--platform", choices=sorted(DRIVERS), default="slack")
    args = cli.parse_args(argv or [])
    logging.getLogger().setLevel(logging.WARNING)
    try:
        return asyncio.run(run_demo(args.platform))
    except ConfigError as exc:
        print(f"threadbridge demo: {exc}", file=sys.stderr)
        return 2
