"""A thread's earlier posts for a late mention, from `conversations.replies`.

The method (docs.slack.dev/reference/methods/conversations.replies) returns a thread oldest
first, cursor-paginated; `latest` with `inclusive` false leaves out the mention and whatever
came after it. Its rate: Tier 3 (about 50 calls a minute per workspace) for internal and
Marketplace apps, but 1 call a minute with at most 15 messages per call for apps distributed
commercially outside the Marketplace (docs.slack.dev/apis/web-api/rate-limits, "App types and
rate limits"). So an app distributed by OAuth (SLACK_CLIENT_ID) defaults to those, one with a
single bot token to Tier 3 and pages of 200 (the documented recommendation); both are settings.
Every call takes a permit of the shared budget first (one scope per workspace, all replicas);
with none free soon the post goes without (the first page) or with what was read (further
pages).

Posts up to an earlier mention of the bot are left out: that mention brought the bot in (a
conversation has them, or is taking them in as this post races it).

Slack delivers a mention twice (`app_mention` and `message`): the second asks while the first
fetches and gets the first's answer, so the thread is read once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.format import mentions, strip_mention
from adapters.slack.people import People
from adapters.slack.settings import SlackSettings
from bridge.contracts import Allowance, Earlier, EditRate, History, Permits, Priority, join_ids

log = logging.getLogger(__name__)

METHOD = "conversations.replies"
TIER3_PER_MINUTE = 50.0
TIER3_PAGE = 200
DISTRIBUTED_PER_MINUTE = 1.0
DISTRIBUTED_PAGE = 15
FIRST_PAGE_WAIT = 0.25
"""The longest a late mention waits for the workspace's permit: with the budget spent it is
answered alone at once rather than after the core's whole timeout."""
NEXT_PAGE_WAIT = 0.05
"""A further page is fetched only if its permit is this close: the first page already holds
the thread's start, and the post must not wait."""
KEPT = 256
"""Answers remembered for the second delivery of a mention."""
SHOWN_SUBTYPES = {None, "file_share", "thread_broadcast", "bot_message"}


class Paced(Exception):
    """No permit for the first page soon enough: the post goes without its thread."""


@dataclass(frozen=True, slots=True)
class Pace:
    """Messages per `conversations.replies` call and calls per minute per workspace."""

    page: int
    per_minute: float

    @classmethod
    def from_settings(cls, settings: SlackSettings, distributed: bool) -> Pace:
        page = settings.history_page_size
        per_minute = settings.history_calls_per_minute
        if page is None:
            page = DISTRIBUTED_PAGE if distributed else TIER3_PAGE
        if per_minute is None:
            per_minute = DISTRIBUTED_PER_MINUTE if distributed else TIER3_PER_MINUTE
        return cls(page, per_minute)

    def allowance(self, team: str) -> Allowance:
        burst = max(1.0, min(5.0, self.per_minute / 10.0))
        rate = EditRate(self.per_minute / 60.0, burst)
        return Allowance(join_ids("slack", team, METHOD), rate, METHOD)


class ThreadHistory:
    """Reads threads for late mentions, within the workspace's `conversations.replies` budget."""

    def __init__(self, pace: Pace, permits: Permits, people: People) -> None:
        self._pace = pace
        self._permits = permits
        self._people = people
        self._known: OrderedDict[tuple[str, str, str], list[Earlier]] = OrderedDict()
        self._locks: dict[tuple[str, str, str], asyncio.Lock] = {}

    def lookup(
        self, web: AsyncWebClient, team: str, event: dict[str, Any], bot_user_id: str
    ) -> History | None:
        """The history of the event's thread, when the event is a reply in one outside a DM (a
        DM's threads are the bot's own already; an AI-app thread's root is Slack's, not talk)."""
        thread_ts, ts = event.get("thread_ts"), event.get("ts")
        if not thread_ts or thread_ts == ts or event.get("channel_type") == "im":
            return None
        key = (team, str(event.get("channel")), str(ts))
        root = str(thread_ts)

        async def history(limit: int) -> Sequence[Earlier]:
            return await self._once(key, lambda: self._read(web, key, root, bot_user_id, limit))

        return history

    async def _once(
        self, key: tuple[str, str, str], read: Callable[[], Awaitable[list[Earlier]]]
    ) -> list[Earlier]:
        """`read()` once per mention, however many deliveries ask at the same time."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                if key not in self._known:
                    self._known[key] = await read()
                    while len(self._known) > KEPT:
                        self._known.popitem(last=False)
                return self._known[key]
        finally:
            if not lock.locked():
                self._locks.pop(key, None)

    async def _read(
        self, web: AsyncWebClient, key: tuple[str, str, str], root: str, bot: str, limit: int
    ) -> list[Earlier]:
        team, channel, before = key
        allowance = self._pace.allowance(team)
        kept: dict[str, dict[str, Any]] = {}
        """By `ts`: a page may repeat the thread's parent."""
        cursor: str | None = None
        for page in range(1_000):
            if not await self._permit(allowance, FIRST_PAGE_WAIT if page == 0 else NEXT_PAGE_WAIT):
                if page == 0:
                    raise Paced(f"{METHOD} budget of workspace {team} is spent")
                log.info("thread %s/%s: history page %d waits for the pace", channel, root, page)
                break
            answer = await web.conversations_replies(
                channel=channel,
                ts=root,
                latest=before,
                inclusive=False,
                limit=self._pace.page,
                cursor=cursor,
            )
            kept |= {m["ts"]: m for m in answer.get("messages") or [] if _shown(m, bot, before)}
            cursor = (answer.get("response_metadata") or {}).get("next_cursor") or None
            if not answer.get("has_more") or not cursor:
                break
        ordered = [kept[ts] for ts in sorted(kept, key=_ts)]
        return await self._named(web, team, _since_last_mention(ordered, bot)[-limit:], bot)

    async def _permit(self, allowance: Allowance, wait: float) -> bool:
        try:
            async with asyncio.timeout(wait):
                await self._permits.acquire((allowance,), priority=Priority.FIRST)
        except TimeoutError:
            return False
        return True

    async def _named(
        self, web: AsyncWebClient, team: str, messages: list[dict[str, Any]], bot: str
    ) -> list[Earlier]:
        """Each message with its author's display name (users.info once per person)."""
        users = sorted({str(m["user"]) for m in messages if m.get("user") and not m.get("bot_id")})
        found = await asyncio.gather(*(self._people.get(web, team, u) for u in users))
        names = {user: person[0] for user, person in zip(users, found, strict=True)}
        return [
            Earlier(
                _author(m, names),
                strip_mention(str(m.get("text") or ""), bot),
                float(m["ts"]),
                "" if m.get("bot_id") else str(m.get("user") or ""),
            )
            for m in messages
        ]


def _shown(message: dict[str, Any], bot: str, before: str) -> bool:
    """A person's (or another app's) post from before the mention; never the bot's own."""
    if message.get("subtype") not in SHOWN_SUBTYPES or not isinstance(message.get("ts"), str):
        return False
    if message.get("user") == bot:
        return False
    return _ts(str(message["ts"])) < _ts(before)


def _since_last_mention(messages: list[dict[str, Any]], bot: str) -> list[dict[str, Any]]:
    """The messages after the last one that mentions the bot: that one brought the bot into
    the thread already (its conversation has it, or is taking it in right now)."""
    for index in range(len(messages) - 1, -1, -1):
        if mentions(str(messages[index].get("text") or ""), bot):
            return messages[index + 1 :]
    return messages


def _author(message: dict[str, Any], names: dict[str, str]) -> str:
    if message.get("bot_id"):
        profile = message.get("bot_profile") or {}
        return str(profile.get("name") or message.get("username") or "an app")
    user = str(message.get("user") or "")
    return names.get(user, user)


def _ts(ts: str) -> tuple[int, int]:
    seconds, _, micros = ts.partition(".")
    return int(seconds or 0), int(micros or 0)
