"""The Mattermost REST API v4 as the adapter calls it: one aiohttp session, the bot token,
the server's rate limiter read from every answer and respected through the shared budget.

The server limits requests per token (GCRA; `X-Ratelimit-Limit` is its burst + 1,
`X-Ratelimit-Remaining`, `X-Ratelimit-Reset`, and `Retry-After` on a 429 whose body is the
plain text "limit exceeded": server/channels/app/ratelimit.go). One budget scope per server
and token holds every reply write of every replica, at a little under the configured rate,
its burst lowered to what the server's header says; a 429 pauses that scope for its
Retry-After everywhere, and the write is tried again after it. 5xx answers are retried with
backoff; a post creation carries a `pending_post_id` so a retry after a lost answer is
recognised by the server instead of posting twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from yarl import URL

from bridge.contracts import Allowance, EditRate, Permits, Priority, join_ids
from bridge.contracts.backoff import backoff
from bridge.contracts.toolkit.waits import capped_wait

log = logging.getLogger(__name__)

RATE_MARGIN = 0.9
"""Refill a little under the server's rate: requests outside the budget (start-up, recovery,
reactions) count on the same limiter."""
BURST_SPARE = 10
"""Of the server's burst, this much is left to the requests that take no permit."""
MAX_RATE_LIMITED = 8
MAX_SERVER_ERRORS = 3
TIMEOUT = aiohttp.ClientTimeout(total=30, connect=10)


class ApiError(Exception):
    """A refused request: HTTP `status`, the server's error `id` and message."""

    def __init__(
        self, status: int, error_id: str, message: str, retry_after: float | None = None
    ) -> None:
        super().__init__(f"HTTP {status} {error_id}: {message}")
        self.status = status
        self.error_id = error_id
        self.message = message
        self.retry_after = retry_after


@dataclass
class ServerLimits:
    """The server's limiter as the budget paces it: one scope per server and token."""

    scope: str
    per_second: float
    burst: int
    learned: int | None = field(default=None)

    @classmethod
    def of(cls, base_url: str, token: str, per_second: float, burst: int) -> ServerLimits:
        digest = hashlib.sha256(token.encode()).hexdigest()[:12]
        host = URL(base_url).host or "server"
        return cls(join_ids("mattermost", host, digest), per_second, burst)

    def allowance(self) -> Allowance:
        burst = min(self.burst, self.learned if self.learned is not None else self.burst)
        usable = max(1.0, float(burst - BURST_SPARE) if burst > 2 * BURST_SPARE else burst / 2)
        return Allowance(self.scope, EditRate(self.per_second * RATE_MARGIN, burst=usable), "api")

    def read(self, headers: Any) -> None:
        """Learn the burst the server allows from `X-Ratelimit-Limit` (its burst + 1)."""
        value = headers.get("X-Ratelimit-Limit")
        if value is None:
            return
        try:
            limit = int(value)
        except ValueError:
            return
        if limit > 0 and self.learned != limit - 1:
            self.learned = max(1, limit - 1)
            log.info("Mattermost rate limiter: burst %d", self.learned)


class MattermostAPI:
    """REST calls with the bot token; budgeted writes wait for a permit before each retry."""

    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, token: str, limits: ServerLimits
    ) -> None:
        self.session = session
        self.base = base_url.rstrip("/") + "/api/v4"
        self._headers = {"Authorization": f"Bearer {token}"}
        self.limits = limits
        self.budget: Permits | None = None

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        retry_priority: Priority | None = None,
    ) -> Any:
        """The answer's JSON; `ApiError` once the server refused for good (or too often).

        `retry_priority`: the call is a reply write; before trying again after a 429 or a
        5xx it takes a permit of the shared budget at this priority."""
        limited = errors = 0
        while True:
            try:
                return await self._once(method, path, body, params)
            except ApiError as exc:
                if exc.status == 429 and limited < MAX_RATE_LIMITED:
                    limited += 1
                    wait = capped_wait(exc.retry_after)
                    log.warning("Mattermost rate-limited %s %s for %.1fs", method, path, wait)
                    if self.budget is not None:
                        await self.budget.pause(self.limits.allowance(), wait)
                    await asyncio.sleep(wait)
                elif exc.status >= 500 and errors < MAX_SERVER_ERRORS:
                    errors += 1
                    await asyncio.sleep(backoff(errors, base=0.25, cap=4.0))
                else:
                    raise
            if retry_priority is not None and self.budget is not None:
                await self.budget.acquire((self.limits.allowance(),), priority=retry_priority)

    async def _once(self, method: str, path: str, body: Any, params: dict[str, str] | None) -> Any:
        async with self.session.request(
            method, self.base + path, json=body, params=params, headers=self._headers
        ) as response:
            self.limits.read(response.headers)
            if response.status < 400:
                if response.content_type == "application/json":
                    return await response.json()
                return await response.text()
            raise await _refusal(response)


async def _refusal(response: aiohttp.ClientResponse) -> ApiError:
    """The server's error body (`{id, message, status_code}`), or its text (a 429's)."""
    text = await response.text()
    error_id, message = f"http_{response.status}", text[:200]
    if response.content_type == "application/json":
        try:
            data = await response.json()
            error_id = str(data.get("id") or error_id)
            message = str(data.get("message") or message)
        except (ValueError, aiohttp.ContentTypeError):
            pass
    retry_after = None
    if response.status == 429:
        retry_after = capped_wait(response.headers.get("Retry-After"))
    return ApiError(response.status, error_id, message, retry_after)
