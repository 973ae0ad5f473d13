"""An AI-app thread's status line and title, written beside a reply and never in its way.

`start` fires both without waiting (the provider is asked meanwhile): the status ("is
thinking…" in the person's language; Slack puts the app's name before it) on setStatus' own
per-channel budget, the title (the thread's first post) on setTitle's.
When the first text is about to go out, a status still waiting for its permit is dropped; one
already sent is cleared right after that text (Slack clears it on a reply too, but a status
that reached Slack after the reply would otherwise stay up to two minutes). `close` clears a
status no text followed (a reply that failed early). The calls run as tasks of the adapter's
`owner` set (cancelled when it stops), so a slow answer never holds up the reply's end.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.limits import OWN_SCOPE, SET_STATUS, SET_TITLE, SlackLimits
from bridge.contracts import Allowance, Permits
from bridge.contracts.fencing import fenced
from bridge.contracts.toolkit.waits import capped_wait

log = logging.getLogger(__name__)

TITLE_CHARS = 80


def title_of(text: str) -> str:
    """A thread title from its first post: the first line, spaces collapsed, short."""
    line = next((part for part in text.splitlines() if part.strip()), "")
    line = " ".join(line.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


class ThreadStatus:
    """The status and title calls of one reply in one assistant thread."""

    def __init__(
        self,
        client: AsyncWebClient,
        team: str,
        channel: str,
        thread_ts: str,
        limits: SlackLimits,
        budget: Permits,
        status: str,
        title: str,
        owner: set[asyncio.Task[None]],
    ) -> None:
        """`title`: empty unless this reply answers the thread's first post."""
        self._client = client
        self._where = {"channel_id": channel, "thread_ts": thread_ts}
        self._status_scope = limits.status(team, channel)
        self._title_scope = limits.method(team, SET_TITLE)
        self._budget = budget
        self._status = status
        self._title = title
        self._shown = False
        """A setStatus call has gone out (it may show until cleared)."""
        self._texted = False
        self._showing: asyncio.Task[None] | None = None
        self._tasks = owner

    def start(self) -> None:
        self._showing = self._spawn(self._show())
        if self._title:
            self._spawn(self._set_title())

    def before_text(self) -> None:
        """The first text goes out now: a status not sent yet never will be."""
        if self._texted:
            return
        self._texted = True
        if self._showing is not None and not self._shown:
            self._showing.cancel()

    def after_text(self) -> None:
        """The first text is out: clear a status that was sent, once its call is done."""
        if self._shown and self._showing is not None:
            showing, self._showing = self._showing, None
            self._spawn(self._clear_after(showing))

    async def close(self) -> None:
        """Clear a status no text followed (once its call is done)."""
        if not self._texted:
            self.before_text()
            self.after_text()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _show(self) -> None:
        await self._budget.acquire((self._status_scope,), priority=OWN_SCOPE)
        if self._texted:
            return
        self._shown = True
        await self._call(SET_STATUS, self._status_scope, status=self._status)

    async def _clear_after(self, showing: asyncio.Task[None]) -> None:
        await asyncio.wait({showing})
        await self._budget.acquire((self._status_scope,), priority=OWN_SCOPE)
        await self._call(SET_STATUS, self._status_scope, status="")

    async def _set_title(self) -> None:
        await self._budget.acquire((self._title_scope,), priority=OWN_SCOPE)
        await self._call(SET_TITLE, self._title_scope, title=self._title)

    async def _call(self, method: str, scope: Allowance, **params: str) -> None:
        """One call, never retried: a failure is only logged (the status and title are
        decoration; the reply goes on without them), a 429 pauses the scope. Outside the
        reply's write fence: a clear may follow the reply's end, when its lease is given
        back, and no replica's text is at stake."""
        try:
            with fenced(None):
                await self._client.api_call(method, json={**self._where, **params})
        except SlackApiError as exc:
            log.info("%s failed: %s", method, exc.response.get("error"))
            if exc.response.status_code == 429:
                wait = capped_wait(exc.response.headers.get("Retry-After"))
                await self._budget.pause(scope, wait)
        except Exception as exc:
            log.info("%s failed: %r", method, exc)
