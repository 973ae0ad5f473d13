"""The adapter's surface as the reply driver hands it to the renderer: fenced and recorded.

Every write is checked against the lease fence, once before it starts and again as each of its
messenger requests is sent (`bridge.contracts.fencing`). A write that posted a message or
opened or closed a native stream (as its `Written` says, or its error's) is saved to the reply
record and the reply index before it returns, or before the next write when it failed, so the
renderer's next write cannot happen before a takeover would find the same messages.

The record is saved only while this process's lease holds (one script checks the token). A
message that could not be recorded so, because the lease was lost while it was being posted, is
taken back: the replica that took the reply over never knew it and posts its own.
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

from bridge.contracts import Retracts, Route, Surface, ThreadKey, Written
from bridge.contracts.feedback import Rated
from bridge.contracts.fencing import Fence, fenced
from bridge.lease import LeaseLost
from bridge.redis_conn import outlast_failover
from bridge.store import Store

log = logging.getLogger(__name__)

_State = tuple[tuple[str, ...], frozenset[str]]
"""The reply's message ids in order, and those open as native streams."""


class RecordedSurface:
    """A `Surface` that writes only while `fence` passes and keeps the reply record current
    (only while `holder`, a lease token, holds the thread's lease, if given)."""

    def __init__(
        self,
        surface: Surface,
        store: Store,
        thread: ThreadKey,
        message_id: str,
        fence: Fence | None = None,
        holder: str | None = None,
    ) -> None:
        self._surface = surface
        self._store = store
        self._thread = thread
        self._message_id = message_id
        self._fence = fence
        self._holder = holder
        self._state: _State = (tuple(surface.messages), frozenset(surface.streaming))
        """What the record is to hold: the restored messages and every write's changes."""
        self._saved = self._state

    @property
    def limit(self) -> int:
        return self._surface.limit

    @property
    def min_interval(self) -> float:
        return self._surface.min_interval

    @property
    def messages(self) -> list[str]:
        return self._surface.messages

    @property
    def streaming(self) -> set[str]:
        return self._surface.streaming

    def needs_final(self, index: int) -> bool:
        return self._surface.needs_final(index)

    def routes(self, index: int, text: str, *, final: bool) -> tuple[Route, ...]:
        return self._surface.routes(index, text, final=final)

    def rate(self, index: int) -> None:
        """Feedback controls on message `index`, where the adapter's surface has them."""
        if isinstance(self._surface, Rated):
            self._surface.rate(index)

    async def start(self) -> None:
        """Show that a reply is coming, if this process still holds the thread."""
        self._check()
        await self._surface.start()

    async def write(self, index: int, text: str, *, final: bool, route: Route) -> Written:
        """Write through the fence; then save the messages if the write changed them."""
        self._check()
        await self._save_changes()
        try:
            with fenced(self._fence):
                written = await self._surface.write(index, text, final=final, route=route)
        except BaseException as exc:
            self._note(Written.of(exc))
            raise
        self._note(written)
        await self._save_changes()
        return written

    async def close(self) -> None:
        await self._surface.close()

    def _check(self) -> None:
        if self._fence is not None:
            self._fence()

    def _note(self, written: Written) -> None:
        if written:
            messages, streaming = self._state
            streaming = (streaming | written.opened) - written.closed
            self._state = (*messages, *written.posted), streaming

    async def _save_changes(self) -> None:
        """Save the record and index the newest message, unless they already hold this state.

        Also run before a write, so a save that failed is made before anything else is sent.
        """
        state = self._state
        if state == self._saved:
            return
        ids = list(state[0])
        streaming = [i for i in ids if i in state[1]]
        holder = self._holder
        try:
            saved = await outlast_failover(
                lambda: self._store.save_record(
                    self._thread, self._message_id, messages=ids, streaming=streaming, holder=holder
                )
            )
        except RedisError:
            await self._retract(state)
            raise
        if not saved:
            await self._retract(state)
            raise LeaseLost(str(self._thread))
        await self._store.index_replies(self._thread, ids[-1:])
        self._saved = state

    async def _retract(self, state: _State) -> None:
        """Delete the messages of `state` no record holds (the write posting them outlived the
        lease): whoever answers this post next cannot know them."""
        unknown = [i for i in state[0] if i not in self._saved[0]]
        if not unknown:
            return
        if not isinstance(self._surface, Retracts):
            log.warning("%d reply messages in %s are not recorded", len(unknown), self._thread)
            return
        for message in unknown:
            try:
                await self._surface.retract(message)
            except Exception as exc:
                log.warning("could not take back message %s in %s: %s", message, self._thread, exc)
        log.info("took back %d unrecorded messages in %s", len(unknown), self._thread)
