"""Slack's AI-app threads (Agents & AI Apps, `assistant_view`): which DM threads are assistant
threads, and the suggested prompts a new one offers.

A person opens the container: `assistant_thread_started` names the thread (DM channel and
`thread_ts`) and the channel being viewed. The thread is remembered in plugin state before Slack
gets its ack, so the posts that follow (`message.im` in that thread, one conversation per
thread) are known as assistant posts: their replies show a status line until the first text and
the first one titles the thread (`adapters.slack.thread_status`). The prompts go out after the
ack: the viewed channel's `/threadbridge config suggested_prompts`, else the DM's, else
SLACK_SUGGESTED_PROMPTS, else the bot's own in the person's language.

bolt's `Assistant` middleware is not used: its default context store reads
`conversations.replies` (1 a minute for apps outside the Marketplace) and rewrites the first
reply on every context change, and its message listener would take every DM thread's posts
away from the ingest that records them before the ack.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.limits import OWN_SCOPE, SET_PROMPTS, SlackLimits
from adapters.slack.people import People
from bridge.contracts import Core, Incoming, channel_scope, join_ids
from bridge.contracts.toolkit.waits import capped_wait

log = logging.getLogger(__name__)

ASSISTANT = "slack_assistant"
"""`UserPost.extra` key of a post in an assistant thread: `FIRST` for the thread's first post
(it titles the thread), `LATER` for the others."""
FIRST = "first"
LATER = "later"
NEW = "new"
"""Plugin state of an assistant thread nobody has posted in yet (then `LATER`)."""
THREAD_TTL = 90 * 24 * 3600
"""How long an assistant thread is remembered after its last post (the core's default
thread retention)."""
MAX_PROMPTS = 4
"""setSuggestedPrompts: "up to four suggested prompts"."""
PROMPTS_SETTING = "suggested_prompts"
NO_PROMPTS = ("none", "-", "off")

Tenant = Callable[[dict[str, Any], dict[str, Any]], Awaitable[str | None]]


def state_name(channel: str, thread_ts: str) -> str:
    return join_ids("assistant", channel, thread_ts)


def parse_prompts(text: str) -> list[dict[str, str]]:
    """ "Title => message | …" as setSuggestedPrompts' `prompts` (a bare text is both)."""
    prompts: list[dict[str, str]] = []
    for part in text.split("|"):
        title, arrow, message = part.partition("=>")
        title, message = title.strip(), message.strip()
        if not arrow:
            message = title
        if title and message:
            prompts.append({"title": title, "message": message})
    return prompts[:MAX_PROMPTS]


async def mark(core: Core, incoming: Incoming, event: dict[str, Any]) -> Incoming:
    """Name a post in an assistant thread as one (its first post `FIRST`); others unchanged."""
    thread_ts = event.get("thread_ts")
    if event.get("channel_type") != "im" or not thread_ts:
        return incoming
    thread = incoming.post.thread
    name = state_name(thread.channel, str(thread_ts))
    known = await core.state.get(thread.tenant, name)
    if known is None:
        return incoming
    first = known == NEW and await core.state.replace(thread.tenant, name, NEW, LATER)
    if not first:
        await core.state.set(thread.tenant, name, LATER, THREAD_TTL)
    post = incoming.post
    extra = {**post.extra, ASSISTANT: FIRST if first else LATER}
    return replace(incoming, post=replace(post, extra=extra))


class AssistantThreads:
    """bolt listeners for the container's events; prompts are sent by tasks it owns."""

    def __init__(
        self,
        core: Core,
        tenant: Tenant,
        people: People,
        limits: SlackLimits,
        prompts: str | None,
        web: Callable[[AsyncWebClient | None], AsyncWebClient],
    ) -> None:
        self._core = core
        self._tenant = tenant
        self._people = people
        self._limits = limits
        self._prompts = prompts
        self._web = web
        self._tasks: set[asyncio.Task[None]] = set()

    async def started(
        self, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """Remember the thread (before the ack), then offer its prompts."""
        thread = _thread(event)
        team = await self._tenant(body, event)
        if thread is None or team is None:
            return
        channel, thread_ts, _ = thread
        await self._core.state.set(team, state_name(channel, thread_ts), NEW, THREAD_TTL)
        self._spawn(self._suggest(self._web(client), team, event))

    async def context_changed(
        self, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """The person looks at another channel: a thread not yet begun offers its prompts."""
        thread = _thread(event)
        team = await self._tenant(body, event)
        if thread is None or team is None:
            return
        if await self._core.state.get(team, state_name(thread[0], thread[1])) == NEW:
            self._spawn(self._suggest(self._web(client), team, event))

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _suggest(self, web: AsyncWebClient, team: str, event: dict[str, Any]) -> None:
        thread = _thread(event)
        assert thread is not None
        channel, thread_ts, user = thread
        _, locale = await self._people.get(web, team, user)
        prompts = await self._choose(team, channel, _viewed(event, team), locale)
        if not prompts:
            return
        allowance = self._limits.method(team, SET_PROMPTS)
        await self._core.budget.acquire((allowance,), priority=OWN_SCOPE)
        title = self._core.text("assistant_prompts_title", locale)
        try:
            await web.api_call(
                SET_PROMPTS,
                json={
                    "channel_id": channel,
                    "thread_ts": thread_ts,
                    "title": title,
                    "prompts": prompts,
                },
            )
        except SlackApiError as exc:
            log.info("could not suggest prompts in %s: %s", channel, exc.response.get("error"))
            if exc.response.status_code == 429:
                wait = capped_wait(exc.response.headers.get("Retry-After"))
                await self._core.budget.pause(allowance, wait)

    async def _choose(
        self, team: str, channel: str, viewed: str | None, locale: str | None
    ) -> list[dict[str, str]]:
        """The viewed channel's prompts, else the DM's, else the setting's, else the bot's."""
        for where in (viewed, channel):
            if where:
                settings = await self._core.channel_settings(channel_scope("slack", team, where))
                chosen = settings.get(PROMPTS_SETTING)
                if chosen:
                    return _listed(chosen)
        if self._prompts is not None and self._prompts.strip():
            return _listed(self._prompts)
        return parse_prompts(self._core.text("assistant_prompts", locale))


def _listed(text: str) -> list[dict[str, str]]:
    return [] if text.strip().lower() in NO_PROMPTS else parse_prompts(text)


def _thread(event: dict[str, Any]) -> tuple[str, str, str] | None:
    """(DM channel, thread_ts, person) of an assistant thread event."""
    thread = event.get("assistant_thread") or {}
    channel, thread_ts = thread.get("channel_id"), thread.get("thread_ts")
    if not channel or not thread_ts:
        return None
    return str(channel), str(thread_ts), str(thread.get("user_id") or "")


def _viewed(event: dict[str, Any], team: str) -> str | None:
    """The channel the person is looking at, when it is in this workspace."""
    context = (event.get("assistant_thread") or {}).get("context") or {}
    if context.get("team_id") not in (None, "", team):
        return None
    channel = context.get("channel_id")
    return str(channel) if channel else None
