"""Forget and uninstall leave nothing behind: dead letters, posts still waiting in the inbox,
and every key of the thread or workspace; a dead letter of a forgotten thread is not replayed.

Real slack-bolt, real Redis; Slack and neuroflash are the emulators.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis

from bridge.cli import main
from bridge.contracts import Conversation, ThreadKey, UserPost
from bridge.deadletters import DeadLetters
from bridge.inbox import Inbox
from bridge.keys import Keys
from bridge.plugin_state import RedisPluginState
from bridge.store import Store
from emulators.base import Fault
from tests.harness import Env, discord_bridge, slack_bridge
from tests.test_slack_distribution import TEAMS, distributed_bridge, install
from tests.test_slack_distribution import Env as DistributedEnv

CHANNEL = "C1"
FAST_FAILURE = {
    "bridge_max_attempts": 1,
    "bridge_retry_base_seconds": 0.1,
    "bridge_lease_seconds": 3.0,
    "slack_reply_mode": "edit",
}


def asked(env: Env | DistributedEnv) -> list[str]:
    """Every text the bridge sent neuroflash as a user message."""
    conversations = env.neuroflash.conversations.values()
    return [m.text for c in conversations for m in c.messages if m.source == "user"]


async def operator(monkeypatch: pytest.MonkeyPatch, env: Env, *argv: str) -> int:
    """`threadbridge dead-letters …` as an operator runs it (its own event loop, in a thread)."""
    monkeypatch.setenv("REDIS_URL", str(env.settings.redis_url))
    monkeypatch.setenv("BRIDGE_REDIS_PREFIX", env.settings.bridge_redis_prefix)
    return await asyncio.to_thread(main, ["dead-letters", *argv])


async def inbox_threads(redis: Redis, prefix: str, shards: int) -> list[ThreadKey]:
    """The thread of every inbox entry not yet acknowledged."""
    inbox = Inbox(redis, Keys(prefix), shards)
    found = []
    for shard in range(shards):
        for _, fields in await redis.xrange(inbox.stream(shard)):
            found.append(UserPost.from_json(fields[b"post"]).thread)
    return found


async def test_forget_purges_dead_letters_and_waiting_posts_of_that_thread_only(
    redis_url: str,
    prefix: str,
    redis: Redis,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with slack_bridge(redis_url, prefix, **FAST_FAILURE) as env:
        env.slack.add_user("UADMIN", "Ada", admin=True)
        env.slack.fail_next("chat.postMessage", Fault("status", status=500), times=1000)
        a = await env.slack.user_post(CHANNEL, "<@UBOT> secret of A", user="UADMIN")
        await env.wait(lambda: env.runtime.metrics.value("dead_letters_total") == 1, 90)
        b = await env.slack.user_post(CHANNEL, "<@UBOT> question of B")
        await env.wait(lambda: env.runtime.metrics.value("dead_letters_total") == 2, 90)
        env.slack.clear_faults("chat.postMessage")
        dead = DeadLetters(redis, Keys(prefix))
        thread_a = (await dead.list())[0].post.thread

        hold = env.neuroflash.hold = asyncio.Event()
        env.neuroflash.script("Held for B.", "Held for A.", "Never for A.")
        await env.slack.user_post(CHANNEL, "more of B", thread_ts=b)
        await env.wait(lambda: "more of B" in asked(env))
        await env.slack.user_post(CHANNEL, "more of A", thread_ts=a, user="UADMIN")
        await env.wait(lambda: "more of A" in asked(env))
        await env.slack.user_post(CHANNEL, "still waiting in A", thread_ts=a, user="UADMIN")
        dispatcher = env.runtime.dispatcher
        assert dispatcher is not None
        await env.wait(lambda: dispatcher.waiting == 1)
        assert thread_a in await inbox_threads(redis, prefix, env.settings.bridge_inbox_shards)

        answer = await env.slack.slash("forget confirm", user="UADMIN", channel=CHANNEL)
        assert "Forgotten" in answer["text"]
        threads = await inbox_threads(redis, prefix, env.settings.bridge_inbox_shards)
        assert thread_a not in threads and threads, "B's reply in progress stays pending"
        assert [letter.post.message_id for letter in await dead.list()] == [b]

        hold.set()
        await env.wait(lambda: "Held for B." in env.reply_text(CHANNEL, b), 30)
        await env.wait(lambda: dispatcher.busy == 0 and dispatcher.waiting == 0, 60)
        assert "still waiting in A" not in asked(env)
        assert await operator(monkeypatch, env, "replay", "--all") == 0
        assert a not in capsys.readouterr().out
        assert [letter.post.message_id for letter in await dead.list()] == []


async def test_a_dead_letter_of_a_forgotten_thread_is_not_replayed(
    redis_url: str,
    prefix: str,
    redis: Redis,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A replica that gave up on a post while the thread was being forgotten may still file
    it; the operator's replay refuses it and says why."""
    async with slack_bridge(redis_url, prefix) as env:
        env.slack.add_user("UADMIN", "Ada", admin=True)
        env.neuroflash.script("Answered.")
        a = await env.slack.user_post(CHANNEL, "<@UBOT> secret of A", user="UADMIN")
        await env.wait_reply(CHANNEL, a, "Answered.")
        thread = ThreadKey("slack", "T1", CHANNEL, a)
        late = UserPost(thread, a, "UADMIN", "secret of A", ts=float(a))

        answer = await env.slack.slash("forget confirm", user="UADMIN", channel=CHANNEL)
        assert "Forgotten" in answer["text"]
        dead = DeadLetters(redis, Keys(prefix))
        entry = await dead.add(late, "gave up", 5)

        assert await operator(monkeypatch, env, "replay", entry) == 1
        out = capsys.readouterr().out
        assert "forgotten" in out and entry in out
        assert await dead.list() == []
        assert len([text for text in asked(env) if "secret of A" in text]) == 1


async def test_uninstall_purges_that_workspaces_dead_letters_and_waiting_posts_only(
    redis_url: str, prefix: str, redis: Redis
) -> None:
    async with distributed_bridge(redis_url, prefix, **FAST_FAILURE) as env:
        assert await install(env, "TA") == 200
        assert await install(env, "TB") == 200
        env.slack.fail_next("chat.postMessage", Fault("status", status=500), times=1000)
        for team, channel in (("TA", "CA"), ("TB", "CB")):
            bot = TEAMS[team][1]
            await env.slack.user_post(channel, f"<@{bot}> lost in {team}", team_id=team)
        dead = DeadLetters(redis, Keys(prefix))
        metrics = env.runtime.metrics
        await env.neuroflash.wait_for(lambda: metrics.value("dead_letters_total") == 2, 90)
        env.slack.clear_faults("chat.postMessage")

        env.neuroflash.hold = asyncio.Event()
        roots = {}
        for team, channel in (("TA", "CA"), ("TB", "CB")):
            bot = TEAMS[team][1]
            roots[team] = await env.slack.user_post(channel, f"<@{bot}> held {team}", team_id=team)
        await env.neuroflash.wait_for(lambda: sum("held" in t for t in asked(env)) == 2, 30)
        shards = env.runtime.settings.bridge_inbox_shards
        tenants = {t.tenant for t in await inbox_threads(redis, prefix, shards)}
        assert tenants == {"TA", "TB"}

        await env.slack.uninstall("TA")
        tenants = {t.tenant for t in await inbox_threads(redis, prefix, shards)}
        assert tenants == {"TB"}
        assert {letter.post.thread.tenant for letter in await dead.list()} == {"TB"}
        env.neuroflash.hold.set()
        await env.neuroflash.wait_for(lambda: bool(env.reply_text("TB", "CB", roots["TB"])), 30)
        dispatcher = env.runtime.dispatcher
        assert dispatcher is not None
        await env.neuroflash.wait_for(lambda: dispatcher.busy == 0, 60)
        assert {letter.post.thread.tenant for letter in await dead.list()} == {"TB"}


THREAD = ThreadKey("slack", "T1", "C1", "1700000000.000100")
OTHER = ThreadKey("slack", "T1", "C1", "1700000000.000200")


class NoScan(Redis):
    """A client that fails any keyspace walk: forget must name its keys."""

    def scan_iter(self, *args: object, **kwargs: object) -> Any:
        raise AssertionError("forget scanned the keyspace")

    async def scan(self, *args: object, **kwargs: object) -> Any:
        raise AssertionError("forget scanned the keyspace")

    async def keys(self, *args: object, **kwargs: object) -> Any:
        raise AssertionError("forget listed the keyspace")


async def fill(redis: Redis, prefix: str, thread: ThreadKey) -> None:
    """Every kind of key a thread gets, written by the code that writes it in service."""
    store, inbox = Store(redis, Keys(prefix)), Inbox(redis, Keys(prefix), 4)
    dead = DeadLetters(redis, Keys(prefix))
    for n, message_id in enumerate(("1.1", "1.2"), start=1):
        post = UserPost(thread, message_id, "U1", f"post {n}", float(n))
        await store.mark_thread(thread)
        assert await inbox.accept(post) == n
        await store.touch_thread(thread)
        await store.add_participant(thread, "U1")
        await store.set_last_thread(thread.scope, "U1", thread)
        shown = f"{thread.thread}-{n}"
        await store.save_record(thread, message_id, messages=[shown], status="done")
        await store.index_replies(thread, [shown])
        await dead.count_attempt(post)
    await store.claim_notice(thread, "1.3")
    await store.bind(Conversation("neuroflash", "c1", thread, {}))
    await store.thread_state.set(thread, "openai:history", "[]")
    await RedisPluginState(redis, store.keys, thread.platform).set(thread.tenant, "install", "x")
    await store.acquire_lease(thread, "token", 60)
    await store.mark_done(thread, 1, "token")
    await store.set_channel_setting(thread.scope, "busy_policy", "queue")


async def every_key(redis: Redis, prefix: str) -> set[bytes]:
    """Every key under `prefix`, a nested deployment's included."""
    return {k async for k in redis.scan_iter(match=f"{prefix}*", count=500)}


def naming(keys: set[bytes], thread: ThreadKey) -> set[bytes]:
    return {k for k in keys if str(thread).encode() in k}


async def test_forget_names_every_key_of_the_thread_and_scans_nothing(
    redis_url: str, prefix: str, redis: Redis
) -> None:
    await fill(redis, prefix, THREAD)
    await fill(redis, prefix, OTHER)
    before = await every_key(redis, prefix)
    # 7 fixed (active conv done state people lease posts), reply and attempts for two
    # posts, a notice, the inbox counter and two dedupe marks, two reply-message indexes
    assert len(naming(before, THREAD)) == 17
    assert await redis.exists(f"{prefix}replymsg:{THREAD}-1")

    client = NoScan.from_url(redis_url)
    try:
        store, inbox = Store(client, Keys(prefix)), Inbox(client, Keys(prefix), 4)
        posts = await store.forget_thread(THREAD)
        await inbox.forget_thread(THREAD, posts)
    finally:
        await client.aclose()
    after = await every_key(redis, prefix)
    assert naming(after, THREAD) == set()
    assert naming(after, OTHER) == naming(before, OTHER)
    assert f"{prefix}channel:slack:T1:C1".encode() in after, "channel settings are the channel's"
    assert posts == ["1.1", "1.2", "1.3"]


@pytest.mark.parametrize("forget", ["thread", "tenant"])
@pytest.mark.parametrize("acting", ["tb:", "tb:staging:"])
async def test_nested_prefixes_forget_only_their_own_keys(
    prefix: str, redis: Redis, forget: str, acting: str
) -> None:
    """`tb:` and `tb:staging:` are two deployments on one Redis: one forgetting a thread or
    a workspace leaves the other's keys of that same thread and workspace alone."""
    outer, inner = f"{prefix}tb:", f"{prefix}tb:staging:"
    await fill(redis, outer, THREAD)
    await fill(redis, inner, THREAD)
    everything = await every_key(redis, outer)
    mine = f"{prefix}{acting}"
    others = {k for k in everything if not _of(k, mine, inner)}
    assert others and len(others) < len(everything)

    store, inbox = Store(redis, Keys(mine)), Inbox(redis, Keys(mine), 4)
    if forget == "thread":
        await inbox.forget_thread(THREAD, await store.forget_thread(THREAD))
    else:
        await store.forget_tenant("slack", "T1")
    after = await every_key(redis, outer)
    assert {k for k in after if not _of(k, mine, inner)} == others
    assert naming({k for k in after if _of(k, mine, inner)}, THREAD) == set()


def _of(key: bytes, prefix: str, inner: str) -> bool:
    """`key` is the deployment `prefix`'s (the outer one's keys exclude the inner one's)."""
    name = key.decode()
    if prefix == inner:
        return name.startswith(inner)
    return name.startswith(prefix) and not name.startswith(inner)


async def test_a_guild_that_removes_the_bot_is_forgotten_and_no_other(
    redis_url: str, prefix: str, redis: Redis
) -> None:
    """Removed from a guild (GUILD_DELETE without `unavailable`), the bridge deletes that
    guild's keys — its threads' bindings, records and settings — and keeps every other guild's."""
    async with discord_bridge(redis_url, prefix) as env:
        emu = env.discord
        other = emu.create_guild("Other Guild")
        (adapter,) = env.runtime.adapters
        client = adapter.client  # type: ignore[attr-defined]
        await env.wait(lambda: client.get_guild(other.id) is not None, timeout=10)
        env.neuroflash.script("An answer.", "An answer.")
        here = await emu.user_message(emu.channel.id, "question A", mentions_bot=True)
        there = await emu.user_message(other.channel_ids[0], "question B", mentions_bot=True)
        await env.wait(lambda: env.discord_text(here.id) == "An answer.", timeout=30)
        await env.wait(lambda: env.discord_text(there.id) == "An answer.", timeout=30)

        async def keys_of(guild: int) -> list[str]:
            found = [k.decode() async for k in redis.scan_iter(match=f"{prefix}*")]
            return [k for k in found if f"discord:{guild}:" in k]

        assert await keys_of(emu.guild.id) and await keys_of(other.id)
        kept = await keys_of(other.id)
        emu.remove_bot(emu.guild)
        async with asyncio.timeout(30):
            while await keys_of(emu.guild.id):  # noqa: ASYNC110 (polling Redis, no event to wait on)
                await asyncio.sleep(0.05)
        assert set(kept) <= set(await keys_of(other.id))
