"""Logs: JSON lines that parse and carry the reply's ids; no secret in any line, in either
format, at DEBUG, including exception text and URLs with credentials."""

from __future__ import annotations

import io
import json
import logging
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager

import pytest

from bridge import logs
from bridge.runtime import Runtime
from emulators.base import Fault
from emulators.discord import DiscordEmulator
from emulators.neuroflash import NeuroflashEmulator
from emulators.openai_compat import OpenAIEmulator
from emulators.slack import SlackEmulator
from tests.harness import bridge_runtime, bridge_settings, slack_bridge

CHANNEL = "C1"
MENTION = "<@UBOT>"
REPLY_IDS = ("platform", "tenant", "channel", "thread", "reply", "conversation")


@contextmanager
def captured(fmt: str, level: str = "DEBUG", hidden: tuple[str, ...] = ()) -> Iterator[io.StringIO]:
    """Route the root logger through `bridge.logs` into a buffer; restore pytest's handlers."""
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in logs.QUIET}
    buffer = io.StringIO()
    logs.configure(level, fmt, hidden, stream=buffer)
    try:
        yield buffer
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        for name, old in quiet.items():
            logging.getLogger(name).setLevel(old)


async def test_json_lines_parse_and_reply_lines_carry_ids(redis_url: str, prefix: str) -> None:
    with captured("json", "DEBUG") as buffer:
        async with slack_bridge(redis_url, prefix) as env:
            env.neuroflash.script("Logged.")
            limited = Fault("status", 429, headers={"Retry-After": "1"})
            env.slack.fail_next("chat.startStream", limited)
            root = await env.slack.user_post(CHANNEL, f"{MENTION} log me")
            await env.wait_reply(CHANNEL, root, "Logged.")
            await env.wait(lambda: '"reply done' in buffer.getvalue())
    lines = buffer.getvalue().splitlines()
    assert len(lines) > 10
    records = [json.loads(line) for line in lines]
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys()
    chatty = [r for r in records if r["level"] in ("DEBUG", "INFO") and logs._quiet(r["logger"])]
    assert chatty == []
    assert "log me" not in buffer.getvalue(), "a request body reached the log"
    about_reply = [
        r
        for r in records
        if r["message"].startswith("reply done") or "rate-limited" in r["message"]
    ]
    assert len(about_reply) == 2, about_reply
    for record in about_reply:
        assert all(record.get(k) for k in REPLY_IDS), record
        assert record["platform"] == "slack" and record["channel"] == CHANNEL
        assert record["thread"] == root
        assert record["conversation"] in env.neuroflash.conversations


def _secret(tag: str) -> str:
    return f"{tag}{secrets.token_hex(12)}"


@asynccontextmanager
async def secret_bridge(
    redis_url: str, prefix: str, hidden: dict[str, str]
) -> AsyncIterator[tuple[Runtime, SlackEmulator, DiscordEmulator, NeuroflashEmulator]]:
    """Slack (Socket Mode), Discord and neuroflash emulators whose credentials are `hidden`;
    Redis reached with a password in its URL; an OpenAI-compatible emulator behind a URL with
    user:password@ (a proxy's basic auth; the emulator asks no key)."""
    async with AsyncExitStack() as stack:
        nf = NeuroflashEmulator(
            client_id="cid",
            client_secret=hidden["nf"],
            workspace_id="ws-1",
            tokens_per_second=400.0,
        )
        slack = SlackEmulator(
            bot_token=hidden["bot"], app_token=hidden["app"], signing_secret=hidden["sign"]
        )
        discord = DiscordEmulator(token=hidden["discord"], heartbeat_interval=5.0)
        openai = OpenAIEmulator()
        for emu in (nf, slack, discord, openai):
            await emu.start()
            stack.push_async_callback(emu.stop)
        host = redis_url.split("://", 1)[1]
        runtime = bridge_runtime(
            f"redis://default:{hidden['redis']}@{host}",
            prefix,
            neuroflash_client_secret=hidden["nf"],
            neuroflash_api_url=f"{nf.url}/api",
            neuroflash_token_url=f"{nf.url}/oauth/v2/token",
            slack_bot_token=hidden["bot"],
            slack_app_token=hidden["app"],
            slack_signing_secret=hidden["sign"],
            slack_api_url=slack.api_url,
            discord_token=hidden["discord"],
            discord_api_url=discord.api_url,
            discord_gateway_url=discord.gateway_url,
            converzen_api_key=hidden["converzen"],
            senseflow_api_key=hidden["senseflow"],
            openai_api_key=hidden["openai"],
            openai_base_url=openai.url.replace("://", f"://proxyuser:{hidden['url']}@") + "/v1",
            openai_model="m",
            bridge_log_level="DEBUG",
        )
        stack.push_async_callback(runtime.stop, 3.0)
        await runtime.start()
        yield runtime, slack, discord, nf, openai


@pytest.mark.parametrize("fmt", ["plain", "json"])
async def test_no_secret_reaches_the_log_at_debug(redis_url: str, prefix: str, fmt: str) -> None:
    names = (
        "nf",
        "bot",
        "app",
        "sign",
        "discord",
        "redis",
        "url",
        "converzen",
        "senseflow",
        "openai",
        "openai_url",
    )
    hidden = {name: _secret(name) for name in names}
    settings_secrets = logs.secrets_of(
        bridge_settings(
            f"redis://default:{hidden['redis']}@127.0.0.1:6379/0",
            prefix,
            openai_base_url=f"http://proxyuser:{hidden['url']}@127.0.0.1:9/v1",
        )
    )
    with captured(fmt, "DEBUG", tuple(settings_secrets) + tuple(hidden.values())) as buffer:
        async with secret_bridge(redis_url, prefix, hidden) as env:
            runtime, slack, discord, nf, openai = env
            nf.script("Slack answer.", "Discord answer.")
            openai.script("Through the proxy.")
            assert runtime.store is not None
            await runtime.store.set_channel_setting("slack:T1:C2", "provider", "openai")
            other = await slack.user_post("C2", f"{MENTION} via openai")
            await nf.wait_for(
                lambda: (
                    "".join(m.text for m in slack.bot_replies("C2", other)) == "Through the proxy."
                ),
                20,
            )
            root = await slack.user_post(CHANNEL, f"{MENTION} secret run")
            await nf.wait_for(
                lambda: (
                    "".join(m.text for m in slack.bot_replies(CHANNEL, root)) == "Slack answer."
                ),
                20,
            )
            post = await discord.user_message(discord.channel.id, "hello", mentions_bot=True)
            await nf.wait_for(
                lambda: (
                    "".join(m.content for m in discord.bot_messages(post.id)) == "Discord answer."
                ),
                30,
            )
            logging.getLogger("tests").error(
                "failed talking to %s",
                f"{nf.url}/oauth/v2/token",
                exc_info=RuntimeError(f"bad {hidden['bot']} at {runtime.settings.redis_url}"),
            )
    text = buffer.getvalue()
    assert len(text.splitlines()) > 20
    assert "failed talking to" in text and "RuntimeError" in text
    leaked = [name for name, value in hidden.items() if value in text]
    assert leaked == [], leaked
    if fmt == "json":
        for line in text.splitlines():
            json.loads(line)


def test_redactor_masks_url_credentials_and_parameters() -> None:
    redact = logs.Redactor(["s3cr3t-value"])
    line = (
        "GET https://user:pw12345@host/x?token=abc123&b=1 redis://:hunter22@r:6379/0 "
        "https://xoxb-tok@h/ s3cr3t-value rediss://host:6380"
    )
    out = redact(line)
    for value in ("pw12345", "abc123", "hunter22", "xoxb-tok", "s3cr3t-value"):
        assert value not in out
    assert "https://***@host/x?token=***&b=1" in out
    assert "rediss://host:6380" in out
