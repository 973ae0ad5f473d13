"""Who may change a channel's settings on Slack: workspace admins and owners."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


async def is_slack_admin(client: AsyncWebClient, team: str, user: str) -> bool:
    """True if `user` is an admin or owner of workspace `team` (users.info)."""
    try:
        response = await client.users_info(user=user)
    except SlackApiError as exc:
        log.info("users.info failed for an admin check in %s: %s", team, exc.response.get("error"))
        return False
    info = response.get("user") or {}
    return bool(info.get("is_admin") or info.get("is_owner"))
