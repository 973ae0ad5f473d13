"""One reply in a Discord thread or DM: typing at once, the first text as soon as it comes,
then pages as edits.

No placeholder message: a channel allows about one write a second, and a placeholder would
spend it, delaying the first text by a second. The typing indicator is the status instead,
sent only with global permits no first text, final or interim edit is waiting for.
A mention in a channel gets its thread created here, from the user's message, so a worker
that takes the post over after a crash creates it too; thread creation is paced on the parent
channel, where Discord counts it, with a first text's priority (it is on that path).
Where no thread can be opened but the channel can be written (`errors.NO_THREAD_HERE`: no
Create Public Threads permission, a channel type without threads, the thread limit reached),
the reply goes into the channel itself as a reply to the mention, as a person would answer;
the next mention there tries a thread again. Any other refusal is classified like a write (a
permanent one ends the reply as undeliverable, the rest are retried).

Budgets follow Discord's per-route buckets: each route (create, edit, thread creation, typing)
on each channel is its own scope, named by the `X-RateLimit-Bucket` hash discord.py learned for
the route once it has seen one (routes Discord groups then share a budget), plus the global
limit every request counts on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Literal

import discord
from discord.http import handle_message_parameters
from discord.utils import MISSING

from adapters.discord.controls import BUTTON_ROW
from adapters.discord.errors import NO_THREAD_HERE, classify
from adapters.discord.feedback import feedback_row
from adapters.discord.format import EDIT_INTERVAL, NO_MENTIONS, PAGE_LIMIT
from bridge.contracts import (
    Allowance,
    EditRate,
    Permits,
    Priority,
    Route,
    UserPost,
    Written,
    writing,
)

THREAD_ALREADY_CREATED = 160004
CHANNEL_WINDOW = 5.15
CHANNEL_RATE = EditRate(per_second=5 / CHANNEL_WINDOW, burst=5.0, window=CHANNEL_WINDOW)
"""A route's bucket on one channel allows 5 requests per 5 s (a fixed window we learn only by
its headers): at most 5 in any 5.15 s never fills one, however it aligns, and leaves the
window's last permit to a first text or final (interim edits take at most 4), so a reply's
final edit does not wait behind its own interim edits."""
CREATE = "POST /channels/{channel_id}/messages"
EDIT = "PATCH /channels/{channel_id}/messages/{message_id}"
THREAD = "POST /channels/{channel_id}/messages/{message_id}/threads"
TYPING = "POST /channels/{channel_id}/typing"
GLOBAL_WINDOW = 1.0
"""Discord's global limit (50 requests/s per bot unless Discord raised it) is counted in
one-second windows whose start we cannot see. Permits for at most that many requests in any
second, each counted from its grant until a second after its write is over (`bridge.pacing`),
shared by every replica and granted by priority, and then this process's own count by when a
request can have arrived (`adapters.discord.pace`) keep every one of Discord's windows within
it; the whole allowance can go at once, as a burst of new threads needs it. A 429 pauses the
scope."""


def global_allowance(per_second: float) -> Allowance:
    burst = max(1.0, per_second)
    rate = EditRate(burst / GLOBAL_WINDOW, burst=burst, window=GLOBAL_WINDOW)
    return Allowance("discord:global", rate, "global")


GLOBAL = global_allowance(50.0)
ROUTE_IDS = re.compile(r"\{[a-z_]+\}")
"""A route's id placeholders: a budget wait's method label spells them `{id}`, as a call's
does (`adapters.discord.client.route_name`)."""
ARCHIVE_MINUTES: Literal[1440] = 1440
TYPING_REFRESH = 8.0
"""Discord shows typing for about 10 s; renew it until the first text is posted."""

log = logging.getLogger(__name__)


def allowances(
    client: discord.Client | None, route: str, channel_id: str, limit: Allowance = GLOBAL
) -> tuple[Allowance, ...]:
    """A request on `route` to `channel_id` counts on the bot's global limit and on the
    route's bucket for that channel.

    The plentiful global scope is asked first, so a refusal there never wastes the bucket's
    single permit.
    """
    hashes = getattr(getattr(client, "http", None), "_bucket_hashes", None)
    bucket = hashes.get(route) if isinstance(hashes, dict) else None
    method = ROUTE_IDS.sub("{id}", route)
    return (limit, Allowance(f"discord:{bucket or route}:{channel_id}", CHANNEL_RATE, method))


class DiscordSurface:
    limit = PAGE_LIMIT
    min_interval = EDIT_INTERVAL

    def __init__(
        self,
        client: discord.Client,
        post: UserPost,
        messages: list[str],
        budget: Permits,
        limit: Allowance = GLOBAL,
        *,
        previews: bool = False,
    ) -> None:
        """`limit`: the bot's global allowance (Discord's 50 requests/s unless raised).
        `previews`: BRIDGE_LINK_PREVIEWS=on; otherwise every create and edit sets
        SUPPRESS_EMBEDS, so Discord fetches none of a reply's links unclicked."""
        self._client = client
        self._flags = MISSING if previews else discord.MessageFlags(suppress_embeds=True)
        self._global = limit
        self._post = post
        self._budget = budget
        self.messages = messages
        self.streaming: set[str] = set()
        self._controls: set[str] = set()
        """Messages showing the stop button (their final write takes it away)."""
        self._rated: int | None = None
        """The message whose final write carries the feedback buttons (`rate`)."""
        self._rated_shown: set[str] = set()
        self._typing: asyncio.Task[None] | None = None
        self._in_channel = False
        """No thread could be opened: the reply is written in the parent channel."""

    @property
    def _channel(self) -> str:
        """Where the reply is written: the thread, or its channel when none could be opened."""
        thread = self._post.thread
        return thread.channel if self._in_channel else thread.thread

    async def start(self) -> None:
        name = self._post.extra.get("new_thread")
        if name:
            await self._create_thread(name)
        self._typing = asyncio.create_task(self._keep_typing(), name="discord-typing")

    def needs_final(self, index: int) -> bool:
        if index >= len(self.messages):
            return False
        message = self.messages[index]
        unrated = index == self._rated and message not in self._rated_shown
        return message in self._controls or unrated

    def rate(self, index: int) -> None:
        """Message `index` is the reply's last: its final write carries the feedback buttons."""
        self._rated = index

    def routes(self, index: int, text: str, *, final: bool) -> tuple[Route, ...]:
        """An edit of a posted message, or a new message: each on its route's bucket."""
        route = EDIT if index < len(self.messages) else CREATE
        return (Route(route, allowances(self._client, route, self._channel, self._global)),)

    async def write(self, index: int, text: str, *, final: bool, route: Route) -> Written:
        """Post or edit; a refusal leaves as `WriteRejected` (see `adapters.discord.errors`)."""
        await self.close()
        try:
            return await self._write(index, text, final=final)
        except Exception as exc:
            rejected = classify(exc)
            if rejected is None:
                raise
            raise rejected from exc

    async def _write(self, index: int, text: str, *, final: bool) -> Written:
        """Post or edit with the stop button while the reply runs, without it at the end (the
        reply's last message then shows the feedback buttons)."""
        params = handle_message_parameters(
            content=text, allowed_mentions=NO_MENTIONS, flags=self._flags
        )
        assert params.payload is not None
        rated = final and index == self._rated
        components = feedback_row(self._post.message_id) if rated else []
        params.payload["components"] = components if final else BUTTON_ROW
        if self._in_channel and not self.messages:
            params.payload["message_reference"] = {
                "message_id": self._post.message_id,
                "fail_if_not_exists": False,
            }
        channel = int(self._channel)
        http = self._client.http
        written = Written()
        with params:
            if index < len(self.messages):
                message_id = self.messages[index]
                await http.edit_message(channel, int(message_id), params=params)
            else:
                data = await http.send_message(channel, params=params)
                message_id = str(data["id"])
                self.messages.append(message_id)
                written = Written(posted=(message_id,))
        if final:
            self._controls.discard(message_id)
        else:
            self._controls.add(message_id)
        if rated:
            self._rated_shown.add(message_id)
        return written

    async def retract(self, message_id: str) -> None:
        """Delete a message of this reply (a bot may always delete its own); its global permit
        is taken as it leaves (`adapters.discord.pace`)."""
        await self._client.http.delete_message(int(self._channel), int(message_id))

    async def close(self) -> None:
        """Stop renewing the typing indicator (posting a message clears it on Discord)."""
        task, self._typing = self._typing, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _keep_typing(self) -> None:
        channel = int(self._channel)
        while True:
            scopes = allowances(self._client, TYPING, str(channel), self._global)
            try:
                async with writing(Priority.STATUS) as grant:
                    await self._budget.acquire(scopes, priority=Priority.STATUS, grant=grant)
                    await self._client.http.send_typing(channel)
            except discord.HTTPException as exc:
                log.info("could not show typing in %s: %s", channel, exc)
            await asyncio.sleep(TYPING_REFRESH)

    async def _create_thread(self, name: str) -> None:
        thread = self._post.thread
        scopes = allowances(self._client, THREAD, thread.channel, self._global)
        try:
            async with writing(Priority.FIRST) as grant:
                await self._budget.acquire(scopes, priority=Priority.FIRST, grant=grant)
                await self._client.http.start_thread_with_message(
                    int(thread.channel),
                    int(self._post.message_id),
                    name=name,
                    auto_archive_duration=ARCHIVE_MINUTES,
                )
        except discord.HTTPException as exc:
            if exc.code == THREAD_ALREADY_CREATED:
                return
            if exc.code in NO_THREAD_HERE:
                log.info("no thread for %s (%s): answering in the channel", thread, exc)
                self._in_channel = True
                return
            raise classify(exc) or exc from exc
