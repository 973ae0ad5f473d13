"""One reply in a Discord thread or DM: a placeholder at once, then pages as edits.

A mention in a channel gets its thread created here, from the user's message, so a worker
that takes the post over after a crash creates it too. Thread creation is paced on the parent
channel's budget, where Discord counts it.
"""

from __future__ import annotations

from typing import Literal

import discord

from adapters.discord.format import EDIT_INTERVAL, NO_MENTIONS, PAGE_LIMIT, PLACEHOLDER
from bridge.models import UserPost
from bridge.pacing import EditBudget
from bridge.surface import Allowance, EditRate

THREAD_ALREADY_CREATED = 160004
CHANNEL_RATE = EditRate(per_second=0.9, burst=1.0)
"""Discord counts message posts, edits and thread creation in one fixed 5-per-5-s window per
channel; evenly spaced permits a little under 1/s never fill a window, however it aligns."""
GLOBAL = Allowance("discord:global", EditRate(per_second=45.0, burst=10.0))
"""Discord's global limit is 50 requests/s per bot, shared by every replica."""
ARCHIVE_MINUTES: Literal[1440] = 1440


def allowances(channel_id: str) -> tuple[Allowance, ...]:
    """A write to `channel_id` counts on that channel's limit and on the bot's global one."""
    return (Allowance(f"discord:{channel_id}", CHANNEL_RATE), GLOBAL)


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
        self.allowances = allowances(post.thread.thread)
        self.messages = messages

    async def start(self) -> None:
        name = self._post.extra.get("new_thread")
        if name:
            await self._create_thread(name)
        await self._budget.acquire(self.allowances, final=True)
        message = await self._channel.send(PLACEHOLDER, allowed_mentions=NO_MENTIONS)
        self.messages.append(str(message.id))

    async def write(self, index: int, text: str, *, final: bool) -> None:
        if index < len(self.messages):
            partial = self._channel.get_partial_message(int(self.messages[index]))
            await partial.edit(content=text, allowed_mentions=NO_MENTIONS)
            return
        message = await self._channel.send(text, allowed_mentions=NO_MENTIONS)
        self.messages.append(str(message.id))

    async def close(self) -> None:
        """Nothing to clear: the placeholder was replaced by the first page."""

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
