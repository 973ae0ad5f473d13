"""Who posted: display names and locales from users.info, remembered per workspace.

One users.info call (with `include_locale`) per person per process; failures fall back to the
user id and no locale (then BRIDGE_LOCALE applies).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.access import note_user
from bridge.contracts import NameLookup

log = logging.getLogger(__name__)

Person = tuple[str, str | None]


class People:
    """A bounded cache of (display name, locale) per (workspace, user)."""

    SIZE = 10_000

    def __init__(self) -> None:
        self._known: OrderedDict[tuple[str, str], Person] = OrderedDict()
        self._fetching: dict[tuple[str, str], asyncio.Lock] = {}

    async def get(self, client: AsyncWebClient, team: str, user: str) -> Person:
        """One users.info call per person, even when Slack delivers a mention twice at once
        (`app_mention` and `message`): the second waits for the first's answer."""
        key = (team, user)
        known = self._known.get(key)
        if known is not None:
            return known
        lock = self._fetching.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                known = self._known.get(key)
                if known is None:
                    known = self._known[key] = await _fetch(client, team, user)
                    while len(self._known) > self.SIZE:
                        self._known.popitem(last=False)
        finally:
            if not lock.locked():
                self._fetching.pop(key, None)
        return known

    def name(self, client: AsyncWebClient, team: str, user: str) -> NameLookup:
        async def lookup() -> str:
            return (await self.get(client, team, user))[0]

        return lookup


async def _fetch(client: AsyncWebClient, team: str, user: str) -> Person:
    try:
        response = await client.users_info(user=user, include_locale=True)
    except SlackApiError as exc:
        log.info("users.info failed for %s: %s", user, exc.response.get("error"))
        return user, None
    info = response.get("user") or {}
    note_user(client, team, user, info)
    profile = info.get("profile") or {}
    name = profile.get("display_name") or profile.get("real_name") or info.get("name") or user
    locale = info.get("locale")
    return str(name), (str(locale) if locale else None)
