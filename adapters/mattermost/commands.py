"""Answering outside a reply on Mattermost: a reaction confirms a command, a short post in
the thread refuses or hints (with mentions defused, like every reply)."""

from __future__ import annotations

import logging

from adapters.mattermost.access import is_admin
from adapters.mattermost.api import ApiError, MattermostAPI
from adapters.mattermost.format import defuse_mentions
from bridge.contracts import Command, Confirm, Replies, Say, UserPost

log = logging.getLogger(__name__)

CONFIRM = {"stop": "octagonal_sign", "reset": "recycle"}
DONE, REFUSED = "white_check_mark", "x"


def confirm_with_reaction(api: MattermostAPI, bot: str, post: UserPost) -> Confirm:
    async def confirm(command: Command, ok: bool) -> None:
        emoji = CONFIRM.get(command.name, DONE) if ok else REFUSED
        body = {"user_id": bot, "post_id": post.message_id, "emoji_name": emoji}
        try:
            await api.call("POST", "/reactions", body=body)
        except ApiError as exc:
            log.info("could not confirm %s with a reaction: %s", command, exc)

    return confirm


def say_in_thread(api: MattermostAPI, post: UserPost) -> Say:
    async def say(text: str) -> None:
        body = {
            "channel_id": post.thread.channel,
            "root_id": post.thread.thread,
            "message": defuse_mentions(text),
        }
        try:
            await api.call("POST", "/posts", body=body)
        except ApiError as exc:
            log.info("could not post a notice: %s", exc)

    return say


def mattermost_replies(api: MattermostAPI, bot: str, post: UserPost) -> Replies:
    async def admin() -> bool:
        return await is_admin(api, post.author)

    return Replies(confirm_with_reaction(api, bot, post), say_in_thread(api, post), admin)
