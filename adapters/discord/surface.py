"""One reply in a Discord thread or DM: typing at once, the first text as soon as it comes,
then pages as edits.

No placeholder message: a channel allows about one write a second, and a placeholder would
spend it, delaying the first text by a second. The typing indicator is the status instead.
A mention in a channel gets its thread created here, from the user's message, so a worker
that takes the post over after a crash creates it too; thread creation is paced on the parent
channel's budget, where Discord counts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Literal

import discord

from adapters.discord.format import EDIT_INTERVAL, NO_MENTIONS, PAGE_LIMIT
from bridge.models import UserPost
from bridge.pacing import EditBudget
from bridge.surface import Allowance, EditRate, Route

THREAD_ALREADY_CREATED = 160004
CHANNEL_RATE = EditRate(per_second=0.9, burst=1.0)
"""Discord counts message posts, edits and thread creation in one fixed 5-per-5-s window per
channel; evenly spaced permits a little under 1/s never fill a window, however it aligns."""
GLOBAL = Allowance("discord:global", EditRate(per_second=40.0, burst=5.0))
"""Discord's global limit is 50 requests/s per bot, shared by every replica: at most 45 in any
second here, leaving room for the requests discord.py makes on its own."""
ARCHIVE_MINUTES: Literal[1440] = 1440
TYPING_REFRESH = 8.0
"""Discord shows typing for about 10 s; renew it until the first text is posted."""

log = logging.getLogger(__name__)


def allowances(channel_id: str) -> tuple[Allowance, ...]:
    """A write to `channel_id` counts on the bot's global limit and on the channel's.

    The plentiful global scope is asked first, so a refusal there never wastes the channel's
    single permit.
    """
    return (GLOBAL, Allowance(f"discord:{channel_id}", CHANNEL_RATE))


class DiscordSurface:
    limit = PAGE_LIMIT
    min_interval = EDIT_INTERVAL

    def __init__(
        self,
        client: discord.Client,
        post: UserPost,
        messages: list[str],
        budget: EditBudget,
    ) -> None:
        self._client = client
        self._post = post
        self._budget = budget
        self._channel = client.get_partial_messageable(int(post.thread.thread))
        self._route = Route("write", allowances(post.thread.thread))
        self.messages = messages
        self.streaming: set[str] = set()
        self._typing: asyncio.Task[None] | None = None

    async def start(self) -> None:
        name = self._post.extra.get("new_thread")
        if name:
            await self._create_thread(name)
        self._typing = asyncio.create_task(self._keep_typing(), name="discord-typing")

    def routes(self, index: int, text: str, *, final: bool) -> tuple[Route, ...]:
        """Posts and edits count alike on the channel's bucket and the global limit."""
        return (self._route,)

    async def write(self, index: int, text: str, *, final: bool, route: Route) -> None:
        await self.close()
        if index < len(self.messages):
            partial = self._channel.get_partial_message(int(self.messages[index]))
            await partial.edit(content=text, allowed_mentions=NO_MENTIONS)
            return
        message = await self._channel.send(text, allowed_mentions=NO_MENTIONS)
        self.messages.append(str(message.id))

    async def close(self) -> None:
        """Stop renewing the typing indicator (posting a message clears it on Discord)."""
        task, self._typing = self._typing, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _keep_typing(self) -> None:
        channel = int(self._post.thread.thread)
        while True:
            await self._budget.acquire((GLOBAL,), final=False)
            try:
                await self._client.http.send_typing(channel)
            except discord.HTTPException as exc:
                log.info("could not show typing in %s: %s", channel, exc)
            await asyncio.sleep(TYPING_REFRESH)

    async def _create_thread(self, name: str) -> None:
        thread = self._post.thread
        await self._budget.acquire(allowances(thread.channel), final=True)
        try:
            await self._client.http.start_thread_with_message(
                int(thread.channel),
                int(self._post.message_id),
                name=name,
                auto_archive_duration=ARCHIVE_MINUTES,
            )
        except discord.HTTPException as exc:
            if exc.code != THREAD_ALREADY_CREATED:
                raise
