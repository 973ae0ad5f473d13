"""Thumbs up/down on a Mattermost reply: a person's 👍 (`+1`, alias `thumbsup`) or 👎 (`-1`,
`thumbsdown`) reaction on one of the bot's reply messages, taken like the stop reaction.

Every replica's socket gets the `reaction_added` event, so one claims it (`AdapterState`),
reads the post (`GET /api/v4/posts/{id}`: the event names neither its author nor its thread),
and hands a thumb on a bot message to the core, which finds the reply. The person is answered
by an ephemeral post (`POST /api/v4/posts/ephemeral {user_id, post: {channel_id, root_id,
message}}`, docs.mattermost.com/api/reference/create-post-ephemeral), which needs the
`create_post_ephemeral` permission: Mattermost gives it only to system admins, so a bot
without that role is refused 403 once and the adapter stops asking (the reaction itself shows).
"""

from __future__ import annotations

import logging
from typing import Any

from adapters.mattermost.api import ApiError, MattermostAPI
from bridge.contracts import Core, ThreadKey
from bridge.contracts.feedback import Press, Vote

log = logging.getLogger(__name__)

VOTES = {"+1": Vote.UP, "thumbsup": Vote.UP, "-1": Vote.DOWN, "thumbsdown": Vote.DOWN}


def vote_of(reaction: dict[str, Any]) -> Vote | None:
    return VOTES.get(str(reaction.get("emoji_name") or ""))


class Feedback:
    """Hands a claimed feedback reaction to the core and answers the person if allowed."""

    def __init__(self, core: Core, api: MattermostAPI, bot: str) -> None:
        self._core = core
        self._api = api
        self._bot = bot
        self._ephemeral = True

    async def take(self, reaction: dict[str, Any], tenant: str, vote: Vote) -> None:
        """A thumb on one of the bot's posts goes to the core; on anyone else's it is a
        reaction like any other."""
        channel = str(reaction.get("channel_id") or "")
        post_id = str(reaction.get("post_id") or "")
        user = str(reaction.get("user_id") or "")
        try:
            post = await self._api.call("GET", f"/posts/{post_id}")
        except ApiError as exc:
            log.info("could not read the post %s a thumb was put on: %s", post_id, exc)
            return
        if post.get("user_id") != self._bot:
            return
        thread = ThreadKey("mattermost", tenant, channel, str(post.get("root_id") or post_id))
        press = Press("mattermost", tenant, channel, post_id, "", user, vote, thread)
        answer = await self._core.feedback(press)
        if self._ephemeral:
            await self._answer(user, channel, thread.thread, answer)

    async def _answer(self, user: str, channel: str, root: str, text: str) -> None:
        post = {"channel_id": channel, "message": text, "root_id": root}
        try:
            await self._api.call("POST", "/posts/ephemeral", body={"user_id": user, "post": post})
        except ApiError as exc:
            if exc.status == 403:
                self._ephemeral = False
                log.info("Mattermost: no ephemeral answers to feedback (the bot lacks the role)")
            else:
                log.info("could not answer a feedback reaction in %s: %s", root, exc)
