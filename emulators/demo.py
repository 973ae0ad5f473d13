"""`threadbridge demo`: the whole path on one machine, no credentials.

It starts the Slack and neuroflash emulators, runs the real bridge (Socket Mode, real Redis or
the embedded Valkey), posts a short conversation into one thread and prints each reply as it
grows on the emulated Slack, then a one-line summary.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
import uuid

from bridge.config import ConfigError, load_settings
from bridge.plugins import adapter_plugins, messengers
from bridge.runtime import Runtime
from emulators.neuroflash import NeuroflashEmulator
from emulators.slack import SlackEmulator

CHANNEL = "C0DEMO"
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


async def _show_growth(slack: SlackEmulator, root: str, before: int, done: str) -> float | None:
    """Print the reply's text as it grows; return when the thread shows `done`."""
    printed = ""
    first_visible: float | None = None
    while True:
        replies = slack.bot_replies(CHANNEL, root)[before:]
        text = "".join(m.text for m in replies)
        if text and text != replies[0].edits[0] and first_visible is None:
            first_visible = time.monotonic()
        if text.startswith(printed) and len(text) > len(printed) and first_visible is not None:
            sys.stdout.write(text[len(printed) :])
            sys.stdout.flush()
            printed = text
        if text == done:
            sys.stdout.write("\n")
            return first_visible
        await asyncio.sleep(0.03)


async def run_demo() -> int:
    slack = SlackEmulator()
    neuroflash = NeuroflashEmulator(
        client_id="demo", client_secret="demo", workspace_id="demo-ws", tokens_per_second=60.0
    )
    await slack.start()
    await neuroflash.start()
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
    chat = {
        "_env_file": None,
        "bot_token": slack.bot_token,
        "app_token": slack.app_token,
        "api_url": slack.api_url,
    }
    missing: list[str] = []
    found = adapter_plugins(missing, {"slack": chat, "discord": {"_env_file": None}})
    runtime = Runtime(settings, messengers(found, missing))
    latencies: list[float] = []
    exact = True
    try:
        await runtime.start()
        neuroflash.script(*(answer for _, answer in CONVERSATION))
        root = ""
        expected = ""
        for question, answer in CONVERSATION:
            print(f"\n👤 {question}\n🤖 ", end="", flush=True)
            before = len(slack.bot_replies(CHANNEL, root)) if root else 0
            posted = time.monotonic()
            if not root:
                root = await slack.user_post(CHANNEL, f"<@{slack.bot_user_id}> {question}")
            else:
                await slack.user_post(CHANNEL, question, thread_ts=root)
            expected = answer
            shown = await asyncio.wait_for(_show_growth(slack, root, before, expected), 60)
            if shown is not None:
                latencies.append(shown - posted)
            exact = exact and slack.bot_replies(CHANNEL, root)[-1].text == answer
    finally:
        await runtime.stop(grace=2.0)
        await slack.stop()
        await neuroflash.stop()
    edits = len(slack.calls_to("chat.update"))
    first = min(latencies) if latencies else float("nan")
    print(
        f"\nSummary: {len(CONVERSATION)} replies, first visible text after {first * 1000:.0f} ms "
        f"(post to text, worst {max(latencies, default=0) * 1000:.0f} ms), {edits} edits, "
        f"{len(neuroflash.conversations)} conversation, exact match: {'yes' if exact else 'NO'}"
    )
    return 0 if exact else 1


def main(argv: list[str] | None = None) -> int:
    del argv
    logging.getLogger().setLevel(logging.WARNING)
    try:
        return asyncio.run(run_demo())
    except ConfigError as exc:
        print(f"threadbridge demo: {exc}", file=sys.stderr)
        return 2
