"""The Bot Connector REST calls the bridge makes, at the activity's `serviceUrl`.

https://learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-api-reference:
`POST /v3/conversations/{conversationId}/activities` (send), `PUT …/activities/{activityId}`
(update: the whole activity), `DELETE …/activities/{activityId}`. The base URL is the
activity's `serviceUrl` with its path kept (`https://smba.trafficmanager.net/amer/`), and only
one that came in a verified token (the ingest puts nothing else in a post). The conversation id
is percent-encoded whole (it holds `:` `;` `@` `=`).

Retries (…/bots/how-to/rate-limit): 429, 412, 502 and 504 are retried with exponential backoff
and jitter, a 429 first pausing the scopes the write used (every replica waits); a 401 renews
the bot's token once. What is still refused leaves as `ConnectorError` for `errors.classify`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from adapters.teams.token import BotToken
from bridge.contracts.backoff import backoff
from bridge.contracts.toolkit.waits import capped_wait

log = logging.getLogger(__name__)

RETRIED = frozenset({412, 429, 502, 504})
RETRIES = 5
TIMEOUT = aiohttp.ClientTimeout(total=30)
Throttled = Callable[[float], Awaitable[None]]
"""Told how long a 429 asks to wait, before the retry: pauses the write's shared scopes."""


class ConnectorError(Exception):
    """The connector refused a call: HTTP `status` and the ErrorResponse's `code`."""

    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(f"HTTP {status} {code}: {message}"[:300])
        self.status = status
        self.code = code
        self.message = message


def activities_url(service_url: str, conversation: str, activity_id: str = "") -> URL:
    base = service_url.rstrip("/")
    path = f"{base}/v3/conversations/{quote(conversation, safe='')}/activities"
    if activity_id:
        path += f"/{quote(activity_id, safe='')}"
    return URL(path, encoded=True)


class Connector:
    def __init__(self, session: aiohttp.ClientSession, token: BotToken) -> None:
        self._session = session
        self._token = token

    async def send(
        self,
        service_url: str,
        conversation: str,
        activity: dict[str, Any],
        throttled: Throttled | None = None,
    ) -> dict[str, Any]:
        url = activities_url(service_url, conversation)
        return await self._call("POST", url, activity, throttled)

    async def update(
        self,
        service_url: str,
        conversation: str,
        activity_id: str,
        activity: dict[str, Any],
        throttled: Throttled | None = None,
    ) -> dict[str, Any]:
        url = activities_url(service_url, conversation, activity_id)
        return await self._call("PUT", url, activity, throttled)

    async def delete(self, service_url: str, conversation: str, activity_id: str) -> None:
        await self._call("DELETE", activities_url(service_url, conversation, activity_id), None)

    async def _call(
        self, method: str, url: URL, body: dict[str, Any] | None, throttled: Throttled | None = None
    ) -> dict[str, Any]:
        renewed = False
        for attempt in range(RETRIES + 1):
            headers = {"Authorization": f"Bearer {await self._token.get()}"}
            async with self._session.request(
                method, url, json=body, headers=headers, timeout=TIMEOUT
            ) as response:
                status = response.status
                answer = await _body(response)
                wait_hint = response.headers.get("Retry-After")
            if status < 300 and not _error_code(answer):
                return answer
            error = ConnectorError(
                status, _error_code(answer) or f"http_{status}", _message(answer)
            )
            if status == 401 and not renewed:
                renewed = True
                self._token.invalidate()
                continue
            if status not in RETRIED or attempt == RETRIES:
                raise error
            wait = capped_wait(wait_hint, backoff(attempt, base=0.5, cap=8.0))
            log.warning("Teams answered %s to %s; retry in %.1fs", error.code, method, wait)
            if status == 429 and throttled is not None:
                await throttled(wait)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")


async def _body(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        data = await response.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        return {}
    return data if isinstance(data, dict) else {}


def _error_code(answer: dict[str, Any]) -> str:
    error = answer.get("error")
    return str(error.get("code") or "") if isinstance(error, dict) else ""


def _message(answer: dict[str, Any]) -> str:
    error = answer.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or "")
    return str(answer.get("message") or "")
