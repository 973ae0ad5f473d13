"""Reply statuses, write-failure kinds and busy policies are enums whose values are the strings
stored in Redis, shown to users and used as metric labels: a record written before reads the
same, and what is written now is byte-for-byte what was written before."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from bridge.config import BusyPolicy, ConfigError, load_settings
from bridge.contracts import GIVE_UP, ThreadKey, WriteFailure, WriteRejected
from bridge.store import ReplyStatus, Store

THREAD = ThreadKey("slack", "T1", "C1", "1.1")


def test_the_stored_values_are_the_strings_they_always_were() -> None:
    assert [s.value for s in ReplyStatus] == [
        "new",
        "streaming",
        "done",
        "failed",
        "stopped",
        "limited",
        "undeliverable",
    ]
    assert [k.value for k in WriteFailure] == ["too_long", "retry", "gone", "invalid"]
    assert [p.value for p in BusyPolicy] == ["queue", "interrupt", "merge"]


def test_a_redelivered_post_is_not_answered_again_once_final() -> None:
    final = {s for s in ReplyStatus if s.final}
    assert final == {"done", "failed", "stopped", "limited", "undeliverable"}


async def test_a_status_is_stored_as_its_string_and_read_back_as_the_enum(
    store: Store, redis: Redis
) -> None:
    await store.save_record(THREAD, "1.2", messages=["9.9"], status=ReplyStatus.LIMITED)
    assert await redis.hget(store.keys.reply(THREAD, "1.2"), "status") == b"limited"
    record = await store.record(THREAD, "1.2")
    assert record is not None and record.status is ReplyStatus.LIMITED


async def test_a_record_written_as_a_plain_string_reads_as_before(
    store: Store, redis: Redis
) -> None:
    await redis.hset(store.keys.reply(THREAD, "1.3"), mapping={"status": "stopped"})
    record = await store.record(THREAD, "1.3")
    assert record is not None and record.status is ReplyStatus.STOPPED and record.status.final
    await redis.hset(store.keys.reply(THREAD, "1.4"), mapping={"messages": "[]"})
    fresh = await store.record(THREAD, "1.4")
    assert fresh is not None and fresh.status is ReplyStatus.NEW and not fresh.status.final


def test_a_write_refusal_logs_as_before_and_knows_when_to_give_up() -> None:
    refused = WriteRejected(WriteFailure.GONE, "channel_not_found")
    assert str(refused) == "gone: channel_not_found" and refused.give_up
    from_text = WriteRejected("retry", "ratelimited", 2.0)  # type: ignore[arg-type]
    assert from_text.kind is WriteFailure.RETRY and not from_text.give_up
    assert {WriteFailure.GONE, WriteFailure.INVALID} == GIVE_UP


def test_the_busy_policy_setting_is_the_enum_and_a_wrong_one_is_named() -> None:
    assert load_settings(bridge_busy_policy="merge").bridge_busy_policy is BusyPolicy.MERGE
    assert load_settings().bridge_busy_policy is BusyPolicy.QUEUE
    with pytest.raises(ConfigError) as info:
        load_settings(bridge_busy_policy="stack")
    assert str(info.value) == (
        "BRIDGE_BUSY_POLICY is invalid: Value error, must be one of queue, interrupt, merge"
    )
