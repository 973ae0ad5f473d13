"""A thread key holds any platform's ids: its string form (and every Redis key named from it)
reads back exactly, keeps its hash tag whole, and is byte-for-byte what it always was for ids
without ":", "%", "{" or "}" (Slack and Discord ids), so stored data keeps working."""

from __future__ import annotations

import itertools
import uuid

from redis.asyncio import Redis
from redis.crc import key_slot

from bridge import keys
from bridge.contracts import (
    Conversation,
    ThreadKey,
    UserPost,
    channel_scope,
    escape_id,
    join_ids,
    split_ids,
    unescape_id,
)
from bridge.contracts.data import _NAMESPACE as NAMESPACE
from bridge.keys import Keys
from bridge.store import Store

TRICKY = [
    "",
    ":",
    "::",
    "%",
    "%%",
    "%3A",
    "%253A",
    "{",
    "}",
    "{}",
    "}{",
    "a:b",
    "19:abc@thread.tacv2",
    "19:meeting_Zm9v@thread.v2;messageid=1616990032035",
    "a:b;c=d",
    "{tag}",
    "x{y}z:w",
    "%7B",
    "ünïcødé 🧵",
    "line\nbreak",
    "*?[]\\",
    " ",
]
PLAIN = ["slack", "T0123ABC", "C024BE91L", "1712345678.000100", "123456789012345678", "-"]


def tricky_keys() -> list[ThreadKey]:
    """Every tricky id in every position, beside plain ones."""
    found = []
    for position, value in itertools.product(range(4), TRICKY):
        parts = ["discord", "G1", "C1", "T1"]
        parts[position] = value
        found.append(ThreadKey(*parts))
    for a, b in itertools.product(TRICKY, repeat=2):
        found.append(ThreadKey("teams", a, b, a + b))
    return found


def test_any_thread_key_round_trips() -> None:
    for thread in tricky_keys():
        assert ThreadKey.parse(str(thread)) == thread, thread


def test_the_string_form_has_exactly_three_separators_and_no_brace() -> None:
    for thread in tricky_keys():
        text = str(thread)
        assert text.count(":") == 3 and "{" not in text and "}" not in text, text


def test_ids_round_trip_alone_and_joined() -> None:
    for value in TRICKY + PLAIN:
        assert unescape_id(escape_id(value)) == value
    for parts in itertools.product(TRICKY, repeat=3):
        assert split_ids(join_ids(*parts), 3) == parts


def test_plain_ids_keep_their_form() -> None:
    """The form keys had before escaping, spelled out: stored data must still be found."""
    for platform, tenant, channel, thread in itertools.product(PLAIN, repeat=4):
        key = ThreadKey(platform, tenant, channel, thread)
        assert str(key) == f"{platform}:{tenant}:{channel}:{thread}"
        assert key.scope == f"{platform}:{tenant}:{channel}"
        assert channel_scope(platform, tenant, channel) == key.scope


def test_a_form_written_before_escaping_still_parses() -> None:
    """Before escaping, the thread id took whatever followed the third ":"."""
    assert ThreadKey.parse("slack:T1:C1:a:b") == ThreadKey("slack", "T1", "C1", "a:b")


def test_post_ids_are_unchanged_for_plain_ids_and_distinct_for_tricky_ones() -> None:
    plain = UserPost(ThreadKey("slack", "T1", "C1", "1.2"), "1.3", "U1", "hi", 0.0)
    # The name UUIDv5 hashed before escaping: providers dedupe replays by it.
    assert plain.message_uuid == str(uuid.uuid5(NAMESPACE, "slack:T1:C1:1.3"))
    a = UserPost(ThreadKey("teams", "a:b", "c", "t"), "m", "U1", "hi", 0.0)
    b = UserPost(ThreadKey("teams", "a", "b:c", "t"), "m", "U1", "hi", 0.0)
    assert a.message_uuid != b.message_uuid and a.author_ref != b.author_ref


def test_a_post_with_tricky_ids_survives_json() -> None:
    for thread in tricky_keys():
        post = UserPost(thread, "19:m;x", "29:user", "hi", 1.5)
        assert UserPost.from_json(post.to_json()) == post


def hash_tag(key: str) -> str | None:
    """The part of `key` Redis Cluster hashes (its hash tag), per the Cluster specification."""
    start = key.find("{")
    end = key.find("}", start + 1) if start >= 0 else -1
    if start < 0 or end <= start + 1:
        return None
    return key[start + 1 : end]


def test_every_key_of_a_thread_keeps_the_thread_as_its_hash_tag() -> None:
    names = Keys("tb:")
    for thread in tricky_keys():
        message_ids = ["{m}", "a:b", "%", "1.2"]
        for key in names.thread_keys(thread, message_ids):
            assert hash_tag(key) == str(thread), key
        assert len({key_slot(k.encode()) for k in names.thread_keys(thread, message_ids)}) == 1
        assert hash_tag(names.budget(thread.scope)) == thread.scope
        rate = names.user_rate(thread.platform, thread.tenant, "{u}")
        assert hash_tag(rate) == join_ids(thread.platform, thread.tenant, "{u}")


def test_a_scope_with_braces_keeps_its_whole_hash_tag() -> None:
    """A messenger's route template (`POST /channels/{channel_id}/messages`) as a budget scope
    must not close the hash tag early: every channel would share one slot."""
    names = Keys("tb:")
    scope = "discord:POST /channels/{channel_id}/messages:42"
    tag = hash_tag(names.budget(scope))
    assert tag is not None and tag.endswith(":42")
    slots = {key_slot(names.budget(scope.replace("42", str(n))).encode()) for n in range(50)}
    assert len(slots) > 1


def test_plain_keys_keep_their_names() -> None:
    """Names spelled as they were before ids were escaped: existing data keeps working."""
    names = Keys("tb:")
    thread = ThreadKey("slack", "T1", "C1", "1.2")
    assert names.reply(thread, "1.3") == "tb:{slack:T1:C1:1.2}:reply:1.3"
    assert names.thread(thread, keys.ACTIVE) == "tb:{slack:T1:C1:1.2}:active"
    assert names.reply_index("slack", "T1", "C1", "9.9") == "tb:replymsg:slack:T1:C1:9.9"
    assert names.last_thread(thread.scope, "U1") == "tb:lastthread:slack:T1:C1:U1"
    assert names.channel(thread.scope) == "tb:channel:slack:T1:C1"
    assert names.budget("slack:T1:chat.update") == "tb:budget:{slack:T1:chat.update}"
    assert names.user_rate("slack", "T1", "U1") == "tb:rate:{slack:T1:U1}"
    assert names.inbox_seen(3, thread, "1.3") == "tb:{inbox:3}:seen:slack:T1:C1:1.2:1.3"
    assert names.plugin("slack", "T1", "installation") == "tb:plugin:slack:T1:installation"
    assert names.plugin("discord", "77", "commands") == "tb:plugin:discord:77:commands"


async def fill(store: Store, thread: ThreadKey, message_id: str, user: str) -> None:
    """Write what a thread's first reply writes (tricky ids included)."""
    await store.mark_thread(thread)
    await store.bind(Conversation("openai", "conv:1", thread))
    await store.save_record(thread, message_id, messages=["{bot}:1"], status="done")
    await store.claim_notice(thread, message_id)
    await store.index_replies(thread, ["{bot}:1"])
    await store.add_participant(thread, user)
    await store.set_last_thread(thread.scope, user, thread)
    await store.set_channel_setting(thread.scope, "busy_policy", "merge")


async def keys_under(redis: Redis, prefix: str) -> set[str]:
    return {k.decode() async for k in redis.scan_iter(match=f"{prefix}*", count=500)}


async def test_tricky_ids_read_back_from_redis(store: Store) -> None:
    thread = ThreadKey("teams", "tenant:{1}", "19:c;x@thread.tacv2", "19:c;messageid=5")
    await fill(store, thread, "5:{x}", "29:u%1")
    assert await store.last_thread(thread.scope, "29:u%1") == thread
    assert await store.reply_thread("teams", thread.tenant, thread.channel, "{bot}:1") == thread
    assert await store.channel_settings(thread.scope) == {"busy_policy": "merge"}
    record = await store.record(thread, "5:{x}")
    assert record is not None and record.messages == ["{bot}:1"]


async def test_forgetting_a_thread_with_tricky_ids_leaves_nothing(
    store: Store, redis: Redis, prefix: str
) -> None:
    thread = ThreadKey("teams", "t:1", "19:c}{", "19:c;messageid=5")
    await fill(store, thread, "5:{x}", "29:u%1")
    await store.forget_thread(thread)
    left = await keys_under(redis, prefix)
    assert left == {store.keys.channel(thread.scope)}, left


async def test_forgetting_a_tenant_spares_one_whose_id_extends_it(
    store: Store, redis: Redis, prefix: str
) -> None:
    """Tenant "a" and tenant "a:b": unescaped, "a:b"'s keys looked like "a"'s in channel "b"."""
    mine, neighbour = ThreadKey("teams", "a", "c", "t"), ThreadKey("teams", "a:b", "c", "t")
    await fill(store, mine, "m", "u")
    await fill(store, neighbour, "m", "u")
    theirs = await keys_under(redis, prefix) - {
        k for k in await keys_under(redis, prefix) if "teams:a:" in k
    }
    assert theirs, "the neighbour's keys are named apart"
    assert await store.forget_tenant("teams", "a") > 0
    assert await keys_under(redis, prefix) == theirs
