"""A thread's earlier messages for a late mention (the bot mentioned in a thread it did not
start), through discord.py's `history`: Get Channel Messages, `GET /channels/{thread}/messages
?before=<mention id>&limit=…` (at most 100 a call, newest first; docs.discord.com/developers/
resources/message#get-channel-messages). Discord returns nothing without Read Message History,
so the bot reads only what it may; its own messages and system messages are left out, and so
is everything up to an earlier mention of the bot (that one brought the bot in already).
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

from adapters.discord.format import strip_mention
from bridge.contracts import Earlier, History

POSTS = (discord.MessageType.default, discord.MessageType.reply)


def thread_history(message: discord.Message, bot_id: int) -> History:
    """The messages of `message`'s thread before it, oldest first: the newest `limit` that are
    no bot's own, looking back at most twice as far (the bot's replies are left out)."""
    channel = message.channel

    async def history(limit: int) -> Sequence[Earlier]:
        found: list[Earlier] = []
        async for earlier in channel.history(limit=limit * 2, before=message):
            if any(user.id == bot_id for user in earlier.mentions):
                break
            if earlier.type not in POSTS or earlier.author.id == bot_id:
                continue
            text = strip_mention(earlier.content, bot_id)
            author = earlier.author
            user = "" if author.bot else str(author.id)
            found.append(Earlier(author.display_name, text, earlier.created_at.timestamp(), user))
            if len(found) == limit:
                break
        found.reverse()
        return found

    return history
