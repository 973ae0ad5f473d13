"""What each Discord REST write error means for the bridge (create / edit message).

Codes from Discord's JSON error code table (https://discord.com/developers/docs/topics/opcodes-and-status-codes):
10003 Unknown Channel, 10008 Unknown Message, 50001 Missing Access, 50013 Missing Permissions,
50083 thread archived, 50006 empty message, 50035 Invalid Form Body (a `BASE_TYPE_MAX_LENGTH`
entry means the content is too long), 40005 request entity too large. Unknown errors are
retried: the core bounds retries and dead-letters the post.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import discord

from bridge.contracts import GONE, INVALID, RETRY, TOO_LONG, WriteRejected

UNKNOWN_CHANNEL = 10003
UNKNOWN_MESSAGE = 10008
MISSING_ACCESS = 50001
CANNOT_EDIT_OTHERS = 50005
EMPTY_MESSAGE = 50006
MISSING_PERMISSIONS = 50013
INVALID_FORM_BODY = 50035
THREAD_ARCHIVED = 50083
ENTITY_TOO_LARGE = 40005

GONE_CODES = frozenset(
    {
        UNKNOWN_CHANNEL,
        UNKNOWN_MESSAGE,
        MISSING_ACCESS,
        CANNOT_EDIT_OTHERS,
        MISSING_PERMISSIONS,
        THREAD_ARCHIVED,
    }
)


def classify(exc: Exception) -> WriteRejected | None:
    """The core's reading of a failed REST call; None if `exc` is not a messenger error."""
    if isinstance(exc, discord.HTTPException):
        code, status = exc.code, exc.status
        name = f"http_{status}/{code}"
        if code == ENTITY_TOO_LARGE or status == 413:
            return WriteRejected(TOO_LONG, name)
        if code == INVALID_FORM_BODY:
            return WriteRejected(TOO_LONG if _too_long(exc) else INVALID, name)
        if code == EMPTY_MESSAGE:
            return WriteRejected(INVALID, name)
        if code in GONE_CODES or status in (403, 404):
            return WriteRejected(GONE, name)
        return WriteRejected(RETRY, name)
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError):
        return WriteRejected(RETRY, type(exc).__name__)
    return None


def _too_long(exc: discord.HTTPException) -> bool:
    """A 50035 whose errors tree names `BASE_TYPE_MAX_LENGTH` (discord.py keeps the tree in
    `_errors`; its `text` has only the messages, "Must be 2000 or fewer in length.")."""
    tree = json.dumps(getattr(exc, "_errors", None) or {})
    return "BASE_TYPE_MAX_LENGTH" in tree or "or fewer in length" in exc.text
