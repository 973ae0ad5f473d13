"""What the neuroflash provider sends, when it tries again, and what it tells the user."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from bridge.contracts import ReplyFailed, UserPost
from bridge.contracts.backoff import exponential
from bridge.contracts.toolkit.sse import ProviderHTTPError, error_text
from bridge.contracts.toolkit.waits import WaitBudgetSpent
from providers.neuroflash.settings import NeuroflashSettings

log = logging.getLogger("providers.neuroflash")

OPEN_BUDGET = 30.0
"""Seconds spent re-opening one stream (409 while the previous stream closes, 429, 5xx)."""
TRANSIENT_RETRIES = 3
RATE_LIMIT_RETRIES = 5
CREDENTIALS = "NEUROFLASH_CLIENT_ID, NEUROFLASH_CLIENT_SECRET and NEUROFLASH_WORKSPACE_ID"


class NeuroflashError(Exception):
    """neuroflash answered in a way the bridge cannot use; the message is shown as is."""


WIRE_NAMES = {
    "personality": "personality",
    "personality_id": "personalityId",
    "brand_voice": "brandVoiceId",
    "target_audience": "targetAudienceId",
    "model": "modelName",
}
"""Channel steering names (`/threadbridge config`) → the v1 API's field names."""
PATCH_KEYS = ("personality", "personalityId", "brandVoiceId", "targetAudienceId")
"""What PATCH on a live conversation takes (seed 002); the model is fixed at creation."""


def wire_steering(steering: Mapping[str, str]) -> dict[str, str]:
    return {WIRE_NAMES.get(key, key): value for key, value in steering.items()}


PROMPT_KEYS = ("system_prompt", "personality")
"""Steering that sets the `personality` text, the API's one free-text field "woven into the
system prompt" (seed 002), most specific first."""


def personality(
    settings: NeuroflashSettings, system_prompt: str, steering: Mapping[str, str]
) -> str | None:
    """The conversation's personality text: the channel's `system_prompt`, else its
    `personality`, else NEUROFLASH_PERSONALITY, else BRIDGE_SYSTEM_PROMPT (`system_prompt`)."""
    channel = [steering.get(key) for key in PROMPT_KEYS]
    deployment = [settings.personality, system_prompt]
    return next((text for text in [*channel, *deployment] if text), None)


def patch_body(
    settings: NeuroflashSettings,
    system_prompt: str,
    steering: Mapping[str, str],
    changes: Mapping[str, str],
) -> dict[str, Any]:
    """The PATCH body for `changes` to a conversation steered by `steering`; an empty value
    clears the field (null), and a changed prompt sends the personality now in force."""
    wire = wire_steering(changes)
    body = {key: (wire[key] or None) for key in PATCH_KEYS if key in wire}
    if any(key in changes for key in PROMPT_KEYS):
        body["personality"] = personality(settings, system_prompt, {**steering, **changes})
    return body


def steering_body(
    settings: NeuroflashSettings, system_prompt: str, steering: Mapping[str, str]
) -> dict[str, Any]:
    """The create-conversation body: the settings' steering, overridden by the thread's."""
    prompt = personality(settings, system_prompt, steering)
    steering = wire_steering(steering)
    body: dict[str, Any] = {
        "personality": prompt,
        "personalityId": settings.personality_id,
        "brandVoiceId": settings.brand_voice_id,
        "targetAudienceId": settings.target_audience_id,
        "modelName": settings.model_name,
    }
    for key in body.keys() - {"personality"}:
        if key in steering:
            body[key] = steering[key] or None
    if body["personalityId"] is not None:
        try:
            body["personalityId"] = int(body["personalityId"])
        except ValueError:
            raise NeuroflashError(
                f"personalityId must be a whole number, not {body['personalityId']!r}"
            ) from None
    return {key: value for key, value in body.items() if value is not None and value != ""}


def message_body(post: UserPost, context_size: int | None) -> dict[str, Any]:
    """The message for `post`; its id is stable, so sending it twice replays the first answer.
    `createdAt` is UTC in the seed's own form (`2026-05-01T09:01:30`, no zone)."""
    created = datetime.fromtimestamp(post.ts, UTC).replace(tzinfo=None)
    body: dict[str, Any] = {
        "id": post.message_uuid,
        "text": post.text or "\n".join(post.attachments),
        "createdAt": created.isoformat(timespec="seconds"),
    }
    if context_size:
        body["contextSize"] = context_size
    return body


class OpenRetry:
    """When to open a stream again: after 409 (the last stream is still closing), 429 and
    5xx/network trouble, within `OPEN_BUDGET` seconds.

    Safe, because the idempotent message id turns a second attempt into a replay.
    """

    def __init__(self) -> None:
        self._started = time.monotonic()
        self._tries: Counter[str] = Counter()

    def delay(self, error: Exception) -> float | None:
        """Seconds to wait before the next attempt, or None to give up."""
        wait = self._wait(error)
        if wait is None or time.monotonic() - self._started + wait > OPEN_BUDGET:
            return None
        return wait

    def _wait(self, error: Exception) -> float | None:
        if isinstance(error, ProviderHTTPError) and error.status == 409:
            code = error.body.get("code") if isinstance(error.body, dict) else None
            if code not in (None, "conversationLocked"):
                return None
            return exponential(self._count("locked"), base=0.1, cap=1.0)
        if isinstance(error, ProviderHTTPError) and error.status == 429:
            tries = self._count("limited")
            if tries >= RATE_LIMIT_RETRIES:
                return None
            asked = error.retry_after
            return asked if asked is not None else exponential(tries, base=1.0, cap=10.0)
        if isinstance(error, ProviderHTTPError) and error.status < 500:
            return None
        tries = self._count("transient")
        return exponential(tries, base=0.25) if tries < TRANSIENT_RETRIES else None

    def _count(self, kind: str) -> int:
        self._tries[kind] += 1
        return self._tries[kind] - 1


def failure(exc: Exception) -> ReplyFailed:
    """What the user reads when a reply could not be had."""
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, NeuroflashError):
        return ReplyFailed(str(exc), retryable=False, detail=detail)
    if isinstance(exc, ProviderHTTPError):
        return _http_failure(exc)
    if isinstance(exc, WaitBudgetSpent):
        message = "neuroflash is busy; please try again in a moment."
        return ReplyFailed(message, retryable=True, code="wait_budget", detail=detail)
    if isinstance(exc, httpx.TimeoutException):
        message = "neuroflash did not answer in time; please try again."
        return ReplyFailed(message, retryable=True, detail=detail)
    if isinstance(exc, httpx.HTTPError):
        message = "The connection to neuroflash failed; please try again."
        return ReplyFailed(message, retryable=True, detail=detail)
    log.exception("neuroflash: unexpected error", exc_info=exc)
    return ReplyFailed("neuroflash failed unexpectedly; please try again.", retryable=True)


def _http_failure(exc: ProviderHTTPError) -> ReplyFailed:
    """The user's words for an HTTP error; status and body go to `detail` (the log) only."""
    status = exc.status
    detail = f"HTTP {status}: {error_text(exc.body) or 'no details'}"
    if status in (401, 403):
        message = "neuroflash did not accept the bridge's credentials; please tell the operator."
        return ReplyFailed(message, code=f"http_{status}", detail=f"{detail}; check {CREDENTIALS}")
    if status == 404:
        message = "neuroflash no longer knows this conversation; please start a new thread."
        return ReplyFailed(message, code="http_404", detail=detail)
    if status == 409:
        message = "neuroflash is still busy with an earlier answer here; try again shortly."
        return ReplyFailed(message, retryable=True, code="conversationLocked", detail=detail)
    if exc.retryable:
        message = "neuroflash is having trouble; please try again shortly."
        return ReplyFailed(message, retryable=True, code=f"http_{status}", detail=detail)
    return ReplyFailed("neuroflash refused the message.", code=f"http_{status}", detail=detail)
