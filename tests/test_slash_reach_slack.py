"""`/threadbridge <sub> <link>` on Slack acts on a linked thread only for who may see it.

A member of the thread's conversation (conversations.members, every page) or a workspace admin
may; a DM is only for its participants; the access lists judge both the channel the command is
typed in and the linked one. Anyone else gets a short refusal and nothing changes: no Redis
key, no provider call. Real slack-bolt (Socket Mode) and Redis; Slack and neuroflash emulated.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from redis.asyncio import Redis

from bridge.access import AccessPolicy, Lists, id_set
from bridge.contracts import ThreadKey
from tests.harness import Env, slack_bridge

PRIVATE = "G1"
"""A private channel: the bot and Ann (U1) are in it, Bob (U2) and the admin are not."""
OPEN = "C1"
"""Where everyone types their commands."""
DM = "D1"
"""Ann's DM with the bot."""
REFUSED = "🚫 You cannot use that thread: only people who can see it may."
REFUSED_DE = (
    "🚫 Diesen Thread kannst du nicht nutzen: Das dürfen nur Personen, die ihn sehen können."
)
SLOW = "A long and slow answer that keeps streaming for quite a while, word by word. " * 6


def link(channel: str, ts: str) -> str:
    return f"<https://emulated.slack.com/archives/{channel}/p{ts.replace('.', '')}>"


async def slash(env: Env, text: str, user: str) -> str:
    answer = await env.slack.slash(text, user=user, channel=OPEN)
    assert answer.get("response_type") == "ephemeral", answer
    return str(answer["text"])


@asynccontextmanager
async def private_thread(
    redis_url: str, prefix: str, channel: str = PRIVATE, **settings: Any
) -> AsyncIterator[tuple[Env, str]]:
    """Ann's answered thread in `channel` (private, or her DM): (env, root ts)."""
    async with slack_bridge(redis_url, prefix, **settings) as env:
        env.slack.add_user("U1", "Ann")
        env.slack.add_user("U2", "Bob", locale="de-DE")
        env.slack.add_user("UADMIN", "Ada", admin=True)
        kind = "im" if channel.startswith("D") else "group"
        env.slack.add_channel(channel, ["UBOT", "U1"], channel_type=kind)
        env.neuroflash.script("The secret plan.")
        root = await env.slack.user_post(channel, "<@UBOT> our secret plan", channel_type=kind)
        await env.wait_reply(channel, root, "The secret plan.")
        yield env, root


async def thread_keys(redis: Redis, prefix: str, root: str) -> dict[bytes, Any]:
    """Every Redis key of the thread with its value (DUMP)."""
    keys = sorted([k async for k in redis.scan_iter(match=f"{prefix}*slack:T1:*:{root}*")])
    return {k: await redis.dump(k) for k in keys}


async def thread_state(env: Env, redis: Redis, prefix: str, root: str) -> tuple[Any, int]:
    """The thread's keys and values, and how many calls the provider has had."""
    return await thread_keys(redis, prefix, root), len(env.neuroflash.calls)


async def settled_state(env: Env, redis: Redis, prefix: str, root: str) -> tuple[Any, int]:
    """The state once the finished reply's last writes (its lease's release) are done."""
    previous = await thread_state(env, redis, prefix, root)
    for _ in range(100):
        await env.slack.settle()
        await asyncio.sleep(0.05)  # between two reads, not a synchronisation: polled until equal
        current = await thread_state(env, redis, prefix, root)
        if current == previous:
            return current
        previous = current
    raise AssertionError("the thread's keys kept changing")


async def test_a_non_member_cannot_reach_a_private_thread(
    redis_url: str, prefix: str, redis: Redis
) -> None:
    async with private_thread(redis_url, prefix) as (env, root):
        before = await settled_state(env, redis, prefix, root)
        assert before[0], "the thread has keys to lose"
        (conversation,) = env.neuroflash.conversations
        for text in ("status", "forget confirm", "new", "stop"):
            answer = await slash(env, f"{text} {link(PRIVATE, root)}", user="U2")
            assert answer == REFUSED_DE
        assert await thread_state(env, redis, prefix, root) == before
        assert list(env.neuroflash.conversations) == [conversation]
        # Positive control: Ann, a member, sees it; so does Ada, a workspace admin.
        assert f"Conversation: {conversation}" in await slash(
            env, f"status {link(PRIVATE, root)}", user="U1"
        )
        assert f"Conversation: {conversation}" in await slash(
            env, f"status {link(PRIVATE, root)}", user="UADMIN"
        )
        assert "Forgotten" in await slash(env, f"forget confirm {link(PRIVATE, root)}", "U1")
        assert await thread_keys(redis, prefix, root) == {}


async def test_a_non_member_cannot_stop_a_private_reply(redis_url: str, prefix: str) -> None:
    async with private_thread(redis_url, prefix) as (env, root):
        env.neuroflash.hold = hold = asyncio.Event()
        env.neuroflash.tokens_per_second = 40
        env.neuroflash.script(SLOW)
        await env.slack.user_post(PRIVATE, "tell me a lot", thread_ts=root)
        await env.wait(lambda: "A long" in env.reply_text(PRIVATE, root))
        assert await slash(env, f"stop {link(PRIVATE, root)}", user="U2") == REFUSED_DE
        # The refused stop changed nothing: the reply is still open; Ann's own stop ends it.
        assert env.neuroflash.calls_to("message-streams", "DELETE") == []
        assert "Stopped" in await slash(env, f"stop {link(PRIVATE, root)}", user="U1")
        await env.wait(lambda: len(env.neuroflash.calls_to("message-streams", "DELETE")) == 1)
        hold.set()


async def test_membership_is_read_page_by_page(redis_url: str, prefix: str) -> None:
    """Ann is the last of many members and Slack hands out one member a page: she is found on
    the last page, Bob (on no page) is refused."""
    async with private_thread(redis_url, prefix) as (env, root):
        env.slack.workspace.members[PRIVATE] = ["UBOT", "U5", "U6", "U7", "U1"]
        env.slack.members_page_size = 1
        assert "Conversation:" in await slash(env, f"status {link(PRIVATE, root)}", user="U1")
        assert len(env.slack.calls_to("conversations.members")) == 5
        assert await slash(env, f"status {link(PRIVATE, root)}", user="U2") == REFUSED_DE


async def test_a_dm_is_only_for_its_participants(redis_url: str, prefix: str) -> None:
    async with private_thread(redis_url, prefix, channel=DM) as (env, root):
        (conversation,) = env.neuroflash.conversations
        assert await slash(env, f"status {link(DM, root)}", user="UADMIN") == REFUSED
        assert await slash(env, f"forget confirm {link(DM, root)}", user="UADMIN") == REFUSED
        assert list(env.neuroflash.conversations) == [conversation]
        assert f"Conversation: {conversation}" in await slash(
            env, f"status {link(DM, root)}", user="U1"
        )


async def test_the_channel_typed_in_is_judged_too(redis_url: str, prefix: str) -> None:
    """Commands typed in a denied channel are refused even when they name a thread elsewhere."""
    async with private_thread(redis_url, prefix, bridge_deny_channels=OPEN) as (env, root):
        answer = await slash(env, f"status {link(PRIVATE, root)}", user="U1")
        assert answer == "🚫 Sorry, I am not enabled for you here."


async def test_without_the_read_scope_nobody_but_admins_reaches_a_thread(
    redis_url: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An app installed before `groups:read` was asked for: Slack answers missing_scope, the
    member is refused (never let in on a guess) and the log names the scope to add."""
    async with private_thread(redis_url, prefix) as (env, root):
        env.slack.bot_scopes.remove("groups:read")
        assert await slash(env, f"status {link(PRIVATE, root)}", user="U1") == REFUSED
        assert any("groups:read" in r.getMessage() for r in caplog.records)
        assert "Conversation:" in await slash(env, f"status {link(PRIVATE, root)}", "UADMIN")


def allowing(member: bool, admin: bool | None = None) -> tuple[Any, Any]:
    async def is_member() -> bool:
        return member

    async def is_admin() -> bool:
        return bool(admin)

    return is_member, (is_admin if admin is not None else None)


@pytest.mark.parametrize(
    ("member", "admin", "direct", "allowed"),
    [
        (True, None, False, True),
        (False, None, False, False),
        (False, True, False, True),
        (False, False, False, False),
        (False, True, True, False),
        (True, None, True, True),
    ],
)
async def test_may_reach(member: bool, admin: bool | None, direct: bool, allowed: bool) -> None:
    from bridge.contracts import Link
    from bridge.slash import may_reach

    thread = ThreadKey("slack", "T1", PRIVATE, "1.0")
    is_member, is_admin = allowing(member, admin)
    found = await may_reach(AccessPolicy(), "U1", Link(thread, is_member, direct, is_admin))
    assert found is allowed


async def test_may_reach_obeys_the_lists_of_the_linked_channel() -> None:
    from bridge.contracts import Link
    from bridge.slash import may_reach

    thread = ThreadKey("slack", "T1", PRIVATE, "1.0")
    is_member, is_admin = allowing(True, True)
    for policy in (
        AccessPolicy(channels=Lists(deny=id_set(PRIVATE))),
        AccessPolicy(channels=Lists(allow=id_set(OPEN))),
        AccessPolicy(users=Lists(deny=id_set("U1"))),
    ):
        assert not await may_reach(policy, "U1", Link(thread, is_member, False, is_admin))


async def test_the_emulator_answers_conversations_members_as_documented() -> None:
    """Through slack_sdk: cursor pages until `next_cursor` is "", the documented errors, and
    `missing_scope` naming the scope the conversation's type needs."""
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    from emulators.slack import SlackEmulator

    async with SlackEmulator() as emu:
        assert isinstance(emu, SlackEmulator)
        client = AsyncWebClient(base_url=emu.api_url, token=emu.bot_token)
        emu.add_channel(PRIVATE, ["UBOT", "U1", "U2", "U3"])
        emu.add_channel("G2", ["U1"])  # private, without the bot
        seen: list[str] = []
        cursor = None
        while True:
            page = await client.conversations_members(channel=PRIVATE, limit=3, cursor=cursor)
            seen += page["members"]
            cursor = page["response_metadata"]["next_cursor"]
            if not cursor:
                break
        assert seen == ["UBOT", "U1", "U2", "U3"]
        assert all(c.method == "GET" for c in emu.calls_to("conversations.members"))
        for args, error in (
            ({"channel": "CNONE"}, "channel_not_found"),
            ({"channel": "G2"}, "channel_not_found"),
            ({"channel": PRIVATE, "cursor": "bm90IGEgY3Vyc29y"}, "invalid_cursor"),
            ({"channel": PRIVATE, "limit": 0}, "invalid_limit"),
        ):
            with pytest.raises(SlackApiError) as caught:
                await client.conversations_members(**args)
            assert caught.value.response["error"] == error
        emu.bot_scopes.remove("groups:read")
        with pytest.raises(SlackApiError) as caught:
            await client.conversations_members(channel=PRIVATE)
        assert caught.value.response["error"] == "missing_scope"
        assert caught.value.response["needed"] == "groups:read"
