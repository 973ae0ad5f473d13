"""Renderer pacing and finalizing, against a recording surface and the real Redis budget."""

from __future__ import annotations

import asyncio
import gc
import time

import pytest

from bridge.contracts import (
    Allowance,
    EditRate,
    Priority,
    Route,
    ThreadKey,
    Written,
    write_grant,
    write_priority,
)
from bridge.contracts.toolkit.split import open_fence
from bridge.lease import LeaseLost
from bridge.pacing import MIN_RETRY, EditBudget, retry_in
from bridge.recording import RecordedSurface
from bridge.render import Renderer
from bridge.store import Store


class RecordingSurface:
    """Records writes; a stand-in for a messenger, not for any of our own code."""

    def __init__(self, limit: int = 500, rate: EditRate | None = None, scope: str = "s") -> None:
        self.limit = limit
        self.allowances = (Allowance(scope, rate or EditRate(per_second=20.0, burst=20.0)),)
        self.min_interval = 0.2
        self.streaming: set[str] = set()
        self.messages: list[str] = []
        self.texts: list[str] = []
        self.writes: list[tuple[float, int, str, bool]] = []

    async def start(self) -> None:
        self.messages.append("m0")
        self.texts.append("…")

    def needs_final(self, index: int) -> bool:
        return False

    def routes(self, index: int, text: str, *, final: bool) -> tuple[Route, ...]:
        return (Route("write", self.allowances),)

    async def write(self, index: int, text: str, *, final: bool, route: Route) -> Written:
        self.writes.append((time.monotonic(), index, text, final))
        written = Written()
        if index == len(self.messages):
            self.messages.append(f"m{index}")
            self.texts.append(text)
            written = Written(posted=(f"m{index}",))
        self.texts[index] = text
        return written

    async def close(self) -> None:
        pass


async def _stream(renderer: Renderer, text: str, seconds: float, chunk: int = 7) -> None:
    pieces = [text[i : i + chunk] for i in range(0, len(text), chunk)]
    for piece in pieces:
        renderer.append(piece)
        await asyncio.sleep(seconds / len(pieces))


async def test_interim_edits_then_exact_final(store: Store) -> None:
    surface = RecordingSurface()
    renderer = Renderer(surface, EditBudget(store.redis, store.keys))
    await surface.start()
    renderer.start()
    text = "Hello 😀 world, here is some code:\n\n```python\nprint('hi')\n```\n\nDone. " * 3
    await _stream(renderer, text, 1.5)
    await renderer.finish(text)
    interim = [w for w in surface.writes if not w[3]]
    assert len(interim) >= 2
    assert all(open_fence(w[2]) is None for w in surface.writes)
    assert "".join(surface.texts) == text


async def test_long_reply_spills_into_new_messages(store: Store) -> None:
    surface = RecordingSurface(limit=200)
    renderer = Renderer(surface, EditBudget(store.redis, store.keys))
    await surface.start()
    renderer.start()
    text = "".join(f"Line {i} of the answer.\n" for i in range(60))
    await _stream(renderer, text, 0.5, chunk=40)
    await renderer.finish(text)
    assert len(surface.messages) >= 6
    assert all(len(t) <= 200 for t in surface.texts)
    assert "".join(surface.texts) == text


async def test_shared_budget_paces_replies_and_final_has_priority(store: Store) -> None:
    rate = EditRate(per_second=4.0, burst=2.0)
    budget = EditBudget(store.redis, store.keys)
    surfaces = [RecordingSurface(rate=rate, scope="team") for _ in range(3)]
    renderers = [Renderer(s, budget) for s in surfaces]
    for s, r in zip(surfaces, renderers, strict=True):
        await s.start()
        r.start()
    text = "token " * 200
    await asyncio.gather(*(_stream(r, text, 2.0) for r in renderers))
    started = time.monotonic()
    await asyncio.gather(*(r.finish(text) for r in renderers))
    finals_took = time.monotonic() - started
    writes = sorted(w[0] for s in surfaces for w in s.writes)
    span = writes[-1] - writes[0]
    assert len(writes) <= 2 + 4.0 * span + 1
    assert finals_took < 2.0
    assert all("".join(s.texts) == text for s in surfaces)


async def test_a_flush_ended_by_the_lease_fence_is_closed_quietly(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """The fence ends interim edits; closing the renderer takes that ending as expected."""
    writes_allowed = [1]

    def fence() -> None:
        if not writes_allowed[0]:
            raise LeaseLost("test")
        writes_allowed[0] -= 1

    surface = RecordingSurface()
    thread = ThreadKey("slack", "T1", "C1", "1.0")
    fenced = RecordedSurface(surface, store, thread, "p1", fence)
    renderer = Renderer(fenced, EditBudget(store.redis, store.keys))
    renderer.start()
    renderer.append("first")
    for _ in range(100):
        if surface.writes:
            break
        await asyncio.sleep(0.02)
    task = renderer._task
    assert task is not None
    renderer.append(" second")
    await asyncio.wait({task}, timeout=5)
    assert task.done()
    await renderer.aclose()
    del task
    gc.collect()
    assert [w[2] for w in surface.writes] == ["first"]
    assert not [r for r in caplog.records if r.levelname == "ERROR"], "an exception was lost"


async def test_a_write_that_posts_a_message_is_recorded_before_it_returns(store: Store) -> None:
    """A takeover finds every posted message: the record and index hold it after the write."""
    surface = RecordingSurface()
    thread = ThreadKey("slack", "T1", "C1", "1.0")
    recorded = RecordedSurface(surface, store, thread, "p1")
    route = surface.routes(0, "hello", final=False)[0]
    await recorded.write(0, "hello", final=False, route=route)
    record = await store.record(thread, "p1")
    assert record is not None and record.messages == ["m0"]
    assert await store.reply_thread("slack", "T1", "C1", "m0") == thread
    await recorded.write(0, "hello again", final=True, route=route)
    assert surface.texts == ["hello again"]


async def test_a_record_save_that_failed_is_made_before_the_next_write(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next write never leaves before the record holds the messages already posted."""
    surface = RecordingSurface()
    thread = ThreadKey("slack", "T1", "C1", "1.0")
    recorded = RecordedSurface(surface, store, thread, "p1")
    route = surface.routes(0, "hello", final=False)[0]
    save = store.save_record

    async def down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("redis down")

    monkeypatch.setattr(store, "save_record", down)
    with pytest.raises(ConnectionError):
        await recorded.write(0, "hello", final=False, route=route)
    monkeypatch.setattr(store, "save_record", save)
    seen: list[list[str]] = []
    write = surface.write

    async def checked(index: int, text: str, *, final: bool, route: Route) -> Written:
        record = await store.record(thread, "p1")
        seen.append(record.messages if record else [])
        return await write(index, text, final=final, route=route)

    monkeypatch.setattr(surface, "write", checked)
    await recorded.write(0, "hello again", final=True, route=route)
    assert seen == [["m0"]]


class StreamSurface(RecordingSurface):
    """A message that grows by appends and must be closed (a native stream): its final text may
    go with the close, or by an append while the close waits for its own budget."""

    def __init__(self, stop: EditRate) -> None:
        super().__init__()
        self.stop = (Allowance("stops", stop),)
        self.open = True

    def needs_final(self, index: int) -> bool:
        return self.open

    def routes(self, index: int, text: str, *, final: bool) -> tuple[Route, ...]:
        append = Route("append", self.allowances, appends=True)
        if not final:
            return (append,)
        stop = Route("stop", self.stop)
        return (stop, append) if text != self.texts[index] else (stop,)

    async def write(self, index: int, text: str, *, final: bool, route: Route) -> Written:
        written = await super().write(index, text, final=final, route=route)
        if route.name == "stop":
            self.open = False
        return written


async def test_a_streams_last_piece_is_appended_at_once_and_the_close_waits(store: Store) -> None:
    """The close's budget is spent: the whole answer is shown by an append at once, and the
    stream is closed (nothing more to write) when that budget allows."""
    budget = EditBudget(store.redis, store.keys)
    surface = StreamSurface(EditRate(per_second=2.0, burst=1.0))
    assert await budget.take(surface.stop, final=True) == 0
    renderer = Renderer(surface, budget)
    await surface.start()
    asked = time.monotonic()
    await renderer.finish("the whole answer")
    (append, stop) = surface.writes
    assert append[2] == stop[2] == surface.texts[0] == "the whole answer"
    assert append[0] - asked < 0.3 <= stop[0] - asked
    assert not surface.open


class PriorityRecordingSurface(RecordingSurface):
    """No placeholder; records the write priority each write's requests would carry."""

    def __init__(self) -> None:
        super().__init__()
        self.priorities: list[tuple[bool, Priority | None]] = []

    async def start(self) -> None:
        pass

    async def write(self, index: int, text: str, *, final: bool, route: Route) -> Written:
        self.priorities.append((final, write_priority()))
        return await super().write(index, text, final=final, route=route)


async def test_each_write_carries_the_priority_its_permits_were_taken_with(store: Store) -> None:
    """A plugin that holds requests back once more (the arrival window) orders them by it."""
    surface = PriorityRecordingSurface()
    renderer = Renderer(surface, EditBudget(store.redis, store.keys))
    renderer.start()
    text = "A sentence of the answer, streamed in pieces. " * 8
    await _stream(renderer, text[:-40], 1.2)
    await renderer.finish(text)
    assert write_priority() is None
    assert surface.priorities[0] == (False, Priority.FIRST)
    assert (False, Priority.INTERIM) in surface.priorities[1:-1]
    assert surface.priorities[-1] == (True, Priority.FINAL)


class BareSurface(RecordingSurface):
    """Nothing shown before the first text (no placeholder), edits at most every 2 s."""

    def __init__(self, rate: EditRate) -> None:
        super().__init__(rate=rate, scope="busy")
        self.min_interval = 2.0
        self.shown = asyncio.Event()

    async def start(self) -> None:
        pass

    async def write(self, index: int, text: str, *, final: bool, route: Route) -> Written:
        grant = write_grant()
        assert grant is not None
        grant.sent = True  # as a messenger session's trace says of a request it sent
        self.shown.set()
        return await super().write(index, text, final=final, route=route)


async def test_a_refused_first_text_asks_again_when_the_scope_frees_not_an_interval_later(
    store: Store,
) -> None:
    """Two first texts on a scope that grants one per 0.3 s: the second goes when its slot
    frees, not after half the surface's edit interval (1 s), which only interim edits wait."""
    rate = EditRate(per_second=10.0, burst=1.0, window=0.3)
    budget = EditBudget(store.redis, store.keys)
    surfaces = [BareSurface(rate) for _ in range(2)]
    renderers = [Renderer(s, budget) for s in surfaces]
    for renderer in renderers:
        renderer.start()
        renderer.append("The first text.")
    await asyncio.wait_for(asyncio.gather(*(s.shown.wait() for s in surfaces)), 3.0)
    firsts = sorted(s.writes[0][0] for s in surfaces)
    await asyncio.gather(*(r.finish("The first text.") for r in renderers))
    assert len(firsts) == 2 and 0.25 <= firsts[1] - firsts[0] < 0.6, firsts
    assert all(not s.writes[0][3] for s in surfaces)
    assert all(s.texts == ["The first text."] for s in surfaces)


def test_a_refused_write_waits_what_the_scope_said_plus_a_little() -> None:
    waits = [retry_in(0.9) for _ in range(200)]
    assert all(0.9 <= w <= 0.9 + MIN_RETRY for w in waits)
    assert len(set(waits)) > 1
    assert all(MIN_RETRY <= retry_in(0.0) <= 2 * MIN_RETRY for _ in range(50))
