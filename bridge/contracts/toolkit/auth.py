"""Provider authorisation: bearer tokens shared by every reply of one process (fetched once per
validity period, refreshed a little before expiry, and at most once when the provider rejects
one), the OAuth2 client-credentials grant, and requests and streams that retry once with a
fresh token when the one they carried is refused."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
from httpx_sse import EventSource

from bridge.contracts.toolkit.sse import ProviderHTTPError, open_sse

TokenFetch = Callable[[], Awaitable[tuple[str, float]]]
"""Returns (token, absolute expiry as UNIX seconds)."""

AuthHeaders = Callable[[str], Mapping[str, str]]
"""Builds the request headers that carry a token."""


class TokenCache:
    """Single-flight token holder: 50 concurrent callers cause one fetch, not 50."""

    def __init__(self, fetch: TokenFetch, margin: float = 60.0) -> None:
        self._fetch = fetch
        self._margin = margin
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0

    def _fresh(self) -> bool:
        return self._token is not None and time.time() < self._expires_at - self._margin

    async def get(self) -> str:
        if self._fresh():
            assert self._token is not None
            return self._token
        async with self._lock:
            if not self._fresh():
                await self._load()
            assert self._token is not None
            return self._token

    async def refresh(self, rejected: str) -> str:
        """Replace `rejected` (a token the provider refused) unless another caller already did."""
        async with self._lock:
            if self._token == rejected or self._token is None:
                await self._load()
            assert self._token is not None
            return self._token

    async def _load(self) -> None:
        token, expires_at = await self._fetch()
        self.fetches += 1
        self._token = token
        self._expires_at = expires_at


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def oauth_client_credentials(
    client: httpx.AsyncClient, token_url: str, client_id: str, client_secret: str
) -> tuple[str, float]:
    """An OAuth2 client-credentials token (scope `openid`): (token, renewal time)."""
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": client_secret,
        "scope": "openid",
    }
    response = await client.post(token_url, data=form)
    if response.status_code >= 400:
        raise ProviderHTTPError.from_response(response)
    data = response.json()
    return str(data["access_token"]), renew_at(time.time() + float(data.get("expires_in") or 300))


def renew_at(expires_at: float) -> float:
    """When to renew a token that expires at `expires_at`: a minute early, or a tenth of its
    lifetime for short-lived ones (use with `TokenCache(margin=0)`)."""
    lifetime = max(0.0, expires_at - time.time())
    return expires_at - min(60.0, lifetime / 10)


@asynccontextmanager
async def open_sse_authed(
    client: httpx.AsyncClient,
    url: str,
    tokens: TokenCache,
    auth: AuthHeaders,
    *,
    json: Any,
    rejected: Collection[int] = (401,),
) -> AsyncIterator[tuple[EventSource, str]]:
    """POST and open an SSE stream; on a `rejected` status refresh the token once and retry.

    Yields the stream and the token it was opened with (to refresh if the stream rejects it).
    """
    token = await tokens.get()
    for attempt in range(2):
        opened = False
        try:
            async with open_sse(client, "POST", url, json=json, headers=dict(auth(token))) as src:
                opened = True
                yield src, token
                return
        except ProviderHTTPError as exc:
            if opened or attempt or exc.status not in rejected:
                raise
        token = await tokens.refresh(token)


async def request_authed(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    tokens: TokenCache,
    auth: AuthHeaders,
    *,
    rejected: Collection[int] = (401,),
    **kwargs: Any,
) -> httpx.Response:
    """Send a request; on a `rejected` status refresh the token once and retry.

    Returns the last response whatever its status: callers decide what an error means.
    """
    token = await tokens.get()
    response = await client.request(method, url, headers=dict(auth(token)), **kwargs)
    if response.status_code in rejected:
        token = await tokens.refresh(token)
        response = await client.request(method, url, headers=dict(auth(token)), **kwargs)
    return response
