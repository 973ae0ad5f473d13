"""Discord's text rules: Markdown as the model writes it, 2,000 characters per message,
and no mentions allowed, so streamed text never pings anyone."""

from __future__ import annotations

import re

import discord

from bridge.contracts.toolkit.text import first_words

PAGE_LIMIT = 2000
EDIT_INTERVAL = 1.0
"""Discord allows about 5 edits per 5 s per channel (a thread is its own channel)."""
THREAD_NAME_LIMIT = 100
NO_MENTIONS = discord.AllowedMentions.none()


def strip_mention(text: str, bot_id: int) -> str:
    return re.sub(rf"<@!?{bot_id}>", "", text).strip()


def thread_name(text: str) -> str:
    """A readable thread name from the post's first words, at most 100 characters."""
    return first_words(re.sub(r"<[@#][!&]?\d+>", "", text), THREAD_NAME_LIMIT)
