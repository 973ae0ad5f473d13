"""A thread's earlier posts for a late mention (the bot @mentioned in a reply of a thread it is
not in), from Get a thread: `GET /api/v4/posts/{post_id}/thread`, "a post and the rest of the
posts in the same thread" as a `PostList` (developers.mattermost.com/api-documentation/#/
operations/GetPostThread). It needs `read_channel` on the post's channel, so the bot reads
only what it may. The bot's own posts, system posts and deleted ones are left out (other
bots' stay, under their names), and so is everything from the mention on and up to an
earlier mention of the bot (that one brought the bot in already).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from adapters.mattermost.api import MattermostAPI
from adapters.mattermost.format import mentions, strip_mention
from bridge.contracts import Earlier, History, NameLookup, UserPost

NameOf = Callable[[str], NameLookup]
"""A user id to the lookup of that user's name."""


def thread_history(
    api: MattermostAPI, post: UserPost, bot_id: str, bot_username: str, name_of: NameOf
) -> History | None:
    """The history of `post`'s thread, when `post` is a reply (a root post has none before)."""
    root = post.thread.thread
    if root == post.message_id:
        return None
    before = round(post.ts * 1000)

    async def history(limit: int) -> Sequence[Earlier]:
        listing = await api.call("GET", f"/posts/{root}/thread")
        posts = sorted(
            (p for p in (listing.get("posts") or {}).values() if _shown(p, bot_id, before)),
            key=lambda p: int(p.get("create_at") or 0),
        )
        posts = _since_last_mention(posts, bot_username)[-limit:]
        authors = sorted({str(p["user_id"]) for p in posts})
        lookups: list[NameLookup] = [name_of(user) for user in authors]
        names = dict(zip(authors, await asyncio.gather(*(n() for n in lookups)), strict=True))
        return [
            Earlier(
                names[str(p["user_id"])],
                strip_mention(str(p.get("message") or ""), bot_username),
                int(p.get("create_at") or 0) / 1000.0,
                "" if _from_bot(p) else str(p["user_id"]),
            )
            for p in posts
        ]

    return history


def _shown(post: dict[str, Any], bot_id: str, before: int) -> bool:
    if post.get("type") or post.get("delete_at") or not post.get("user_id"):
        return False
    return post["user_id"] != bot_id and int(post.get("create_at") or 0) < before


def _from_bot(post: dict[str, Any]) -> bool:
    return str((post.get("props") or {}).get("from_bot", "")).lower() == "true"


def _since_last_mention(posts: list[dict[str, Any]], username: str) -> list[dict[str, Any]]:
    """The posts after the last one that @mentions the bot (that one brought the bot in)."""
    for index in range(len(posts) - 1, -1, -1):
        if mentions(str(posts[index].get("message") or ""), username):
            return posts[index + 1 :]
    return posts
