"""The durable inbox: accepted posts wait in Redis Streams until their reply is final.

A thread always lands in the same shard, so its posts keep their order; each post gets a
per-thread sequence number so any replica can tell whose turn it is. Dedupe, sequence and
append happen in one script, so a post is either fully accepted or not at all.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bridge.contracts import ThreadKey, UserPost
from bridge.keys import DEDUPE_TTL, THREAD_TTL, Keys, posts_ttl

log = logging.getLogger(__name__)

RELEASED_IDLE_MS = 24 * 3600 * 1000
GROUP = "threadbridge"
PURGE_PAGE = 500

_ACCEPT = """
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) == false then
  return 0
end
local seq = redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], ARGV[3])
redis.call('XADD', KEYS[1], '*', 'post', ARGV[1], 'seq', seq)
return seq
"""


@dataclass(frozen=True, slots=True)
class Entry:
    """One inbox entry as a worker sees it; `post` is None when the entry was malformed."""

    shard: int
    id: str
    seq: int
    thread: ThreadKey | None
    post: UserPost | None


class Inbox:
    def __init__(self, redis: Redis, keys: Keys, shards: int, thread_ttl: int = THREAD_TTL) -> None:
        self._redis = redis
        self._keys = keys
        self.shards = shards
        self._thread_ttl = thread_ttl
        self._accept = redis.register_script(_ACCEPT)

    def shard_of(self, thread: ThreadKey) -> int:
        return zlib.crc32(str(thread).encode()) % self.shards

    def stream(self, shard: int) -> str:
        return self._keys.inbox_stream(shard)

    async def ensure_groups(self) -> None:
        for shard in range(self.shards):
            try:
                await self._redis.xgroup_create(self.stream(shard), GROUP, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    async def accept(self, post: UserPost) -> int:
        """Record `post` durably; return its sequence in the thread, or 0 if already seen.

        The post's id goes into its thread's post index first (another hash slot, so not in
        the script): every key named after the post is then found by forget."""
        index = self._keys.posts(post.thread)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(index, post.message_id)
            pipe.expire(index, posts_ttl(self._thread_ttl))
            await pipe.execute()
        shard = self.shard_of(post.thread)
        keys = [
            self.stream(shard),
            self._keys.inbox_seen(shard, post.thread, post.message_id),
            self._keys.inbox_seq(shard, post.thread),
        ]
        args: list[str | int] = [post.to_json(), DEDUPE_TTL, self._thread_ttl]
        return int(await self._accept(keys=keys, args=args))

    def _seen_key(self, post: UserPost) -> str:
        return self._keys.inbox_seen(self.shard_of(post.thread), post.thread, post.message_id)

    async def forget_seen(self, post: UserPost) -> None:
        """Drop `post`'s dedupe mark, so accepting it again (a dead-letter replay) works."""
        await self._redis.delete(self._seen_key(post))

    async def accepted(self, thread: ThreadKey) -> int:
        """How many posts of `thread` were accepted (its sequence counter)."""
        value = await self._redis.get(self._keys.inbox_seq(self.shard_of(thread), thread))
        return int(value) if value else 0

    async def forget_thread(self, thread: ThreadKey, posts: Iterable[str]) -> int:
        """Delete the thread's entries still waiting, its post counter and dedupe marks."""
        shard = self.shard_of(thread)
        dropped = await self.purge(lambda owner: owner == thread, [shard])
        await self._redis.delete(*self._keys.inbox_thread_keys(shard, thread, posts))
        return dropped

    async def purge(
        self, owned: Callable[[ThreadKey], bool], shards: Iterable[int] | None = None
    ) -> int:
        """Delete the entries not yet answered of the threads `owned` picks (a forgotten
        thread, an uninstalled workspace); returns how many.

        Each is XACKed (gone from the group's pending list, whichever consumer holds it) and
        XDELed, in one transaction per page, by id: other threads' entries, pending or not,
        are untouched. A replica answering a purged entry is stopped by the caller (forget
        publishes a stop after this) and its final XACK/XDEL of the id is a no-op; a replica
        that read one but has not started it drops it (`present`); XAUTOCLAIM skips deleted
        ids. Entries added while this runs are posts made after the forget, and are kept."""
        removed = 0
        for shard in range(self.shards) if shards is None else shards:
            stream, start = self.stream(shard), "-"
            while True:
                items: Any = await self._redis.xrange(stream, min=start, count=PURGE_PAGE)
                ids = [_text(eid) for eid, fields in items or [] if _owned(fields, owned)]
                if ids:
                    async with self._redis.pipeline(transaction=True) as pipe:
                        pipe.xack(stream, GROUP, *ids)
                        pipe.xdel(stream, *ids)
                        _, deleted = await pipe.execute()
                    removed += int(deleted)
                if len(items or []) < PURGE_PAGE:
                    break
                start = "(" + _text(items[-1][0])
        return removed

    async def present(self, entries: list[Entry]) -> list[Entry]:
        """The entries still in their stream: forget and uninstall delete a thread's entries,
        and a worker that read one before must not answer it."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry in entries:
                pipe.xrange(self.stream(entry.shard), min=entry.id, max=entry.id, count=1)
            found = await pipe.execute()
        return [entry for entry, hit in zip(entries, found, strict=True) if hit]

    async def read(self, shard: int, consumer: str, count: int, block_ms: int) -> list[Entry]:
        reply: Any = await self._redis.xreadgroup(
            GROUP, consumer, {self.stream(shard): ">"}, count=count, block=block_ms
        )
        return [
            self._entry(shard, eid, fields) for _, items in reply or [] for eid, fields in items
        ]

    async def claim_stale(self, shard: int, consumer: str, min_idle_ms: int) -> list[Entry]:
        """Take over entries another worker left pending longer than `min_idle_ms`."""
        reply: Any = await self._redis.xautoclaim(
            self.stream(shard), GROUP, consumer, min_idle_time=min_idle_ms, count=100
        )
        items = reply[1] if reply else []
        return [self._entry(shard, eid, fields) for eid, fields in items if fields]

    async def ack(self, entry: Entry) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream(entry.shard), GROUP, entry.id)
            pipe.xdel(self.stream(entry.shard), entry.id)
            await pipe.execute()

    async def release(self, entries: list[Entry], consumer: str) -> None:
        """Hand entries back: mark them long idle so another replica claims them at once."""
        for entry in entries:
            await self._redis.xclaim(
                self.stream(entry.shard),
                GROUP,
                consumer,
                0,
                [entry.id],
                idle=RELEASED_IDLE_MS,
                justid=True,
            )

    async def prune_consumers(self, idle_ms: int, keep: str = "") -> int:
        """Remove consumers idle longer than `idle_ms` with nothing pending (dead processes);
        a consumer that still holds entries is kept so they can be claimed."""
        removed = 0
        for shard in range(self.shards):
            stream = self.stream(shard)
            consumers: Any = await self._redis.xinfo_consumers(stream, GROUP)
            for info in consumers:
                name = _text(info["name"])
                if name == keep or int(info["pending"]) or int(info["idle"]) < idle_ms:
                    continue
                await self._redis.xgroup_delconsumer(stream, GROUP, name)
                removed += 1
        return removed

    async def leave(self, consumer: str) -> None:
        """Remove this process's consumer on a clean stop, unless it still holds entries."""
        for shard in range(self.shards):
            stream = self.stream(shard)
            consumers: Any = await self._redis.xinfo_consumers(stream, GROUP)
            for info in consumers:
                if _text(info["name"]) == consumer and not int(info["pending"]):
                    await self._redis.xgroup_delconsumer(stream, GROUP, consumer)

    async def pending(self) -> int:
        total = 0
        for shard in range(self.shards):
            info = await self._redis.xpending(self.stream(shard), GROUP)
            total += int(info["pending"])
        return total

    async def backlog(self) -> tuple[int, float | None]:
        """Posts accepted but not finished (acked entries are deleted), and the accept time
        (UNIX seconds, from the stream id) of the oldest, or None when there is none."""
        total, oldest = 0, None
        for shard in range(self.shards):
            total += int(await self._redis.xlen(self.stream(shard)))
            first: Any = await self._redis.xrange(self.stream(shard), count=1)
            if first:
                eid = first[0][0]
                ms = int((eid.decode() if isinstance(eid, bytes) else eid).split("-")[0])
                oldest = ms / 1000 if oldest is None else min(oldest, ms / 1000)
        return total, oldest

    def _entry(self, shard: int, eid: bytes | str, fields: dict[bytes, bytes]) -> Entry:
        entry_id = eid.decode() if isinstance(eid, bytes) else eid
        seq = int(fields.get(b"seq", b"0"))
        try:
            post = UserPost.from_json(fields[b"post"])
        except (KeyError, ValueError, TypeError) as exc:
            log.warning("inbox entry %s is malformed and will be skipped: %s", entry_id, exc)
            return Entry(shard, entry_id, seq, None, None)
        return Entry(shard, entry_id, seq, post.thread, post)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _owned(fields: dict[bytes, bytes], owned: Callable[[ThreadKey], bool]) -> bool:
    """The entry's post belongs to a thread `owned` picks (a malformed entry does not)."""
    try:
        post = UserPost.from_json(fields[b"post"])
    except (KeyError, ValueError, TypeError):
        return False
    return owned(post.thread)
