"""What the provider modules share beyond `bridge.sse`, `bridge.http` and `auth`.

`guarded` turns every kind of provider trouble into one `ReplyFailed`, so `reply()` never raises
(only cancellation propagates); `JsonEvents` reads a stream's JSON events tolerantly; the
`*_authed` helpers retry once with a fresh token when the provider rejects the one it got.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Collection, Mapping
from contextlib import aclosing, asynccontextmanager
from typing import Any
from urllib.parse import quote

import httpx
from httpx_sse import EventSource, SSEError

from bridge.config import Settings
from bridge.contracts import ReplyEvent, ReplyFailed
from bridge.providers.auth import TokenCache
from bridge.sse import ProviderHTTPError, error_text, is_done_marker, open_sse, parse_data
from bridge.waits import WaitBudgetSpent, asked_wait

log = logging.getLogger("bridge.providers")

AuthHeaders = Callable[[str], Mapping[str, str]]
"""Builds the request headers that carry a token."""


class ProviderError(Exception):
    """The provider reported trouble; `message` is shown to the user, `detail` only logged."""

    def __init__(
        self, message: str, *, retryable: bool, code: str | None = None, detail: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.code = code
        self.detail = detail


class StreamCut(Exception):
    """The provider closed a stream before saying the answer was complete."""


class JsonEvents:
    """The JSON objects of an SSE stream, skipping what carries none.

    Comment lines never reach us (httpx-sse drops them); `event: ping`, empty data and non-object
    data are skipped; one malformed event is logged and skipped; `[DONE]` ends the iteration and
    sets `saw_done`.
    """

    def __init__(self, source: EventSource, label: str) -> None:
        self._source = source
        self._label = label
        self.saw_done = False

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        async with aclosing(self._source.aiter_sse()) as events:
            async for sse in events:
                if sse.event == "ping" or not sse.data.strip():
                    continue
                if is_done_marker(sse.data):
                    self.saw_done = True
                    return
                try:
                    value = parse_data(sse.data)
                except ValueError:
                    log.warning("%s sent a malformed event, skipped: %.200r", self._label, sse.data)
                    continue
                if value is not None:
                    yield value


async def guarded(
    label: str, events: AsyncGenerator[ReplyEvent, None], credentials: str
) -> AsyncGenerator[ReplyEvent, None]:
    """Relay `events`; end with one `ReplyFailed` instead of raising for provider trouble.

    `label` names the provider in messages; `credentials` names the settings to check on 401/403.
    Closing this generator closes `events`, and with it any open connection.
    """
    async with aclosing(events):
        try:
            async for event in events:
                yield event
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if closing(exc):
                return
            failure = describe(label, exc, credentials)
            log.info("%s reply failed: %s (%s)", label, failure.message, failure.detail)
            yield failure


BUSY_DELAYS = (1.0, 2.0, 4.0)
"""Waits between attempts when the provider answers 429 and names no Retry-After."""


async def retry_when_busy(
    attempt: Callable[[], AsyncGenerator[ReplyEvent, None]],
) -> AsyncGenerator[ReplyEvent, None]:
    """Run `attempt` again while the provider answers 429 before any event, waiting what it
    asks (capped and charged to the reply's wait budget): a rate limit is waited out, not
    reported. Once an event has been relayed, errors go on to the caller."""
    for delay in (*BUSY_DELAYS, None):
        relayed = False
        try:
            async with aclosing(attempt()) as events:
                async for event in events:
                    relayed = True
                    yield event
            return
        except ProviderHTTPError as exc:
            if relayed or delay is None or exc.status != 429:
                raise
            await asked_wait(exc.retry_after, delay)


def closing(exc: BaseException) -> bool:
    """True when `exc` arose while the reply was being closed or cancelled (cleanup failing).

    Nothing may be yielded then: the consumer is gone, and yielding would be ignored.
    """
    return isinstance(exc.__context__, GeneratorExit | asyncio.CancelledError)


def describe(label: str, exc: Exception, credentials: str) -> ReplyFailed:
    """A user-facing `ReplyFailed` for `exc`, retryable when trying again may help.

    The message is safe to show (no provider body, no status); `detail` is for the log only.
    """
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, ProviderError):
        return ReplyFailed(
            exc.message, retryable=exc.retryable, code=exc.code, detail=exc.detail or detail
        )
    if isinstance(exc, StreamCut):
        message = f"{label} stopped sending before the answer was complete. Please try again."
        return ReplyFailed(message, retryable=True, code="cut", detail=detail)
    if isinstance(exc, ProviderHTTPError):
        return http_failure(label, exc, credentials)
    if isinstance(exc, WaitBudgetSpent):
        message = f"{label} is busy; please try again in a moment."
        return ReplyFailed(message, retryable=True, code="wait_budget", detail=detail)
    if isinstance(exc, httpx.TimeoutException):
        message = f"{label} did not answer in time. Please try again."
        return ReplyFailed(message, retryable=True, detail=detail)
    if isinstance(exc, SSEError):
        message = f"{label} sent a reply that is not an event stream."
        return ReplyFailed(message, retryable=True, detail=detail)
    if isinstance(exc, httpx.HTTPError):
        message = f"{label} dropped the connection or could not be reached. Please try again."
        return ReplyFailed(message, retryable=True, detail=detail)
    if isinstance(exc, ValueError | KeyError | TypeError):
        message = f"{label} sent a reply the bridge could not read."
        return ReplyFailed(message, retryable=True, detail=detail)
    log.exception("%s: unexpected error", label, exc_info=exc)
    message = f"{label} failed unexpectedly. Please try again."
    return ReplyFailed(message, retryable=True, detail=detail)


def http_failure(label: str, exc: ProviderHTTPError, credentials: str) -> ReplyFailed:
    """What an HTTP error status means for the user; status and body go to `detail` only."""
    status = exc.status
    code = f"http_{status}"
    detail = f"HTTP {status}: {error_text(exc.body) or 'no details'}"
    if status in (401, 403):
        message = f"{label} did not accept the bridge's credentials; please tell the operator."
        return ReplyFailed(message, code=code, detail=f"{detail}; check {credentials}")
    if status == 404:
        message = f"{label} no longer knows this conversation."
        return ReplyFailed(message, code=code, detail=detail)
    if status in (408, 409, 425, 429):
        message = f"{label} is busy; please try again in a moment."
        return ReplyFailed(message, retryable=True, code=code, detail=detail)
    if status >= 500:
        message = f"{label} is having trouble; please try again in a moment."
        return ReplyFailed(message, retryable=True, code=code, detail=detail)
    message = f"{label} refused the message."
    return ReplyFailed(message, code=code, detail=detail)


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


def no_system_prompt(settings: Settings, provider: str, instead: str) -> None:
    """Warn that BRIDGE_SYSTEM_PROMPT does not reach `provider`, whose API has no field for it
    (`instead` names what steers it), rather than drop the setting without a word."""
    if settings.bridge_system_prompt:
        log.warning(
            "BRIDGE_SYSTEM_PROMPT is not sent to %s: its API takes no system prompt (%s)",
            provider,
            instead,
        )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def oauth_client_credentials(
    client: httpx.AsyncClient, token_url: str, client_id: str, client_secret: str
) -> tuple[str, float]:
    """An OAuth2 client-credentials token as neuroflash issues it: (token, renewal time)."""
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


def segment(value: str) -> str:
    """An id made safe to be one URL path segment."""
    return quote(value, safe="")
