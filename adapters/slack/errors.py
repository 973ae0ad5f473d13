"""What each Slack Web API write error means for the bridge (chat.postMessage, chat.update).

Error names from Slack's method reference (https://docs.slack.dev/reference/methods/chat.postMessage
and …/chat.update). Unknown errors are retried: the core bounds retries and dead-letters the post.
Errors of the streaming methods (chat.startStream / appendStream / stopStream) never get here
on their own: the surface finishes such a message by post or `chat.update` instead; they are
listed so that one escaping through that path is not retried in vain.
"""

from __future__ import annotations

import asyncio

import aiohttp
from slack_sdk.errors import SlackApiError

from bridge.contracts import GONE, INVALID, RETRY, TOO_LONG, WriteFailure, WriteRejected
from bridge.contracts.toolkit.waits import capped_wait

KINDS: dict[str, WriteFailure] = {
    "msg_too_long": TOO_LONG,
    "msg_blocks_too_long": TOO_LONG,
    "markdown_text_too_long": TOO_LONG,
    "ratelimited": RETRY,
    "rate_limited": RETRY,
    "internal_error": RETRY,
    "update_failed": RETRY,
    "fatal_error": RETRY,
    "service_unavailable": RETRY,
    "request_timeout": RETRY,
    "not_in_channel": GONE,
    "channel_not_found": GONE,
    "is_archived": GONE,
    "message_not_found": GONE,
    "cant_update_message": GONE,
    "edit_window_closed": GONE,
    "restricted_action": GONE,
    "restricted_action_read_only_channel": GONE,
    "restricted_action_thread_only_channel": GONE,
    "restricted_action_non_threadable_channel": GONE,
    "restricted_action_thread_locked": GONE,
    "thread_locked": GONE,
    "team_access_not_granted": GONE,
    "missing_scope": GONE,
    "not_authed": GONE,
    "invalid_auth": GONE,
    "account_inactive": GONE,
    "token_revoked": GONE,
    "token_expired": GONE,
    "no_permission": GONE,
    "access_denied": GONE,
    "ekm_access_denied": GONE,
    "not_allowed_token_type": GONE,
    "is_inactive": GONE,
    "message_limit_exceeded": GONE,
    "cannot_reply_to_message": GONE,
    "messages_tab_disabled": GONE,
    "team_not_found": GONE,
    "channel_type_not_supported": GONE,
    "message_not_owned_by_app": GONE,
    "no_text": INVALID,
    "invalid_blocks": INVALID,
    "invalid_blocks_format": INVALID,
    "invalid_attachments": INVALID,
    "too_many_attachments": INVALID,
    "markdown_text_conflict": INVALID,
    "invalid_arguments": INVALID,
    "invalid_metadata_format": INVALID,
    "invalid_metadata_schema": INVALID,
    "metadata_too_large": INVALID,
    "duplicate_message_not_found": INVALID,
    "block_mismatch": INVALID,
    "streaming_mode_mismatch": INVALID,
    "msg_blocks_too_many": INVALID,
}


def classify(exc: Exception) -> WriteRejected | None:
    """The core's reading of a failed Web API call; None if `exc` is not a messenger error."""
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        code = str(exc.response.get("error") or f"http_{status}")
        if status == 429:
            return WriteRejected(RETRY, code, capped_wait(exc.response.headers.get("Retry-After")))
        if status >= 500:
            return WriteRejected(RETRY, code)
        return WriteRejected(KINDS.get(code, RETRY), code)
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError):
        return WriteRejected(RETRY, type(exc).__name__)
    return None
