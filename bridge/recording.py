"""The adapter's surface as the reply driver hands it to the renderer: fenced and recorded.

Every write is checked against the lease fence, once before it starts and again as each of its
messenger requests is sent (`bridge.fencing`). A write that posted a message or opened or closed
a native stream is saved to the reply record and the reply index before it returns, so the
renderer's next write cannot happen before a takeover would find the same messages.
"""

from __future__ import annotations

from bridge.contracts import Route, Surface, ThreadKey
from bridge.fencing import Fence, fenced
from bridge.store import Store

_State = tuple[tuple[str, ...], frozenset[str]]


class RecordedSurface:
    """A `Surface` that writes only while `fence` passes and keeps the reply record current."""

    def __init__(
        self,
        surface: Surface,
        store: Store,
        thread: ThreadKey,
        message_id: str,
        fence: Fence | None = None,
    ) -> None:
        self._surface = surface
        self._store = store
        self._thread = thread
        self._message_id = message_id
        self._fence = fence
        self._saved = self._state()

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

    async def start(self) -> None:
        """Show that a reply is coming, if this process still holds the thread."""
        self._check()
        await self._surface.start()

    async def write(self, index: int, text: str, *, final: bool, route: Route) -> None:
        """Write through the fence; then save the messages if the write changed them."""
        self._check()
        await self._save_changes()
        with fenced(self._fence):
            await self._surface.write(index, text, final=final, route=route)
        await self._save_changes()

    async def close(self) -> None:
        await self._surface.close()

    def _check(self) -> None:
        if self._fence is not None:
            self._fence()

    def _state(self) -> _State:
        return tuple(self.messages), frozenset(self.streaming)

    async def _save_changes(self) -> None:
        """Save the record and index the newest message, unless they already hold this state.

        Also run before a write, so a save that failed is made before anything else is sent.
        """
        state = self._state()
        if state == self._saved:
            return
        ids = list(self.messages)
        streaming = [i for i in ids if i in self.streaming]
        await self._store.save_record(
            self._thread, self._message_id, messages=ids, streaming=streaming
        )
        await self._store.index_replies(self._thread, ids[-1:])
        self._saved = state
