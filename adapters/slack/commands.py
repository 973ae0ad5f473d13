"""Answering outside a reply on Slack: a reaction confirms a command, a short thread message
refuses or hints."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.access import is_slack_admin
from bridge.contracts import Command, Confirm, Replies, Say, UserPost

log = logging.getLogger(__name__)

CONFIRM = {"stop": "octagonal_sign", "reset": "recycle"}
DONE, REFUSED = "white_check_mark", "x"


def confirm_with_reaction(client: AsyncWebClient, post: UserPost) -> Confirm:
    async def confirm(command: Command, ok: bool) -> None:
        name = CONFIRM.get(command.name, DONE) if ok else REFUSED
        try:
            await client.reactions_add(
                channel=post.thread.channel, timestamp=post.message_id, name=name
            )
        except SlackApiError as exc:
            log.info("could not confirm %s with a reaction: %s", command, exc.response.get("error"))

    return confirm


def say_in_thread(client: AsyncWebClient, post: UserPost) -> Say:
    async def say(text: str) -> None:
        try:
            await client.chat_postMessage(
                channel=post.thread.channel, thread_ts=post.thread.thread, text=text
            )
        except SlackApiError as exc:
            log.info("could not post a notice: %s", exc.response.get("error"))

    return say


def slack_replies(client: AsyncWebClient, post: UserPost) -> Replies:
    async def is_admin() -> bool:
        return await is_slack_admin(client, post.thread.tenant, post.author)

    return Replies(confirm_with_reaction(client, post), say_in_thread(client, post), is_admin)
