"""Confirming a thread command on Slack: a reaction on the user's post."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bridge.commands import Command
from bridge.ingest import Confirm
from bridge.models import UserPost

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
