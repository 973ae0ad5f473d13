"""Takes posts out of the inbox and answers them: each thread in its own task, in post order.

Only posts of the same thread wait for each other. Across replicas, the thread's lease and
its finished-post counter decide whose turn it is; an entry is acknowledged only once its
reply is final, so a replica that dies leaves it to be claimed by another.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any

from redis.exceptions import RedisError

from bridge.config import BUSY_POLICIES, BusyPolicy, Settings
from bridge.contracts import MERGED_WITH, ThreadKey, UserPost
from bridge.contracts.backoff import exponential
from bridge.control import Control
from bridge.deadletters import DeadLetters
from bridge.inbox import Entry, Inbox
from bridge.lag import LagGate
from bridge.lease import Lease, LeaseLost
from bridge.metrics import Metrics
from bridge.outage import Outage
from bridge.store import Store
from bridge.turn import Turns

log = logging.getLogger(__name__)

TURN_POLL = 0.25
GAP_HEAL_LEASES = 6
REDIS_RETRY = 1.0
MAX_RETRY_WAIT = 30.0
GATE_POLL = 0.25


class ThreadQueue:
    """A thread's entries not yet answered by this process, lowest sequence first."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, str, Entry]] = []
        self._ids: set[str] = set()

    def push(self, entry: Entry) -> None:
        if entry.id not in self._ids:
            self._ids.add(entry.id)
            heapq.heappush(self._heap, (entry.seq, entry.id, entry))

    def peek(self) -> Entry:
        return self._heap[0][2]

    def pop(self) -> Entry:
        entry = heapq.heappop(self._heap)[2]
        self._ids.discard(entry.id)
        return entry

    def clear(self) -> list[Entry]:
        """Forget the entries not yet started (they stay pending in Redis); return them."""
        entries = [item[2] for item in self._heap]
        self._heap.clear()
        self._ids.clear()
        return entries

    def __len__(self) -> int:
        return len(self._heap)


class Dispatcher:
    """Reads every inbox shard and runs one worker task per busy thread."""

    def __init__(
        self,
        store: Store,
        inbox: Inbox,
        turns: Turns,
        control: Control,
        consumer: str,
        settings: Settings,
        outage: Outage,
        metrics: Metrics | None = None,
        gate: LagGate | None = None,
    ) -> None:
        """`gate`: closed while this process lags too much to take new posts."""
        self._store = store
        self._gate = gate
        self._dead = DeadLetters(store.redis, store.keys, store.thread_ttl)
        self._metrics = metrics or Metrics()
        self._max_attempts = settings.bridge_max_attempts
        self._retry_base = settings.bridge_retry_base_seconds
        self._inbox = inbox
        self._turns = turns
        self._control = control
        self._consumer = consumer
        self._outage = outage
        self._lease_seconds = settings.bridge_lease_seconds
        self._default_policy = settings.bridge_busy_policy
        self._queues: dict[ThreadKey, ThreadQueue] = {}
        self._workers: dict[ThreadKey, asyncio.Task[None]] = {}
        self._running: dict[ThreadKey, tuple[int, asyncio.Event]] = {}
        self._current: dict[ThreadKey, list[Entry]] = {}
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._readers: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for shard in range(self._inbox.shards):
            self._readers.append(asyncio.create_task(self._read_loop(shard), name=f"inbox:{shard}"))
        self._readers.append(asyncio.create_task(self._claim_loop(), name="inbox:claim"))

    @property
    def busy(self) -> int:
        return len(self._workers)

    @property
    def waiting(self) -> int:
        """Posts read from the inbox and not yet being answered, over every thread."""
        return sum(len(queue) for queue in self._queues.values())

    def stop_reply(self, thread: ThreadKey, before: int | None = None) -> bool:
        """Stop the reply this process streams in `thread` (only one for a post before `before`)."""
        running = self._running.get(thread)
        if running is None or (before is not None and running[0] >= before):
            return False
        running[1].set()
        return True

    async def shutdown(self, deadline: float) -> None:
        """Take no new entries; let running replies finish until `deadline`, then hand over.

        Entries not finished are released in Redis so another replica claims them at once.
        """
        for task in [*self._readers, *self._side_tasks]:
            task.cancel()
        await asyncio.gather(*self._readers, *self._side_tasks, return_exceptions=True)
        self._readers.clear()
        leftover = [entry for queue in self._queues.values() for entry in queue.clear()]
        workers = list(self._workers.values())
        if workers:
            await asyncio.wait(workers, timeout=max(0.0, deadline - time.monotonic()))
        leftover += [entry for batch in self._current.values() for entry in batch]
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        try:
            await self._inbox.release(leftover, self._consumer)
        except RedisError as exc:
            log.warning(
                "could not hand over %d posts (they will be claimed later): %s", len(leftover), exc
            )
        if leftover:
            log.info("handed %d unfinished posts over to other replicas", len(leftover))

    def _lagging(self) -> bool:
        return self._gate is not None and not self._gate.is_open(time.monotonic())

    async def _read_loop(self, shard: int) -> None:
        while True:
            if self._lagging():
                await asyncio.sleep(GATE_POLL)
                continue
            try:
                entries = await self._inbox.read(shard, self._consumer, count=100, block_ms=1000)
                self._outage.recovered()
            except RedisError as exc:
                self._outage.failed(exc)
                await asyncio.sleep(1.0)
                continue
            for entry in entries:
                self._route(entry)
                self._spawn(self._apply_policy(entry))

    async def _claim_loop(self) -> None:
        idle_ms = int(self._lease_seconds * 1000)
        while True:
            await asyncio.sleep(self._lease_seconds / 3)
            if self._lagging():
                continue
            for shard in range(self._inbox.shards):
                try:
                    entries = await self._inbox.claim_stale(shard, self._consumer, idle_ms)
                except RedisError as exc:
                    self._outage.failed(exc)
                    break
                for entry in entries:
                    self._route(entry)

    async def _policy(self, thread: ThreadKey) -> BusyPolicy:
        stored = (await self._store.channel_settings(thread.scope)).get("busy_policy")
        return BusyPolicy(stored) if stored in BUSY_POLICIES else self._default_policy

    async def _apply_policy(self, entry: Entry) -> None:
        """Under `interrupt`, a new post stops the reply running for an earlier one."""
        if entry.thread is not None and await self._policy(entry.thread) == BusyPolicy.INTERRUPT:
            await self._control.publish_stop(entry.thread, before=entry.seq)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_done)

    def _side_done(self, task: asyncio.Task[None]) -> None:
        self._side_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("background step failed: %s", task.exception())

    def _route(self, entry: Entry) -> None:
        if entry.thread is None:
            self._spawn(self._inbox.ack(entry))
            return
        queue = self._queues.setdefault(entry.thread, ThreadQueue())
        queue.push(entry)
        if entry.thread not in self._workers:
            self._workers[entry.thread] = asyncio.create_task(
                self._work(entry.thread, queue), name=f"thread:{entry.thread}"
            )

    async def _work(self, thread: ThreadKey, queue: ThreadQueue) -> None:
        waited_since = time.monotonic()
        try:
            while len(queue):
                lease = Lease(self._store, thread, self._lease_seconds)
                try:
                    if await lease.try_acquire():
                        progressed = await self._drain(thread, queue, lease, waited_since)
                        if progressed:
                            waited_since = time.monotonic()
                finally:
                    await lease.release()
                if len(queue):
                    await asyncio.sleep(TURN_POLL)
        except RedisError as exc:
            self._outage.failed(exc)
        finally:
            self._workers.pop(thread, None)
            if not len(queue):
                self._queues.pop(thread, None)
            else:
                self._retry_later(thread, queue)

    def _retry_later(self, thread: ThreadKey, queue: ThreadQueue) -> None:
        """Redis failed mid-way: try the thread again soon (a side task, so shutdown ends it)."""
        if self._readers:
            self._spawn(self._resume(queue))

    async def _resume(self, queue: ThreadQueue) -> None:
        await asyncio.sleep(REDIS_RETRY)
        if len(queue):
            self._route(queue.peek())

    async def _drain(
        self, thread: ThreadKey, queue: ThreadQueue, lease: Lease, waited_since: float
    ) -> bool:
        """Answer queued entries while it is this process's turn; True if any was handled."""
        progressed = False
        while len(queue):
            entry = queue.peek()
            done = await self._store.done_seq(thread)
            if entry.seq <= done:
                await self._inbox.ack(queue.pop())
                progressed = True
                continue
            gap = time.monotonic() - waited_since > GAP_HEAL_LEASES * self._lease_seconds
            if entry.seq > done + 1 and not gap:
                return progressed
            batch = [queue.pop()]
            if len(queue) and await self._policy(thread) == BusyPolicy.MERGE:
                while len(queue) and queue.peek().seq == batch[-1].seq + 1:
                    batch.append(queue.pop())
            await self._answer(batch, lease)
            progressed = True
        return progressed

    async def _answer(self, batch: list[Entry], lease: Lease) -> None:
        """Answer one post (or, under `merge`, several in one reply); ack once it is final.

        Entries a forget or uninstall deleted meanwhile are dropped: checked after the reply
        is registered as running, so a forget either deleted them first or its stop reaches
        the reply."""
        first, last = batch[0], batch[-1]
        assert first.thread is not None
        stop = asyncio.Event()
        self._running[first.thread] = (last.seq, stop)
        self._current[first.thread] = batch
        try:
            live = await self._inbox.present(batch)
            if not live:
                log.info("posts in %s were forgotten before their turn", first.thread)
                return
            post = merge_posts([e.post for e in live if e.post is not None])
            if not await self._attempt(post, stop, lease, live):
                return
        finally:
            self._running.pop(first.thread, None)
            self._current.pop(first.thread, None)
        await self._store.mark_done(first.thread, last.seq, lease.token)
        for entry in batch:
            await self._inbox.ack(entry)

    async def _attempt(
        self, post: UserPost, stop: asyncio.Event, lease: Lease, entries: list[Entry]
    ) -> bool:
        """Answer `post`, retrying errors with capped backoff; True once it may be acked.

        Attempts are counted in Redis per post, so a takeover continues the count; past the
        limit the post goes to the dead-letter stream, unless its entries were deleted by a
        forget or uninstall meanwhile. A Redis error propagates: the entry stays pending and
        the thread is tried again when Redis answers.
        """
        while True:
            try:
                await self._turns.answer(post, stop=stop, lease=lease)
                return True
            except LeaseLost:
                log.warning("lost the lease on %s; another replica takes over", post.thread)
                return False
            except RedisError:
                raise
            except Exception as exc:
                attempts = await self._dead.count_attempt(post)
                reason = f"{type(exc).__name__}: {exc}"
                if attempts >= self._max_attempts:
                    if await self._inbox.present(entries):
                        await self._bury(post, reason, attempts)
                    return True
                wait = exponential(attempts - 1, base=self._retry_base, cap=MAX_RETRY_WAIT)
                log.warning(
                    "answering %s in %s failed (attempt %d of %d), retrying in %.1fs: %s",
                    post.message_id,
                    post.thread,
                    attempts,
                    self._max_attempts,
                    wait,
                    reason,
                )
                await asyncio.sleep(wait)
                if not lease.valid:
                    log.warning("lost the lease on %s while waiting to retry", post.thread)
                    return False

    async def _bury(self, post: UserPost, reason: str, attempts: int) -> None:
        entry_id = await self._dead.add(post, reason, attempts)
        self._metrics.inc("dead_letters_total")
        log.error(
            "post %s in %s could not be answered after %d attempts; dead letter %s: %s",
            post.message_id,
            post.thread,
            attempts,
            entry_id,
            reason,
        )


def merge_posts(posts: list[UserPost]) -> UserPost:
    """Posts that arrived while a reply ran, as one message: the first post's identity (its
    reply record), but its own provider message id, and every post's text and files."""
    if len(posts) == 1:
        return posts[0]
    first = posts[0]
    return replace(
        first,
        text="\n\n".join(p.text for p in posts),
        attachments=tuple(name for p in posts for name in p.attachments),
        files=tuple(f for p in posts for f in p.files),
        extra={**first.extra, MERGED_WITH: ",".join(p.message_id for p in posts[1:])},
    )
