"""Unit tests of the inbox's accept script against real Redis: dedupe and per-thread order.

The end-to-end retry test (a Slack event delivered three times) would also pass on the reply
record alone; these pin the inbox's own part: a post seen before never becomes a second entry.
"""

from __future__ import annotations

from redis.asyncio import Redis

from bridge.contracts import ThreadKey, UserPost
from bridge.inbox import GROUP, Inbox
from bridge.keys import Keys

THREAD = ThreadKey("slack", "T1", "C1", "100.1")
OTHER = ThreadKey("slack", "T1", "C1", "200.1")


def post(message_id: str, thread: ThreadKey = THREAD) -> UserPost:
    return UserPost(thread, message_id, "U1", f"post {message_id}", 1.0)


async def entries(redis: Redis, inbox: Inbox) -> int:
    return sum([await redis.xlen(inbox.stream(shard)) for shard in range(inbox.shards)])


async def test_a_post_seen_before_is_not_accepted_again(redis: Redis, prefix: str) -> None:
    inbox = Inbox(redis, Keys(prefix), shards=2)
    await inbox.ensure_groups()
    assert await inbox.accept(post("1")) == 1
    assert await inbox.accept(post("1")) == 0
    assert await inbox.accept(post("1")) == 0
    assert await entries(redis, inbox) == 1
    assert await inbox.accepted(THREAD) == 1


async def test_each_thread_counts_its_own_posts(redis: Redis, prefix: str) -> None:
    inbox = Inbox(redis, Keys(prefix), shards=2)
    await inbox.ensure_groups()
    assert [await inbox.accept(post(m)) for m in ("1", "2", "3")] == [1, 2, 3]
    assert await inbox.accept(post("9", OTHER)) == 1
    assert await inbox.accepted(THREAD) == 3
    assert await inbox.accepted(OTHER) == 1


async def test_a_forgotten_post_is_accepted_as_a_new_one(redis: Redis, prefix: str) -> None:
    """A dead-letter replay: the same post again, behind what came after it."""
    inbox = Inbox(redis, Keys(prefix), shards=1)
    await inbox.ensure_groups()
    assert await inbox.accept(post("1")) == 1
    assert await inbox.accept(post("2")) == 2
    await inbox.forget_seen(post("1"))
    assert await inbox.accept(post("1")) == 3
    read = await inbox.read(0, "c1", count=10, block_ms=10)
    assert [(e.seq, e.post.message_id if e.post else None) for e in read] == [
        (1, "1"),
        (2, "2"),
        (3, "1"),
    ]
    assert all(e.thread == THREAD for e in read)
    assert (await redis.xpending(inbox.stream(0), GROUP))["pending"] == 3
