"""Who is an admin on Slack: workspace admins and owners, as `users.info` tells.

The answer is cached a few minutes per client, team and user, so a burst of commands costs
one `users.info` call (Tier 4) and a demoted admin loses the right soon after.
"""

from __future__ import annotations

import logging
import time
import weakref
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

CACHE_SECONDS = 300.0
ADMIN_FLAGS = ("is_admin", "is_owner", "is_primary_owner")

_cache: weakref.WeakKeyDictionary[AsyncWebClient, dict[tuple[str, str], tuple[float, bool]]] = (
    weakref.WeakKeyDictionary()
)


async def is_slack_admin(client: AsyncWebClient, team: str, user: str) -> bool:
    """Whether `user` is an admin or owner of workspace `team`; False when Slack cannot say."""
    entries = _cache.setdefault(client, {})
    cached = entries.get((team, user))
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return cached[1]
    try:
        response = await client.users_info(user=user)
    except SlackApiError as exc:
        log.info("users.info for an admin check failed: %s", exc.response.get("error"))
        return False
    return note_user(client, team, user, response.get("user") or {})


def note_user(client: AsyncWebClient, team: str, user: str, info: dict[str, Any]) -> bool:
    """Remember the admin flags of a `users.info` answer fetched for another reason (a display
    name, a locale), so the next admin check needs no call of its own."""
    admin = any(bool(info.get(flag)) for flag in ADMIN_FLAGS)
    entries = _cache.setdefault(client, {})
    entries[(team, user)] = (time.monotonic() + CACHE_SECONDS, admin)
    return admin


MEMBERS_PAGE = 200
"""Members asked for per `conversations.members` page: "We recommend no more than 200 results
at a time" (method reference)."""
HIDDEN = frozenset({"channel_not_found", "method_not_supported_for_channel_type"})
"""Answers meaning the app cannot see the conversation's members, so nobody is shown in it."""


async def is_member(client: AsyncWebClient, channel: str, user: str) -> bool:
    """Whether `user` is in conversation `channel` (conversations.members, page by page until
    found or the last page). False when Slack will not show the app the conversation, or the
    token lacks the read scope for its type (logged: the app needs reinstalling)."""
    cursor: str | None = None
    while True:
        try:
            page = await client.conversations_members(
                channel=channel, limit=MEMBERS_PAGE, cursor=cursor
            )
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error == "missing_scope":
                log.warning(
                    "conversations.members needs scope %s; add it and reinstall the app",
                    exc.response.get("needed"),
                )
                return False
            if error in HIDDEN:
                return False
            raise
        if user in (page.get("members") or []):
            return True
        cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "") or None
        if cursor is None:
            return False
