"""Carrying out a thread command on Slack, confirmed with a reaction on the user's post."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bridge.commands import Command, run_command
from bridge.hub import Hub
from bridge.models import UserPost

log = logging.getLogger(__name__)

CONFIRM = {"stop": "octagonal_sign", "reset": "recycle"}
DONE, REFUSED = "white_check_mark", "x"


async def carry_out(hub: Hub, client: AsyncWebClient, post: UserPost, command: Command) -> None:
    ok = await run_command(hub, post.thread, command)
    name = CONFIRM.get(command.name, DONE) if ok else REFUSED
    try:
        await client.reactions_add(
            channel=post.thread.channel, timestamp=post.message_id, name=name
        )
    except SlackApiError as exc:
        log.info("could not confirm %s with a reaction: %s", command, exc.response.get("error"))
