"""Shows one reply as it grows: coalesces deltas, paces edits, splits pages, finalizes.

Deltas only append to a buffer; a single flush task per reply turns the latest text into
edits at the pace the surface's scope allows. The final text is written from a fresh split,
so whatever was shown on the way, the messages end up equal to the provider's full text.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass

from bridge.contracts import (
    INVALID,
    RETRY,
    TOO_LONG,
    Fenced,
    Grant,
    Priority,
    Route,
    Surface,
    WriteRejected,
    writing,
)
from bridge.contracts.backoff import backoff, exponential, jitter
from bridge.contracts.feedback import Rated
from bridge.contracts.toolkit.split import Pages, close_for_display, split
from bridge.contracts.toolkit.waits import capped_wait
from bridge.pacing import EditBudget, retry_in

log = logging.getLogger(__name__)

FINAL_ATTEMPTS = 5
FINAL_STEPS = 2
"""Writes that may settle one final page: its text, then closing what stays open."""
STOP_RETRY = 0.5
MIN_PAGE = 256
"""The smallest page a refused-as-too-long reply is re-split into before giving up."""
INTERIM_BACKOFF_CAP = 30.0


@dataclass(slots=True)
class RenderStats:
    writes: int = 0
    first_text_at: float | None = None
    final_at: float | None = None
    sent_at: float | None = None
    first_token_at: float | None = None
    done_at: float | None = None


class Renderer:
    """Owns pacing and splitting for one reply; the surface owns the API calls."""

    def __init__(
        self,
        surface: Surface,
        budget: EditBudget,
        shown: list[str | None] | None = None,
        opening: asyncio.Task[None] | None = None,
    ) -> None:
        """`opening`: the surface's `start` still running (a thread being created); nothing is
        written before it is done, and its error is raised by `finish`."""
        self.surface = surface
        self._opening = opening
        self._budget = budget
        self._limit = surface.limit
        self._pages = Pages(self._limit)
        self._interim_off = False
        self._interim_failures = 0
        self._retry_at = 0.0
        self._parts: list[str] = []
        self._status = ""
        self._status_written = False
        self._shown: list[str | None] = list(shown or [])
        self._dirty = asyncio.Event()
        self._lock = asyncio.Lock()
        self._last_write = 0.0
        self._task: asyncio.Task[None] | None = None
        self._waiter = uuid.uuid4().hex
        self.stats = RenderStats()

    @property
    def text(self) -> str:
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    def start(self) -> None:
        self._task = asyncio.create_task(self._flush_loop(), name="render-flush")

    def append(self, delta: str) -> None:
        if delta:
            self._parts.append(delta)
            self._dirty.set()

    def status(self, text: str) -> None:
        """Show `text` after the reply's text until it is cleared (with ""): a state such as
        "Thinking…", never part of the final text. It is written where the message can be
        rewritten (not appended to a native stream), so the answer can replace it."""
        if text != self._status:
            self._status = text
            self._dirty.set()

    async def finish(self, text: str, *, rate: bool = False) -> None:
        """Write `text` as the reply's final form, with priority over interim edits; with
        `rate`, its last message carries the surface's feedback controls (if it has any)."""
        async with self._lock:
            await self._stop_flushing()
            await self._opened()
            while True:
                try:
                    if rate and isinstance(self.surface, Rated):
                        self.surface.rate(len(split(text, self._limit)) - 1)
                    await self._write_pages(text)
                    break
                except WriteRejected as exc:
                    if exc.kind != TOO_LONG:
                        raise
                    self._shrink(exc)
            self.stats.final_at = time.monotonic()

    async def _write_pages(self, text: str) -> None:
        """Each page's final write; a page shown in full on a route that leaves it open (a
        stream's last piece appended while its stop had to wait) gets one more to settle it."""
        for index, page in enumerate(split(text, self._limit)):
            for _ in range(FINAL_STEPS):
                if self._settled(index, page):
                    break
                await self._write_final(index, page)

    def _shrink(self, exc: WriteRejected) -> None:
        """The messenger refused a page as too long: use pages half the size from now on."""
        if self._limit <= MIN_PAGE:
            raise WriteRejected(INVALID, f"{exc.code} even at {self._limit} characters") from exc
        self._limit = max(MIN_PAGE, self._limit // 2)
        self._pages = Pages(self._limit)
        log.warning("the messenger refused a page as too long; re-splitting at %d", self._limit)

    def _settled(self, index: int, page: str) -> bool:
        """Message `index` already shows `page` for good (no stream or control left open)."""
        if index >= len(self._shown) or self._shown[index] != page:
            return False
        return not self.surface.needs_final(index)

    def _priority(self, index: int, final: bool) -> Priority:
        """A reply's first text goes first, also when it replaces a status already shown."""
        if index == 0 and not self.surface.messages:
            return Priority.FIRST
        if index == 0 and self._status_written and self.stats.first_text_at is None:
            return Priority.FIRST
        return Priority.FINAL if final else Priority.INTERIM

    async def _try_route(
        self, routes: tuple[Route, ...], priority: Priority, grant: Grant, *, ending: bool = True
    ) -> tuple[Route | None, float]:
        """The first route with a permit free now (taken into `grant`), or None and the least
        wait. The permits name the reply, so a long window keeps a final's slot for it until it
        ends; a page finished mid-stream (`ending=False`) neither opens nor ends it."""
        wait = float("inf")
        for route in routes:
            needed = await self._budget.take(
                route.allowances,
                priority=priority,
                waiter=self._waiter,
                grant=grant,
                reply=self._waiter if ending or priority != Priority.FINAL else "",
            )
            if needed <= 0:
                return route, 0.0
            wait = min(wait, needed)
        return None, wait

    async def aclose(self) -> None:
        """Stop interim edits without writing anything more (the reply is handed over)."""
        async with self._lock:
            await self._stop_flushing()

    async def _stop_flushing(self) -> None:
        """Cancel the flush task, again if a cancellation was swallowed by a library.

        A task the surface's fence ended is expected (the turn meets the same fence at its
        next write); its exception is retrieved here so asyncio does not report it as lost."""
        task, self._task = self._task, None
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=STOP_RETRY)
        if task is not None and not task.cancelled():
            error = task.exception()
            if error is not None and not isinstance(error, Fenced):
                log.error("interim edits stopped by an error", exc_info=error)

    async def _opened(self) -> None:
        """Wait until the surface is open; raise the error it failed with."""
        opening = self._opening
        if opening is not None:
            await asyncio.wait({opening})
            opening.result()

    async def _flush_loop(self) -> None:
        try:
            await self._opened()
        except Exception:
            return  # the turn ends with the same error
        while True:
            await self._dirty.wait()
            delay = self._retry_at - time.monotonic()
            if self._last_write:
                delay = max(delay, self._last_write + self.surface.min_interval - time.monotonic())
            if delay > 0:
                await asyncio.sleep(delay)
            self._dirty.clear()
            async with self._lock:
                wait = await self._flush()
            if wait > 0:
                self._dirty.set()
                await asyncio.sleep(self._retry_in(wait))

    def _retry_in(self, wait: float) -> float:
        """A refused first text asks again as soon as the scope said it may; an interim edit
        is not urgent: at least half the per-message interval, or it only loads Redis."""
        if self.stats.first_text_at is None:
            return retry_in(wait)
        return jitter(max(wait, self.surface.min_interval / 2))

    async def _flush(self) -> float:
        """Write what changed; return 0, or how long to wait when a scope refused a permit."""
        if self._interim_off:
            return 0.0
        pages = self._pages.update(self.text)
        last = len(pages) - 1
        status_routes = self._status_routes(last, pages[last])
        if status_routes:
            pages[last] += self._status
        for index, page in enumerate(pages):
            if not page or self._settled(index, page):
                continue
            frozen = index < last
            display = close_for_display(page)
            if not frozen and index < len(self._shown) and self._shown[index] in (page, display):
                continue
            showing = index == last and bool(status_routes)
            routes = status_routes if showing else self.surface.routes(index, page, final=frozen)
            priority = self._priority(index, frozen)
            grant = Grant()
            route, wait = await self._try_route(routes, priority, grant, ending=not frozen)
            if route is None:
                return wait
            shown = page if frozen or route.appends else display
            try:
                await self._write(
                    index,
                    shown,
                    final=frozen,
                    route=route,
                    priority=priority,
                    grant=grant,
                    status=showing,
                )
            except Fenced:
                raise
            except Exception as exc:
                self._interim_failed(exc)
                return 0.0
        self._interim_failures = 0
        return 0.0

    def _status_routes(self, index: int, page: str) -> tuple[Route, ...]:
        """The routes that can show the status after `page` and later take it back: none that
        append (a native stream could not drop it), and none when there is no status."""
        if not self._status:
            return ()
        routes = self.surface.routes(index, page + self._status, final=False)
        return tuple(route for route in routes if not route.appends)

    def _interim_failed(self, exc: Exception) -> None:
        """Decide from the refusal's kind: smaller pages, a later try (backing off), or none."""
        kind = exc.kind if isinstance(exc, WriteRejected) else RETRY
        if kind == TOO_LONG and self._limit > MIN_PAGE:
            assert isinstance(exc, WriteRejected)
            self._shrink(exc)
        elif kind == RETRY:
            self._interim_failures += 1
            asked = exc.retry_after if isinstance(exc, WriteRejected) else None
            wait = backoff(self._interim_failures, base=0.5, cap=INTERIM_BACKOFF_CAP)
            self._retry_at = time.monotonic() + max(capped_wait(asked, 0.0), wait)
            log.warning("interim edit failed, the next one will carry the text: %s", exc)
        else:
            log.warning("interim edits stopped, the messenger refused one: %s", exc)
            self._interim_off = True
            return
        self._dirty.set()

    async def _write_final(self, index: int, page: str) -> None:
        for attempt in range(1, FINAL_ATTEMPTS + 1):
            routes = self.surface.routes(index, page, final=True)
            priority = self._priority(index, True)
            grant = Grant()
            route, wait = await self._try_route(routes, priority, grant)
            while route is None:
                await asyncio.sleep(retry_in(wait))
                route, wait = await self._try_route(routes, priority, grant)
            try:
                await self._write(
                    index, page, final=True, route=route, priority=priority, grant=grant
                )
                return
            except Fenced:
                raise
            except WriteRejected as exc:
                if exc.kind != RETRY or attempt == FINAL_ATTEMPTS:
                    raise
                error: Exception = exc
                wait = capped_wait(exc.retry_after, exponential(attempt, base=0.5, cap=8.0))
            except Exception as exc:
                if attempt == FINAL_ATTEMPTS:
                    raise
                error, wait = exc, exponential(attempt, base=0.5, cap=8.0)
            log.warning("final edit failed (attempt %d), retry in %.1fs: %s", attempt, wait, error)
            await asyncio.sleep(wait)

    async def _write(
        self,
        index: int,
        page: str,
        *,
        final: bool,
        route: Route,
        priority: Priority,
        grant: Grant,
        status: bool = False,
    ) -> None:
        """`status`: the page ends in the status, so it is not yet the reply's first text.
        The write's requests carry the priority its permits were taken with, and its permits
        (`grant`) count until the write is over (`writing`)."""
        async with writing(priority, grant):
            await self.surface.write(index, page, final=final, route=route)
        now = time.monotonic()
        self._last_write = now
        self.stats.writes += 1
        self._status_written |= status
        if self.stats.first_text_at is None and not status:
            self.stats.first_text_at = now
        while len(self._shown) <= index:
            self._shown.append(None)
        self._shown[index] = page
