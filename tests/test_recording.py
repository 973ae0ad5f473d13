"""The reply record follows what each write says it changed (`Written`), also when the write
failed after changing something, against the real Redis store."""

from __future__ import annotations

import pytest

from bridge.contracts import Allowance, Changes, EditRate, Route, ThreadKey, Written
from bridge.recording import RecordedSurface
from bridge.store import Store

THREAD = ThreadKey("slack", "T1", "C1", "1.0")
OPEN = Route("open", (Allowance("s", EditRate(per_second=20.0, burst=20.0)),), appends=True)
APPEND = Route("append", OPEN.allowances, appends=True)
END_THEN_EDIT = Route("end-then-edit", OPEN.allowances)


class StreamingSurface:
    """A messenger whose first write opens a native stream; `end-then-edit` ends the stream
    and then has its edit refused, as a stream that expired under a write would."""

    limit = 500
    min_interval = 0.0

    def __init__(self, messages: list[str] | None = None) -> None:
        self.messages: list[str] = list(messages or [])
        self.streaming: set[str] = set()

    def needs_final(self, index: int) -> bool:
        return self.messages[index] in self.streaming

    def routes(self, index: int, text: str, *, final: bool) -> tuple[Route, ...]:
        return (OPEN,)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def write(self, index: int, text: str, *, final: bool, route: Route) -> Written:
        changes = Changes()
        if route is OPEN:
            message = f"s{len(self.messages)}"
            self.messages.append(message)
            self.streaming.add(message)
            changes.posted(message, stream=True)
        elif route is END_THEN_EDIT:
            self.streaming.discard(self.messages[index])
            changes.closed(self.messages[index])
            raise changes.left_on(ConnectionError("edit refused"))
        return changes.written()


async def test_an_opened_stream_is_recorded_as_streaming(store: Store) -> None:
    surface = StreamingSurface()
    recorded = RecordedSurface(surface, store, THREAD, "p1")
    written = await recorded.write(0, "hello", final=False, route=OPEN)
    assert written == Written(posted=("s0",), opened=frozenset({"s0"}))
    record = await store.record(THREAD, "p1")
    assert record is not None and record.messages == ["s0"] and record.streaming == ["s0"]
    assert not await recorded.write(0, "hello there", final=False, route=APPEND)


async def test_a_stream_ended_by_a_failed_write_is_recorded_before_the_next_write(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The error carries the change; the record no longer calls the message a stream before
    anything else is sent."""
    surface = StreamingSurface()
    recorded = RecordedSurface(surface, store, THREAD, "p1")
    await recorded.write(0, "hello", final=False, route=OPEN)
    with pytest.raises(ConnectionError) as failed:
        await recorded.write(0, "hello there", final=True, route=END_THEN_EDIT)
    assert Written.of(failed.value) == Written(closed=frozenset({"s0"}))
    record = await store.record(THREAD, "p1")
    assert record is not None and record.streaming == ["s0"]
    seen: list[list[str]] = []
    write = surface.write

    async def checked(index: int, text: str, *, final: bool, route: Route) -> Written:
        record = await store.record(THREAD, "p1")
        seen.append(record.streaming if record else ["?"])
        return await write(index, text, final=final, route=route)

    monkeypatch.setattr(surface, "write", checked)
    await recorded.write(0, "hello there", final=True, route=APPEND)
    assert seen == [[]]


async def test_restored_messages_are_not_saved_again(store: Store) -> None:
    """A takeover's surface starts from the record: a write that changes nothing saves nothing."""
    surface = StreamingSurface(["s0"])
    surface.streaming.add("s0")
    recorded = RecordedSurface(surface, store, THREAD, "p1")
    assert not await recorded.write(0, "more", final=False, route=APPEND)
    assert await store.record(THREAD, "p1") is None


def test_an_error_without_a_note_wrote_nothing() -> None:
    assert Written.of(ValueError("x")) == Written()
    changes = Changes()
    changes.posted("a", stream=True)
    changes.closed("a")
    assert changes.written() == Written(posted=("a",))
