"""Posts the bridge could not answer after its retries: kept, counted, listed and replayed.

One Redis Stream under the deployment's prefix holds each dead letter with the post's JSON,
the reason, the attempts made and the time. Replaying re-accepts the post into the inbox, so
it is answered like a new post (its dedupe mark and attempt count are cleared first).

Forget and uninstall delete their dead letters (`purge`). A forgotten thread's posts leave a
tombstone (a digest of thread and post id, kept for the thread retention), so a dead letter
filed by a replica while the forget ran is refused by `replay` rather than answered again.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bridge.contracts import ThreadKey, UserPost
from bridge.inbox import Inbox
from bridge.keys import DEDUPE_TTL, THREAD_TTL, Keys

PAGE = 500


class ThreadForgotten(Exception):
    """The dead letter's post belongs to a thread that was forgotten: it is not answered."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: str
    post: UserPost
    reason: str
    attempts: int
    at: float


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class DeadLetters:
    """The dead-letter stream and the per-post attempt counters of one deployment."""

    def __init__(self, redis: Redis, keys: Keys, thread_ttl: int = THREAD_TTL) -> None:
        self._redis = redis
        self._keys = keys
        self._thread_ttl = thread_ttl
        self.stream = self._keys.dead_letters()

    def _attempts_key(self, post: UserPost) -> str:
        return self._keys.attempts(post.thread, post.message_id)

    async def count_attempt(self, post: UserPost) -> int:
        """One more failed attempt at `post`; the count survives restarts and takeovers."""
        key = self._attempts_key(post)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, DEDUPE_TTL)
            count, _ = await pipe.execute()
        return int(count)

    async def clear_attempts(self, post: UserPost) -> None:
        await self._redis.delete(self._attempts_key(post))

    async def add(self, post: UserPost, reason: str, attempts: int) -> str:
        fields: dict[Any, Any] = {
            "post": post.to_json(),
            "reason": reason[:500],
            "attempts": attempts,
            "at": f"{time.time():.3f}",
        }
        entry_id = await self._redis.xadd(self.stream, fields)
        return _text(entry_id)

    async def list(self, count: int = 1000) -> list[DeadLetter]:
        items: Any = await self._redis.xrange(self.stream, count=count)
        return [self._letter(eid, fields) for eid, fields in items or []]

    async def get(self, entry_id: str) -> DeadLetter | None:
        items: Any = await self._redis.xrange(self.stream, min=entry_id, max=entry_id)
        return self._letter(*items[0]) if items else None

    async def purge(self, owned: Callable[[ThreadKey], bool]) -> int:
        """Delete the dead letters of the threads `owned` picks; returns how many."""
        removed, start = 0, "-"
        while True:
            items: Any = await self._redis.xrange(self.stream, min=start, count=PAGE)
            letters = [self._letter(eid, fields) for eid, fields in items or []]
            ids = [letter.id for letter in letters if owned(letter.post.thread)]
            if ids:
                removed += int(await self._redis.xdel(self.stream, *ids))
            if len(letters) < PAGE:
                return removed
            start = "(" + letters[-1].id

    async def forget(self, thread: ThreadKey, posts: Iterable[str]) -> int:
        """Delete the thread's dead letters and leave a tombstone for its posts; returns how
        many dead letters were deleted. Tombstones older than the thread retention go."""
        now = time.time()
        digests = {_digest(thread, message_id): now for message_id in posts}
        key = self._keys.forgotten()
        async with self._redis.pipeline(transaction=True) as pipe:
            if digests:
                pipe.zadd(key, digests)
            pipe.zremrangebyscore(key, "-inf", now - self._thread_ttl)
            pipe.expire(key, self._thread_ttl)
            await pipe.execute()
        return await self.purge(lambda owner: owner == thread)

    async def forgotten(self, post: UserPost) -> bool:
        score = await self._redis.zscore(
            self._keys.forgotten(), _digest(post.thread, post.message_id)
        )
        return score is not None

    async def replay(self, letter: DeadLetter, inbox: Inbox) -> int:
        """Put the post back into the inbox (answered as new); remove the dead letter.

        Raises `ThreadForgotten` (and deletes the dead letter) for a forgotten thread's post."""
        if await self.forgotten(letter.post):
            await self._redis.xdel(self.stream, letter.id)
            raise ThreadForgotten(letter.id)
        await self.clear_attempts(letter.post)
        await inbox.forget_seen(letter.post)
        seq = await inbox.accept(letter.post)
        await self._redis.xdel(self.stream, letter.id)
        return seq

    def _letter(self, eid: Any, fields: dict[Any, Any]) -> DeadLetter:
        data = {_text(k): _text(v) for k, v in fields.items()}
        return DeadLetter(
            id=_text(eid),
            post=UserPost.from_json(data["post"]),
            reason=data.get("reason", ""),
            attempts=int(data.get("attempts", "0")),
            at=float(data.get("at", "0")),
        )


def _digest(thread: ThreadKey, message_id: str) -> str:
    """A forgotten post's tombstone: names neither the thread nor the post."""
    return hashlib.sha256(f"{thread}/{message_id}".encode()).hexdigest()[:32]
