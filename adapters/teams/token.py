"""The bot's own token for the Bot Connector: Entra ID client credentials, cached.

https://learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-authentication,
"Authenticate requests from your bot to the Bot Connector service": `POST` the form
`grant_type=client_credentials&client_id&client_secret&scope=https://api.botframework.com/.default`
to the tenant's token endpoint; the answer's `access_token` is sent as is (`Authorization:
Bearer`) until shortly before `expires_in` runs out. One request at a time refreshes it, for
every reply of the process.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp

from adapters.teams.settings import TeamsSettings

SCOPE = "https://api.botframework.com/.default"
REFRESH_BEFORE = 300.0
"""Seconds before expiry a token is renewed (a write must never carry one that lapses in flight)."""
TIMEOUT = aiohttp.ClientTimeout(total=15)


class TokenRefused(Exception):
    """Entra ID refused the credentials; the message names the variables and its answer."""


class BotToken:
    def __init__(self, session: aiohttp.ClientSession, settings: TeamsSettings) -> None:
        self._session = session
        self._settings = settings
        self._token = ""
        self._expires = 0.0
        self._margin = REFRESH_BEFORE
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        if self._fresh():
            return self._token
        async with self._lock:
            if not self._fresh():
                await self._fetch()
        return self._token

    def invalidate(self) -> None:
        """The connector refused the token (401): the next `get` asks for a new one."""
        self._expires = 0.0

    def _fresh(self) -> bool:
        return bool(self._token) and time.monotonic() < self._expires - self._margin

    async def _fetch(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._settings.app_id,
            "client_secret": self._settings.password,
            "scope": SCOPE,
        }
        url = self._settings.token_endpoint
        async with self._session.post(url, data=form, timeout=TIMEOUT) as response:
            body = await response.json(content_type=None)
        if response.status != 200 or not isinstance(body, dict) or "access_token" not in body:
            described = body.get("error_description") if isinstance(body, dict) else None
            first = str(described or f"HTTP {response.status}").splitlines()[0][:200]
            raise TokenRefused(
                f"TEAMS_APP_ID/TEAMS_APP_PASSWORD/TEAMS_TENANT_ID: no token from {url} ({first})"
            )
        self._token = str(body["access_token"])
        ttl = float(body.get("expires_in") or 3600)
        self._margin = min(REFRESH_BEFORE, ttl / 2)
        self._expires = time.monotonic() + ttl
