"""Every messenger write error the bridge can meet has one chosen outcome."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import aiohttp
import discord
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.discord import errors as discord_errors
from adapters.slack import errors as slack_errors
from bridge.contracts import GONE, INVALID, RETRY, TOO_LONG


def slack_error(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    response = AsyncSlackResponse(
        client=None,
        http_verb="POST",
        api_url="http://127.0.0.1/api/chat.update",
        req_args={},
        data=body,
        headers=headers or {},
        status_code=status,
    )
    return SlackApiError("failed", response)


@pytest.mark.parametrize(
    ("status", "error", "kind"),
    [
        (200, "msg_too_long", TOO_LONG),
        (200, "not_in_channel", GONE),
        (200, "channel_not_found", GONE),
        (200, "is_archived", GONE),
        (200, "message_not_found", GONE),
        (200, "cant_update_message", GONE),
        (200, "edit_window_closed", GONE),
        (200, "restricted_action", GONE),
        (200, "no_text", INVALID),
        (200, "invalid_blocks", INVALID),
        # chat.update: frozen/archived channel, rich text vs other blocks, free-plan limit
        (200, "is_inactive", GONE),
        (200, "block_mismatch", INVALID),
        (200, "message_limit_exceeded", GONE),
        (200, "update_failed", RETRY),
        # chat.postMessage: no thread on this message type, DMs closed, workspace gone
        (200, "cannot_reply_to_message", GONE),
        (200, "messages_tab_disabled", GONE),
        (200, "team_not_found", GONE),
        # chat.*Stream, should one escape the surface's fallback to post / chat.update
        (200, "channel_type_not_supported", GONE),
        (200, "message_not_owned_by_app", GONE),
        (200, "streaming_mode_mismatch", INVALID),
        (200, "msg_blocks_too_many", INVALID),
        (200, "something_new", RETRY),
        (500, "internal_error", RETRY),
        (503, "service_unavailable", RETRY),
    ],
)
def test_slack_errors_are_classified(status: int, error: str, kind: str) -> None:
    rejected = slack_errors.classify(slack_error(status, {"ok": False, "error": error}))
    assert rejected is not None and (rejected.kind, rejected.code) == (kind, error)


def test_slack_ratelimited_carries_a_capped_retry_after() -> None:
    exc = slack_error(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "inf"})
    rejected = slack_errors.classify(exc)
    assert rejected is not None and (rejected.kind, rejected.retry_after) == (RETRY, 30.0)


def discord_error(status: int, body: dict[str, Any]) -> discord.HTTPException:
    return discord.HTTPException(SimpleNamespace(status=status, reason="x"), body)  # type: ignore[arg-type]


TOO_LONG_BODY = {
    "message": "Invalid Form Body",
    "code": 50035,
    "errors": {
        "content": {
            "_errors": [
                {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}
            ]
        }
    },
}


DISCORD_CASES = [
    (403, {"message": "Missing Permissions", "code": 50013}, GONE),
    (403, {"message": "Missing Access", "code": 50001}, GONE),
    (404, {"message": "Unknown Channel", "code": 10003}, GONE),
    (404, {"message": "Unknown Message", "code": 10008}, GONE),
    (400, {"message": "Thread is archived", "code": 50083}, GONE),
    (400, TOO_LONG_BODY, TOO_LONG),
    (400, {"message": "Invalid Form Body", "code": 50035, "errors": {}}, INVALID),
    (400, {"message": "Cannot send an empty message", "code": 50006}, INVALID),
    (413, {"message": "Request entity too large", "code": 40005}, TOO_LONG),
    (404, {"message": "Unknown Guild", "code": 10004}, GONE),
    (403, {"message": "Cannot edit a message authored by another user", "code": 50005}, GONE),
    (403, {"message": "Cannot send messages to this user", "code": 50007}, GONE),
    (400, {"message": "Cannot send messages in a non-text channel", "code": 50008}, GONE),
    (400, {"message": "Cannot execute action on this channel type", "code": 50024}, GONE),
    (400, {"message": "Cannot send a message in a forum channel", "code": 40058}, GONE),
    (400, {"message": "Thread is locked", "code": 160005}, GONE),
    (400, {"message": "Maximum number of active threads reached", "code": 160006}, GONE),
    (
        400,
        {"message": "Maximum number of active announcement threads reached", "code": 160007},
        GONE,
    ),
    (500, {"message": "Internal Server Error", "code": 0}, RETRY),
    (400, {"message": "This channel has hit the write rate limit", "code": 20028}, RETRY),
]


@pytest.mark.parametrize(("status", "body", "kind"), DISCORD_CASES)
def test_discord_errors_are_classified(status: int, body: dict[str, Any], kind: str) -> None:
    rejected = discord_errors.classify(discord_error(status, body))
    assert rejected is not None and rejected.kind == kind


def test_every_mapped_discord_code_is_checked() -> None:
    """A code given an outcome in `adapters.discord.errors` has a case above."""
    checked = {body["code"] for _, body, _ in DISCORD_CASES}
    assert checked >= discord_errors.MAPPED, sorted(discord_errors.MAPPED - checked)


def test_transport_errors_are_retried_and_others_left_alone() -> None:
    for classify in (slack_errors.classify, discord_errors.classify):
        rejected = classify(aiohttp.ClientConnectionError("reset"))
        assert rejected is not None and rejected.kind == RETRY
        assert classify(RuntimeError("a bug")) is None
