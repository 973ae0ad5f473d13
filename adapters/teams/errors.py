"""What each Bot Connector refusal means for the bridge.

Status codes and error codes from Microsoft's references: 413 `MessageSizeTooBig` (…/bots/how-to/
format/format-your-bot-messages: "approximately 100 KB") is written in smaller pages; 403
`ContentStreamNotAllowed` "Message size too large" likewise (…/bots/streaming-ux, "Error
codes"); 429, 412, 502, 504 are retried (…/bots/how-to/rate-limit) and so are other 5xx and
network errors (the core bounds retries and dead-letters the post); 400 `BadRequest` is the
content refused (INVALID); 401, 403 and 404 (no permission, the bot removed, the conversation
or message gone) give up (GONE). Streaming's own refusals are handled by the surface, which
falls back to post + edit.
"""

from __future__ import annotations

import asyncio

import aiohttp

from adapters.teams.connector import RETRIED, ConnectorError
from adapters.teams.token import TokenRefused
from bridge.contracts import GONE, INVALID, RETRY, TOO_LONG, WriteRejected

STREAM_NOT_ALLOWED = "ContentStreamNotAllowed"
TOO_LARGE = "Message size too large"


def too_large(error: ConnectorError) -> bool:
    return error.status == 413 or (error.code == STREAM_NOT_ALLOWED and TOO_LARGE in error.message)


def classify(exc: Exception) -> WriteRejected | None:
    """The core's reading of a failed call; None if `exc` is not a messenger error."""
    if isinstance(exc, ConnectorError):
        name = f"http_{exc.status}/{exc.code}"
        if too_large(exc):
            return WriteRejected(TOO_LONG, name)
        if exc.status in RETRIED or exc.status >= 500:
            return WriteRejected(RETRY, name)
        if exc.status == 400:
            return WriteRejected(INVALID, name)
        if exc.status in (401, 403, 404):
            return WriteRejected(GONE, name)
        return WriteRejected(RETRY, name)
    if isinstance(exc, TokenRefused):
        return WriteRejected(GONE, "token_refused")
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError):
        return WriteRejected(RETRY, type(exc).__name__)
    return None
