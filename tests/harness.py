"""Brings up a real bridge (in this event loop) against emulators, for end-to-end tests.

Everything is real except the far ends: Redis, slack-bolt/slack_sdk, discord.py, httpx-sse
and the bridge's own runtime; Slack, Discord and neuroflash are emulators on loopback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from bridge.config import Settings, load_settings
from bridge.plugins import adapter_plugins, messengers
from bridge.runtime import Runtime
from emulators.discord import DiscordEmulator
from emulators.neuroflash import NeuroflashEmulator
from emulators.neuroflash.state import default_reply, split_tokens
from emulators.openai_compat import OpenAIEmulator
from emulators.slack import SlackEmulator

BARRIER = "one more question"
BARRIER_ANSWER = default_reply(BARRIER)
"""A barrier post and the emulator's unscripted answer to it (see `Env.slack_barrier`)."""


@dataclass
class Env:
    neuroflash: NeuroflashEmulator
    runtime: Runtime
    settings: Settings
    slack_emu: SlackEmulator | None = None
    discord_emu: DiscordEmulator | None = None
    values: dict[str, Any] = field(default_factory=dict)
    """Every value the bridge was given (`runtime_with` builds another from them)."""

    @property
    def slack(self) -> SlackEmulator:
        assert self.slack_emu is not None
        return self.slack_emu

    @property
    def discord(self) -> DiscordEmulator:
        assert self.discord_emu is not None
        return self.discord_emu

    def replies(self, channel: str, thread_ts: str) -> list[Any]:
        """The bot's Slack messages in a thread."""
        return list(self.slack.bot_replies(channel, thread_ts))

    def reply_text(self, channel: str, thread_ts: str) -> str:
        return "".join(m.text for m in self.replies(channel, thread_ts))

    def discord_text(self, channel_id: int) -> str:
        return "".join(m.content for m in self.discord.bot_messages(channel_id))

    async def wait_reply(
        self, channel: str, thread_ts: str, expected: str, timeout: float = 20.0
    ) -> None:
        """Wait until the bot's Slack messages in the thread read exactly `expected`."""
        await self.wait(lambda: self.reply_text(channel, thread_ts) == expected, timeout)

    async def wait(self, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
        await self.neuroflash.wait_for(predicate, timeout)

    async def slack_barrier(self, channel: str, thread_ts: str | None = None) -> str:
        """Post `BARRIER` in the thread (else as a new mention in `channel`) and wait for its
        answer; returns the barrier's thread.

        Posts are recorded before their events are acked and a thread's posts are answered in
        order, so by then everything delivered earlier was taken in, and whatever it added to
        this thread was answered: assert what did not happen after this, not after a sleep.
        Leave no scripted reply unused before calling it (the barrier's answer is unscripted).
        """
        text = BARRIER if thread_ts else f"<@{self.slack.bot_user_id}> {BARRIER}"
        ts = await self.slack.user_post(channel, text, thread_ts=thread_ts)
        root = thread_ts or ts
        await self.wait(
            lambda: self._answered_barrier([m.text for m in self.replies(channel, root)])
        )
        return root

    async def discord_barrier(self, channel_id: int) -> None:
        """`slack_barrier` for a Discord thread or DM: post `BARRIER` there, wait for its answer."""
        await self.discord.user_message(channel_id, BARRIER)
        await self.wait(
            lambda: self._answered_barrier(
                [m.content for m in self.discord.bot_messages(channel_id)]
            )
        )

    def _answered_barrier(self, replies: list[str]) -> bool:
        """Whether `replies` hold the final answer to the barrier post as neuroflash got it (its
        author's name leads it once several people wrote in the thread)."""
        sent = [c.body["text"] for c in self.neuroflash.calls_to("message-streams", "POST")]
        return any(default_reply(text) in replies for text in sent if text.endswith(BARRIER))


def rate_for(text: str, seconds: float) -> float:
    """The emulator token rate that streams `text` over `seconds`."""
    return len(split_tokens(text)) / seconds


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


ADAPTERS = ("slack", "discord", "teams", "mattermost")


def adapter_values(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The adapters' own settings among test values, by adapter: `slack_reply_mode` is the
    Slack adapter's `reply_mode`; BRIDGE_ENCRYPTION_KEY is Slack's too. No `.env` is read."""
    found: dict[str, dict[str, Any]] = {name: {"_env_file": None} for name in ADAPTERS}
    for key, value in values.items():
        name, _, rest = key.partition("_")
        if name in found:
            found[name][rest] = value
    if "bridge_encryption_key" in values:
        found["slack"]["encryption_key"] = values["bridge_encryption_key"]
    return found


def runtime_with(settings: Settings, values: Mapping[str, Any]) -> Runtime:
    """A runtime (not started) on `settings`, its adapters read with `values`' own ones."""
    missing: list[str] = []
    return Runtime(settings, messengers(adapter_plugins(missing, adapter_values(values)), missing))


def bridge_runtime(redis_url: str, prefix: str, **values: Any) -> Runtime:
    """`runtime_with` the harness's settings plus `values` (core and adapters' alike)."""
    return runtime_with(bridge_settings(redis_url, prefix, **values), values)


@asynccontextmanager
async def bridge_env(
    redis_url: str,
    prefix: str,
    *,
    slack: bool = True,
    discord: bool = False,
    socket_mode: bool = True,
    tokens_per_second: float = 400.0,
    discord_heartbeat: float = 5.0,
    **overrides: Any,
) -> AsyncIterator[Env]:
    """Emulators, then a bridge runtime wired to them; everything stopped on exit
    (`discord_heartbeat`: the heartbeat interval the Discord emulator names)."""
    async with AsyncExitStack() as stack:
        neuroflash = NeuroflashEmulator(
            client_id="cid",
            client_secret="csecret",
            workspace_id="ws-1",
            tokens_per_second=tokens_per_second,
        )
        await neuroflash.start()
        stack.push_async_callback(neuroflash.stop)
        values: dict[str, Any] = {
            "neuroflash_api_url": f"{neuroflash.url}/api",
            "neuroflash_token_url": f"{neuroflash.url}/oauth/v2/token",
        }
        slack_emu = discord_emu = None
        if slack:
            slack_emu = SlackEmulator()
            await slack_emu.start()
            stack.push_async_callback(slack_emu.stop)
            values |= {
                "slack_bot_token": slack_emu.bot_token,
                "slack_app_token": slack_emu.app_token if socket_mode else None,
                "slack_signing_secret": slack_emu.signing_secret,
                "slack_api_url": slack_emu.api_url,
            }
        if discord:
            discord_emu = DiscordEmulator(heartbeat_interval=discord_heartbeat)
            await discord_emu.start()
            stack.push_async_callback(discord_emu.stop)
            values |= {
                "discord_token": discord_emu.token,
                "discord_api_url": discord_emu.api_url,
                "discord_gateway_url": discord_emu.gateway_url,
            }
        values |= overrides
        runtime = bridge_runtime(redis_url, prefix, **values)
        stack.push_async_callback(runtime.stop, 3.0)
        await runtime.start()
        if slack_emu is not None and not socket_mode:
            slack_emu.http_events_url = f"http://127.0.0.1:{runtime.http_port}/slack/events"
        yield Env(neuroflash, runtime, runtime.settings, slack_emu, discord_emu, values)


def slack_bridge(redis_url: str, prefix: str, **kwargs: Any) -> Any:
    return bridge_env(redis_url, prefix, slack=True, **kwargs)


def discord_bridge(redis_url: str, prefix: str, **kwargs: Any) -> Any:
    return bridge_env(redis_url, prefix, slack=False, discord=True, **kwargs)


@asynccontextmanager
async def with_openai(
    redis_url: str, prefix: str, model: str = "llama3", **kwargs: Any
) -> AsyncIterator[tuple[Env, OpenAIEmulator]]:
    """A bridge whose provider is the OpenAI-compatible emulator, serving `model`."""
    openai = OpenAIEmulator()
    await openai.start()
    try:
        async with bridge_env(
            redis_url,
            prefix,
            bridge_provider="openai",
            openai_base_url=openai.base_url,
            openai_model=model,
            **kwargs,
        ) as env:
            yield env, openai
    finally:
        await openai.stop()
