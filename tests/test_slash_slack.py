"""`/threadbridge` on Slack, Socket Mode and HTTP mode, answered ephemerally.

Real slack-bolt, real Redis; Slack, neuroflash and SenseFlow are emulators.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from redis.asyncio import Redis

from emulators.base import Fault
from emulators.senseflow import AGENT, API_KEY, SenseflowEmulator
from tests.harness import Env, slack_bridge
from tests.test_attachments import with_openai
from tests.test_busy_policies import CHANNEL, cancels, open_thread, start_slow_reply

MODES = pytest.mark.parametrize("socket_mode", [True, False], ids=["socket", "http"])


@asynccontextmanager
async def bridge(redis_url: str, prefix: str, socket_mode: bool) -> AsyncIterator[Env]:
    async with slack_bridge(redis_url, prefix, socket_mode=socket_mode) as env:
        env.slack.add_user("U1", "Ann")
        env.slack.add_user("UADMIN", "Ada", admin=True)
        env.slack.add_user("UDE", "Dora", locale="de-DE")
        yield env


async def slash(env: Env, text: str, user: str = "U1") -> str:
    answer = await env.slack.slash(text, user=user, channel=CHANNEL)
    assert answer.get("response_type") == "ephemeral", answer
    return str(answer["text"])


@asynccontextmanager
async def senseflow_thread(
    redis_url: str, prefix: str, socket_mode: bool = True
) -> AsyncIterator[tuple[Env, SenseflowEmulator, str]]:
    """A channel an admin set to SenseFlow, with one thread answered: (env, emulator, root)."""
    senseflow = SenseflowEmulator()
    await senseflow.start()
    try:
        async with slack_bridge(
            redis_url,
            prefix,
            socket_mode=socket_mode,
            senseflow_api_key=API_KEY,
            senseflow_agent=AGENT,
            senseflow_api_url=senseflow.api_url,
        ) as env:
            env.slack.add_user("UADMIN", "Ada", admin=True)
            await slash(env, "config provider senseflow", user="UADMIN")
            senseflow.script("Hi from SenseFlow.")
            root = await env.slack.user_post(CHANNEL, "<@UBOT> hello", user="UADMIN")
            await env.wait_reply(CHANNEL, root, "Hi from SenseFlow.")
            yield env, senseflow, root
    finally:
        if senseflow.hold_delete is not None:
            senseflow.hold_delete.set()
        await senseflow.stop()


async def channel_settings(env: Env) -> dict[str, str]:
    assert env.runtime.store is not None
    return await env.runtime.store.channel_settings(f"slack:T1:{CHANNEL}")


async def thread_keys(redis: Redis, prefix: str, root: str) -> list[bytes]:
    pattern = f"{prefix}*slack:T1:{CHANNEL}:{root}*"
    return [k async for k in redis.scan_iter(match=pattern, count=500)]


@MODES
async def test_status_new_and_stop(redis_url: str, prefix: str, socket_mode: bool) -> None:
    async with bridge(redis_url, prefix, socket_mode) as env:
        root = await open_thread(env)
        (conversation,) = env.neuroflash.conversations
        status = await slash(env, "status")
        assert "Provider: neuroflash" in status
        assert f"Conversation: {conversation}" in status
        assert "Messages so far: 1" in status and "Busy policy: queue" in status

        hold = await start_slow_reply(env, root)
        assert "Stopped" in await slash(env, "stop")
        await env.wait(lambda: cancels(env) == 1)
        hold.set()

        assert "Fresh start" in await slash(env, "new")
        env.neuroflash.script("A new one.")
        await env.slack.user_post(CHANNEL, "again", thread_ts=root)
        await env.wait(lambda: env.replies(CHANNEL, root)[-1].text == "A new one.")
        assert len(env.neuroflash.conversations) == 2


@MODES
async def test_config_is_for_admins(redis_url: str, prefix: str, socket_mode: bool) -> None:
    async with bridge(redis_url, prefix, socket_mode) as env:
        assert "Only admins" in await slash(env, "config busy_policy interrupt")
        settings = await channel_settings(env)
        assert "busy_policy" not in settings
        assert "interrupt" in await slash(env, "config busy_policy interrupt", user="UADMIN")
        assert "reply_mode = mentions" in (
            await slash(env, "config reply_mode mentions", user="UADMIN")
            + await slash(env, "config", user="UADMIN")
        )
        settings = await channel_settings(env)
        assert settings["busy_policy"] == "interrupt" and settings["reply_mode"] == "mentions"
        assert "Unknown setting" in await slash(env, "config provider nope", user="UADMIN")


async def test_forget_deletes_the_conversation_and_every_key(
    redis_url: str, prefix: str, redis: Redis
) -> None:
    async with senseflow_thread(redis_url, prefix) as (env, senseflow, root):
        assert len(senseflow.conversations) == 1
        assert await thread_keys(redis, prefix, root)

        assert "forget confirm" in await slash(env, "forget", user="UADMIN")
        assert len(senseflow.conversations) == 1
        assert "Forgotten" in await slash(env, "forget confirm", user="UADMIN")
        assert senseflow.conversations == {}
        assert await thread_keys(redis, prefix, root) == []


async def test_german_locale_gets_german_texts(redis_url: str, prefix: str) -> None:
    async with bridge(redis_url, prefix, True) as env:
        await open_thread(env)
        assert "Verwendung" in await slash(env, "", user="UDE")
        assert "Nur Admins" in await slash(env, "config model x", user="UDE")
        assert "Usage" in await slash(env, "")


async def test_new_starts_an_openai_thread_without_its_history(redis_url: str, prefix: str) -> None:
    async with with_openai(redis_url, prefix) as (env, openai):
        openai.script("First.", "Second.", "Fresh.")
        root = await env.slack.user_post(CHANNEL, "<@UBOT> one")
        await env.wait_reply(CHANNEL, root, "First.")
        await env.slack.user_post(CHANNEL, "two", thread_ts=root)
        await env.wait_reply(CHANNEL, root, "First.Second.")
        assert len(openai.sent[-1]) == 3
        answer = await env.slack.slash("new", channel=CHANNEL)
        assert "Fresh start" in answer["text"]
        await env.slack.user_post(CHANNEL, "three", thread_ts=root)
        await env.wait_reply(CHANNEL, root, "First.Second.Fresh.")
        assert openai.sent[-1] == [{"role": "user", "content": "three"}]


@MODES
async def test_a_slow_command_is_acked_in_time_and_answered_by_response_url(
    redis_url: str, prefix: str, socket_mode: bool
) -> None:
    """The provider's delete is held: the ack must not wait for it (Slack drops an ack after
    3 s); the answer follows through the command's response_url once the delete is done."""
    async with senseflow_thread(redis_url, prefix, socket_mode) as (env, senseflow, _):
        senseflow.hold_delete = held = asyncio.Event()
        # Acked while the delete is still held: the ack did not wait for the work.
        assert await slash(env, "forget confirm", user="UADMIN") == "Working on it…"
        assert env.slack.command_responses == [] and len(senseflow.conversations) == 1
        held.set()
        await env.wait(lambda: bool(env.slack.command_responses))
        (answer,) = env.slack.command_responses
        assert answer["response_type"] == "ephemeral"
        assert answer["text"].startswith("Forgotten")
        assert senseflow.conversations == {}


def test_thread_of_link() -> None:
    from adapters.slack.slash import thread_of_link

    root = "https://x.slack.com/archives/C1/p1700000000123456"
    reply = "https://x.slack.com/archives/C1/p1700000009000001?thread_ts=1700000000.123456&cid=C1"
    expected = ("slack", "T1", "C1", "1700000000.123456")
    for link in (root, reply):
        found = thread_of_link("T1", link)
        assert found is not None
        assert (found.platform, found.tenant, found.channel, found.thread) == expected
    assert thread_of_link("T1", "confirm") is None


async def test_a_thread_link_picks_the_thread(redis_url: str, prefix: str) -> None:
    async with bridge(redis_url, prefix, True) as env:
        env.neuroflash.script("First.", "Second.")
        first = await env.slack.user_post(CHANNEL, "<@UBOT> one")
        await env.wait_reply(CHANNEL, first, "First.")
        second = await env.slack.user_post(CHANNEL, "<@UBOT> two")
        await env.wait_reply(CHANNEL, second, "Second.")
        one, two = env.neuroflash.conversations
        assert f"Conversation: {two}" in await slash(env, "status")
        link = f"<https://emulated.slack.com/archives/{CHANNEL}/p{first.replace('.', '')}>"
        assert f"Conversation: {one}" in await slash(env, f"status {link}")


async def test_deny_lists_and_listed_admins_apply_to_the_command(
    redis_url: str, prefix: str
) -> None:
    """Access lists meet commands: /threadbridge obeys BRIDGE_DENY_USERS like posts do, and its
    `config` takes the same admins as thread commands (BRIDGE_ADMIN_USERS included)."""
    settings = {"bridge_deny_users": "U2", "bridge_admin_users": "U7"}
    async with slack_bridge(redis_url, prefix, **settings) as env:
        await open_thread(env)
        for text in ("status", "config busy_policy merge"):
            assert await slash(env, text, user="U2") == "🚫 Sorry, I am not enabled for you here."
        assert "busy_policy" not in await channel_settings(env)
        assert "merge" in await slash(env, "config busy_policy merge", user="U7")
        assert (await channel_settings(env))["busy_policy"] == "merge"
        assert "Only admins" in await slash(env, "config busy_policy queue", user="U1")


async def test_a_failing_command_says_so_with_a_reference(
    redis_url: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The provider refuses the delete: the user reads that it did not work (and a ref the
    log carries with the details), not a silent or timed-out command."""
    async with senseflow_thread(redis_url, prefix) as (env, senseflow, _):
        senseflow.fail_next("delete", Fault("status", 500, body={"message": "db down"}))
        answer = await slash(env, "forget confirm", user="UADMIN")
        assert answer.startswith("⚠️ That did not work (ref ")
        ref = answer.split("(ref ")[1].split(")")[0]
        assert any(ref in r.getMessage() and "forget" in r.getMessage() for r in caplog.records)
        assert "db down" not in answer
        assert len(senseflow.conversations) == 1
