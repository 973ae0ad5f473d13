"""Bearer tokens shared by every reply of one process: fetched once per validity period,
refreshed a little before expiry, and refreshed at most once when the provider rejects one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

TokenFetch = Callable[[], Awaitable[tuple[str, float]]]
"""Returns (token, absolute expiry as UNIX seconds)."""


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
