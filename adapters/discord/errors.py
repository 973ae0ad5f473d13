"""What each Discord REST write error means for the bridge (create / edit message).

Codes from Discord's JSON error code table (https://discord.com/developers/docs/topics/opcodes-and-status-codes):
10003 Unknown Channel, 10004 Unknown Guild, 10008 Unknown Message, 50001 Missing Access,
50005 Cannot edit a message authored by another user, 50007 Cannot send messages to this user,
50008 Cannot send messages in a non-text channel, 50013 Missing Permissions, 50024 Cannot execute
action on this channel type, 50083 Operation cannot be performed on an archived thread, 40058
Cannot send a message in a forum channel, 160005 Thread is locked, 160006 Maximum number of
active threads reached, 160007 Maximum number of active announcement threads reached: the
message or thread cannot be written, however often it is tried (GONE). 50006 empty message
(INVALID), 50035 Invalid Form Body (a `BASE_TYPE_MAX_LENGTH` entry means the content is too
long), 40005 request entity too large (TOO_LONG). Anything else is retried: the core bounds
retries and dead-letters the post.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import discord

from bridge.contracts import GONE, INVALID, RETRY, TOO_LONG, WriteRejected

UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
UNKNOWN_MESSAGE = 10008
MISSING_ACCESS = 50001
CANNOT_EDIT_OTHERS = 50005
EMPTY_MESSAGE = 50006
CANNOT_MESSAGE_USER = 50007
NOT_A_TEXT_CHANNEL = 50008
MISSING_PERMISSIONS = 50013
WRONG_CHANNEL_TYPE = 50024
INVALID_FORM_BODY = 50035
THREAD_ARCHIVED = 50083
ENTITY_TOO_LARGE = 40005
FORUM_CHANNEL = 40058
THREAD_LOCKED = 160005
MAX_ACTIVE_THREADS = 160006
MAX_ANNOUNCEMENT_THREADS = 160007

NO_THREAD_HERE = frozenset(
    {MISSING_PERMISSIONS, WRONG_CHANNEL_TYPE, MAX_ACTIVE_THREADS, MAX_ANNOUNCEMENT_THREADS}
)
"""Thread creation refusals that still leave the channel writable (no Create Public Threads
permission, a channel type without threads, the guild's or channel's thread limit)."""

GONE_CODES = frozenset(
    {
        UNKNOWN_CHANNEL,
        UNKNOWN_GUILD,
        UNKNOWN_MESSAGE,
        MISSING_ACCESS,
        CANNOT_EDIT_OTHERS,
        CANNOT_MESSAGE_USER,
        NOT_A_TEXT_CHANNEL,
        MISSING_PERMISSIONS,
        WRONG_CHANNEL_TYPE,
        THREAD_ARCHIVED,
        FORUM_CHANNEL,
        THREAD_LOCKED,
        MAX_ACTIVE_THREADS,
        MAX_ANNOUNCEMENT_THREADS,
    }
)
INVALID_CODES = frozenset({EMPTY_MESSAGE})
TOO_LONG_CODES = frozenset({ENTITY_TOO_LARGE})
MAPPED = GONE_CODES | INVALID_CODES | TOO_LONG_CODES | {INVALID_FORM_BODY}
"""Every code with a chosen outcome (the write-error test checks each)."""


def classify(exc: Exception) -> WriteRejected | None:
    """The core's reading of a failed REST call; None if `exc` is not a messenger error."""
    if isinstance(exc, discord.HTTPException):
        code, status = exc.code, exc.status
        name = f"http_{status}/{code}"
        if code in TOO_LONG_CODES or status == 413:
            return WriteRejected(TOO_LONG, name)
        if code == INVALID_FORM_BODY:
            return WriteRejected(TOO_LONG if _too_long(exc) else INVALID, name)
        if code in INVALID_CODES:
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
