"""A thread keeps the provider it was bound to when the deployment default changes.

End to end through the real runtime: Slack emulator (HTTP mode), Redis, neuroflash and an
OpenAI-compatible emulator. One runtime binds a thread under one default; a new runtime on the
same Redis prefix with another BRIDGE_PROVIDER answers the thread's next post with the first.
"""

from __future__ import annotations

from typing import Any

import pytest

from bridge.contracts import ThreadKey
from bridge.runtime import Runtime
from bridge.store import Store
from emulators.openai_compat import OpenAIEmulator
from tests.harness import Env, runtime_with, slack_bridge
from tests.provider_kit import Kit, NeuroflashKit, OpenAIKit, running

CHANNEL = "C1"
MENTION = "<@UBOT>"


class Both:
    """The two provider emulators and their kits, by provider name."""

    def __init__(self, env: Env, openai: OpenAIEmulator) -> None:
        self.kits: dict[str, tuple[Kit, Any]] = {
            "openai": (OpenAIKit(), openai),
            "neuroflash": (NeuroflashKit(), env.neuroflash),
        }

    def script(self, name: str, text: str) -> None:
        kit, emu = self.kits[name]
        kit.script(emu, text)

    def replies(self, name: str) -> int:
        kit, emu = self.kits[name]
        return kit.reply_calls(emu)


async def restart_with_default(env: Env, provider: str) -> Runtime:
    """Stop the env's runtime; start another on the same Redis prefix with a new default."""
    await env.runtime.stop(3.0)
    settings = env.settings.model_copy(update={"bridge_provider": provider})
    runtime = runtime_with(settings, env.values)
    await runtime.start()
    env.slack.http_events_url = f"http://127.0.0.1:{runtime.http_port}/slack/events"
    return runtime


@pytest.mark.parametrize(("first", "then"), [("neuroflash", "openai"), ("openai", "neuroflash")])
async def test_thread_keeps_its_provider_after_the_default_changes(
    redis_url: str, prefix: str, store: Store, first: str, then: str
) -> None:
    kit = OpenAIKit()
    async with running(kit) as openai:
        extra = kit.values(openai.url)
        async with slack_bridge(
            redis_url, prefix, socket_mode=False, bridge_provider=first, **extra
        ) as env:
            both = Both(env, openai)
            both.script(first, "First answer ✓")
            root = await env.slack.user_post(CHANNEL, f"{MENTION} hello")
            await env.wait_reply(CHANNEL, root, "First answer ✓")
            runtime = await restart_with_default(env, then)
            try:
                both.script(first, "Still the first 🧩")
                await env.slack.user_post(CHANNEL, "and now?", thread_ts=root)
                await env.wait_reply(CHANNEL, root, "First answer ✓Still the first 🧩")
                both.script(then, "New default ✓")
                fresh = await env.slack.user_post(CHANNEL, f"{MENTION} a new thread")
                await env.wait_reply(CHANNEL, fresh, "New default ✓")
            finally:
                await runtime.stop(3.0)
            assert (both.replies(first), both.replies(then)) == (2, 1)
            old = await store.binding(ThreadKey("slack", env.slack.team_id, CHANNEL, root))
            new = await store.binding(ThreadKey("slack", env.slack.team_id, CHANNEL, fresh))
            assert old is not None and old.provider == first
            assert new is not None and new.provider == then
            if first == "openai":
                assert [m["role"] for m in openai.sent[1]] == ["user", "assistant", "user"]
            else:
                assert len(env.neuroflash.conversations) == 1
