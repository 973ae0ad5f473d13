"""Short messages outside a reply (refusals, hints, command answers), posted where the post was
written, paced on the same conversation windows as replies. A failure is logged: a notice is
never worth a retry loop."""

from __future__ import annotations

import logging

import aiohttp

from adapters.teams import limits
from adapters.teams.connector import Connector, ConnectorError
from adapters.teams.format import defuse_mentions
from adapters.teams.token import TokenRefused
from bridge.contracts import Allowance, Permits, Priority, UserPost, writing

log = logging.getLogger(__name__)


class Talk:
    def __init__(self, connector: Connector, budget: Permits, app: Allowance) -> None:
        self._connector = connector
        self._budget = budget
        self._app = app

    async def say(self, post: UserPost, text: str) -> None:
        thread = post.thread
        scopes = (*limits.conversation(thread.tenant, thread.channel), self._app)
        activity = {"type": "message", "text": defuse_mentions(text), "textFormat": "markdown"}
        try:
            async with writing(Priority.FINAL) as grant:
                await self._budget.acquire(scopes, priority=Priority.FINAL, grant=grant)
                await self._connector.send(
                    post.extra["service_url"], post.extra["reply_to"], activity
                )
        except (TimeoutError, ConnectorError, TokenRefused, aiohttp.ClientError) as exc:
            log.info("could not post a notice in %s: %s", thread, exc)
