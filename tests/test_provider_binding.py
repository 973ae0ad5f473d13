"""Issue 4: a thread keeps the provider it was bound to when the deployment default changes.

End to end through the real runtime: Slack emulator (HTTP mode), Redis, neuroflash and an
OpenAI-compatible emulator. One runtime binds a thread under one default; a new runtime on the
same Redis prefix with another BRIDGE_PROVIDER answers the thread's next post with the first.
"""

from __future__ import annotations

import pytest

from bridge.contracts import ThreadKey
from bridge.runtime import Runtime
from bridge.store import Store
from emulators.openai_compat import OpenAIEmulator
from tests.harness import Env, slack_bridge

CHANNEL = "C1"
MENTION = "<@UBOT>"


class Both:
    """The two provider emulators, by provider name."""

    def __init__(self, env: Env, openai: OpenAIEmulator) -> None:
        self.env = env
        self.openai = openai

    def script(self, name: str, text: str) -> None:
        (self.openai if name == "openai" else self.env.neuroflash).script(text)

    def replies(self, name: str) -> int:
        if name == "openai":
            return len(self.openai.calls_to("/chat/completions"))
        return len(self.env.neuroflash.calls_to("/message-streams", "POST"))


async def restart_with_default(env: Env, provider: str) -> Runtime:
    """Stop the env's runtime; start another on the same Redis prefix with a new default."""
    await env.runtime.stop(3.0)
    runtime = Runtime(env.settings.model_copy(update={"bridge_provider": provider}))
    await runtime.start()
    env.slack.http_events_url = f"http://127.0.0.1:{runtime.http_port}/slack/events"
    return runtime


@pytest.mark.parametrize(("first", "then"), [("neuroflash", "openai"), ("openai", "neuroflash")])
async def test_thread_keeps_its_provider_after_the_default_changes(
    redis_url: str, prefix: str, store: Store, first: str, then: str
) -> None:
    openai = OpenAIEmulator()
    await openai.start()
    try:
        extra = {"openai_base_url": openai.base_url, "openai_model": "llama3"}
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
    finally:
        await openai.stop()
