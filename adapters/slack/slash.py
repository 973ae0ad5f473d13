"""`/threadbridge <sub>` on Slack (Socket Mode or HTTP), answered ephemerally.

Slack sends a slash command without the thread it was typed in, so thread subcommands act on
the thread the user last posted in, in this channel.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.access import is_slack_admin
from bridge.hub import Hub
from bridge.slash import Invocation, run_slash

log = logging.getLogger(__name__)

COMMAND = "/threadbridge"


def register(app: AsyncApp, hub: Hub) -> None:
    async def on_command(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        answer = await answer_command(hub, body, client)
        await ack(text=answer, response_type="ephemeral")

    app.command(COMMAND)(on_command)


async def answer_command(hub: Hub, body: dict[str, Any], client: AsyncWebClient) -> str:
    team, channel = str(body.get("team_id") or ""), str(body.get("channel_id") or "")
    user = str(body.get("user_id") or "")
    scope = f"slack:{team}:{channel}"

    async def admin() -> bool:
        return await is_slack_admin(client, team, user)

    invocation = Invocation(
        scope=scope,
        thread=await hub.store.last_thread(scope, user),
        user=user,
        words=tuple(str(body.get("text") or "").split()),
        locale=await user_locale(client, user),
        is_admin=admin,
        command=str(body.get("command") or COMMAND),
    )
    return await run_slash(hub, invocation)


async def user_locale(client: AsyncWebClient, user: str) -> str | None:
    """The user's Slack locale (users.info with include_locale), None if Slack does not say."""
    try:
        response = await client.users_info(user=user, include_locale=True)
    except SlackApiError as exc:
        log.info("users.info failed for a locale: %s", exc.response.get("error"))
        return None
    locale = (response.get("user") or {}).get("locale")
    return str(locale) if locale else None
