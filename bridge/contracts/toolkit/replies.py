"""How a provider's reply ends when something goes wrong.

`guarded` turns every kind of provider trouble into one `ReplyFailed`, so `reply()` never raises
(only cancellation propagates); `describe` words each kind for the user (the provider's body and
status go to the log only); `retry_when_busy` waits out a 429 that comes before any text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing

import httpx
from httpx_sse import SSEError

from bridge.contracts.data import ReplyEvent, ReplyFailed
from bridge.contracts.toolkit.sse import ProviderHTTPError, error_text
from bridge.contracts.toolkit.waits import WaitBudgetSpent, asked_wait

log = logging.getLogger(__name__)


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
