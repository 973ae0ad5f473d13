"""Brings up a real bridge process (in this event loop) against emulators, for e2e tests.

Everything is real except the far ends: Redis, slack-bolt and slack_sdk, httpx-sse and the
bridge's own dispatcher, renderer and store; Slack and neuroflash are emulators on loopback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from bridge.config import Settings, load_settings
from bridge.runtime import Runtime
from emulators.neuroflash import NeuroflashEmulator
from emulators.slack import SlackEmulator


@dataclass
class SlackBridge:
    slack: SlackEmulator
    neuroflash: NeuroflashEmulator
    runtime: Runtime
    settings: Settings

    def replies(self, channel: str, thread_ts: str) -> list[Any]:
        return list(self.slack.bot_replies(channel, thread_ts))

    def reply_text(self, channel: str, thread_ts: str) -> str:
        return "".join(m.text for m in self.replies(channel, thread_ts))

    async def wait_reply(
        self, channel: str, thread_ts: str, expected: str, timeout: float = 20.0
    ) -> None:
        """Wait until the bot's messages in the thread read exactly `expected`."""
        await self.slack.wait_for(lambda: self.reply_text(channel, thread_ts) == expected, timeout)

    async def wait(self, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
        await self.slack.wait_for(predicate, timeout)


def bridge_settings(redis_url: str, prefix: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "redis_url": redis_url,
        "bridge_redis_prefix": prefix,
        "bridge_http_port": 0,
        "bridge_lease_seconds": 6.0,
        "bridge_provider": "neuroflash",
        "neuroflash_client_id": "cid",
        "neuroflash_client_secret": "csecret",
        "neuroflash_workspace_id": "ws-1",
        "provider_read_timeout": 20.0,
    }
    values.update(overrides)
    return load_settings(**values)


@asynccontextmanager
async def slack_bridge(
    redis_url: str,
    prefix: str,
    *,
    socket_mode: bool = True,
    tokens_per_second: float = 400.0,
    **overrides: Any,
) -> AsyncIterator[SlackBridge]:
    slack = SlackEmulator()
    neuroflash = NeuroflashEmulator(
        client_id="cid",
        client_secret="csecret",
        workspace_id="ws-1",
        tokens_per_second=tokens_per_second,
    )
    await slack.start()
    await neuroflash.start()
    settings = bridge_settings(
        redis_url,
        prefix,
        slack_bot_token=slack.bot_token,
        slack_app_token=slack.app_token if socket_mode else None,
        slack_signing_secret=slack.signing_secret,
        slack_api_url=slack.api_url,
        neuroflash_api_url=f"{neuroflash.url}/api",
        neuroflash_token_url=f"{neuroflash.url}/oauth/v2/token",
        **overrides,
    )
    runtime = Runtime(settings)
    try:
        await runtime.start()
        if not socket_mode:
            slack.http_events_url = f"http://127.0.0.1:{runtime.http_port}/slack/events"
        yield SlackBridge(slack, neuroflash, runtime, settings)
    finally:
        await runtime.stop(grace=3.0)
        await slack.stop()
        await neuroflash.stop()
