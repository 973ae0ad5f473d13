"""Unit tests of the dispatcher's and the lease's own logic: order, merge, fencing."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from bridge.contracts import Attachment, ThreadKey, UserPost
from bridge.dispatch import ThreadQueue, merge_posts
from bridge.inbox import Entry
from bridge.lease import Lease, LeaseLost
from bridge.store import Store

THREAD = ThreadKey("slack", "T1", "C1", "100.1")


def post(message_id: str, text: str, files: tuple[str, ...] = ()) -> UserPost:
    return UserPost(THREAD, message_id, "U1", text, 1.0, attachments=files)


def entry(seq: int, entry_id: str | None = None) -> Entry:
    p = post(str(seq), f"post {seq}")
    return Entry(0, entry_id or f"{seq}-0", seq, THREAD, p)


def test_queue_yields_lowest_sequence_first_whatever_the_arrival_order() -> None:
    queue = ThreadQueue()
    for seq in (3, 1, 2):
        queue.push(entry(seq))
    assert [queue.pop().seq for _ in range(3)] == [1, 2, 3]
    assert len(queue) == 0


def test_queue_ignores_an_entry_it_already_holds() -> None:
    """A claimed entry read again (XAUTOCLAIM after XREADGROUP) is answered once."""
    queue = ThreadQueue()
    queue.push(entry(1))
    queue.push(entry(1))
    assert len(queue) == 1
    assert queue.peek().seq == 1


def test_queue_clear_returns_what_was_not_started() -> None:
    queue = ThreadQueue()
    for seq in (2, 1):
        queue.push(entry(seq))
    left = queue.clear()
    assert sorted(e.seq for e in left) == [1, 2]
    assert len(queue) == 0
    queue.push(entry(1))
    assert len(queue) == 1


def test_merge_joins_texts_and_files_under_the_first_posts_identity() -> None:
    merged = merge_posts([post("1", "first", ("a.png",)), post("2", "second", ("b.pdf",))])
    assert merged.message_id == "1"
    assert merged.text == "first\n\nsecond"
    assert merged.attachments == ("a.png", "b.pdf")


def test_merged_post_has_its_own_provider_message_id() -> None:
    """The first post may have been sent alone before (a failed attempt): an idempotent
    provider must not answer the merged message with that earlier reply."""
    image = Attachment("b.png", "https://files/b.png", "image/png", "data:image/png;base64,AA")
    second = replace(post("2", "second"), files=(image,))
    merged = merge_posts([post("1", "first"), second])
    assert merged.message_uuid != post("1", "first").message_uuid
    assert merged.message_uuid == merge_posts([post("1", "first"), second]).message_uuid
    assert merged.message_uuid != merge_posts([post("1", "a"), second, post("3", "c")]).message_uuid
    assert merged.files == (image,)


def test_merge_of_one_post_is_that_post() -> None:
    only = post("1", "only")
    assert merge_posts([only]) is only


async def test_one_lease_holder_at_a_time_and_release_frees_it(store: Store) -> None:
    first, second = Lease(store, THREAD, 5.0), Lease(store, THREAD, 5.0)
    assert await first.try_acquire()
    try:
        assert not await second.try_acquire()
        first.check()
    finally:
        await first.release()
    with pytest.raises(LeaseLost):
        first.check()
    assert await second.try_acquire()
    await second.release()


async def test_a_lease_taken_by_another_token_is_noticed_on_renewal(store: Store) -> None:
    """The holder stops writing once its lease is gone, at the latest on the next renewal."""
    lease = Lease(store, THREAD, 1.5)
    assert await lease.try_acquire()
    try:
        await store.redis.set(store.thread_key(THREAD, "lease"), "someone-else")
        for _ in range(50):
            if not lease.valid:
                break
            await asyncio.sleep(0.1)
        with pytest.raises(LeaseLost):
            lease.check()
    finally:
        await lease.release()
    assert await store.redis.get(store.thread_key(THREAD, "lease")) == b"someone-else"


async def test_done_counter_moves_only_for_the_lease_holder(store: Store) -> None:
    lease = Lease(store, THREAD, 5.0)
    assert await lease.try_acquire()
    try:
        assert not await store.mark_done(THREAD, 1, "not-the-holder")
        assert await store.done_seq(THREAD) == 0
        assert await store.mark_done(THREAD, 2, lease.token)
        assert await store.mark_done(THREAD, 1, lease.token)
        assert await store.done_seq(THREAD) == 2
    finally:
        await lease.release()
