"""One reply in a Mattermost thread: the first text is the post itself, then it grows by
patches (`PUT /api/v4/posts/{id}/patch`); a reply longer than a post continues in the next.

No placeholder and no stop button: the first text goes out as soon as it comes, and a reply
is stopped by the stop reaction or the in-thread `stop`. Every write counts on the server's
one per-token limiter (`adapters.mattermost.api.ServerLimits`), whatever the channel.
"""

from __future__ import annotations

import uuid
from typing import Any

from adapters.mattermost.api import MattermostAPI
from adapters.mattermost.errors import classify
from adapters.mattermost.format import EDIT_INTERVAL, defuse_mentions
from bridge.contracts import Priority, Route, UserPost, Written

CREATE = "create_post"
PATCH = "patch_post"
DEFUSE_ROOM = 256
"""Characters of a page kept free for the word joiners that defusing mentions adds."""


class MattermostSurface:
    min_interval = EDIT_INTERVAL

    def __init__(
        self, api: MattermostAPI, post: UserPost, messages: list[str], max_post_size: int, bot: str
    ) -> None:
        self._api = api
        self._channel = post.thread.channel
        self._root = post.thread.thread
        self._bot = bot
        self.limit = max(1000, max_post_size - DEFUSE_ROOM)
        self.messages = messages
        self.streaming: set[str] = set()

    def needs_final(self, index: int) -> bool:
        return False

    def routes(self, index: int, text: str, *, final: bool) -> tuple[Route, ...]:
        name = PATCH if index < len(self.messages) else CREATE
        return (Route(name, (self._api.limits.allowance(),)),)

    async def start(self) -> None:
        """Nothing before the first text: it goes out as the post itself."""

    async def close(self) -> None:
        """Nothing to clear."""

    async def write(self, index: int, text: str, *, final: bool, route: Route) -> Written:
        """Post or patch with mentions defused; a refusal leaves as `WriteRejected`."""
        priority = Priority.FINAL if final else Priority.INTERIM
        if not self.messages:
            priority = Priority.FIRST
        try:
            return await self._write(index, defuse_mentions(text), priority)
        except Exception as exc:
            rejected = classify(exc)
            if rejected is None:
                raise
            raise rejected from exc

    async def _write(self, index: int, text: str, priority: Priority) -> Written:
        if index < len(self.messages):
            body = {"id": self.messages[index], "message": text}
            path = f"/posts/{self.messages[index]}/patch"
            await self._api.call("PUT", path, body=body, retry_priority=priority)
            return Written()
        created: Any = await self._api.call(
            "POST",
            "/posts",
            body={
                "channel_id": self._channel,
                "root_id": self._root,
                "message": text,
                "pending_post_id": pending_post_id(self._bot),
            },
            retry_priority=priority,
        )
        posted = str(created["id"])
        self.messages.append(posted)
        return Written(posted=(posted,))

    async def retract(self, message_id: str) -> None:
        """Delete a post of this reply (a bot may delete its own)."""
        await self._api.call("DELETE", f"/posts/{message_id}")


def pending_post_id(bot: str) -> str:
    """The idempotency key of one post creation, kept by its retries. Unique per creation, not
    the web app's `user:milliseconds`: the server answers a key it saw in the last 30 s with
    the post made under it, wherever that is (`deduplicateCreatePost`, server/channels/app/
    post.go), and this bot creates posts of many threads, on every replica, in the same ms."""
    return f"{bot}:{uuid.uuid4().hex}"
