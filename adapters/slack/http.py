"""Slack HTTP mode's request URL: the signature is checked on the raw bytes before anything
is parsed, and every malformed request gets a 4xx (never a 5xx, never a traceback).

Order: size cap, strict UTF-8, signature (slack_sdk's SignatureVerifier), then the body must
be a JSON object (or a form for interactive payloads) before slack-bolt sees it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
"""Slack's event payloads are a few kilobytes; a message is at most 40,000 characters."""


def http_handler(app: AsyncApp, signing_secret: str) -> Any:
    verifier = SignatureVerifier(signing_secret)

    async def handle(request: web.Request) -> web.Response:
        refusal = await _checked_body(request, verifier)
        if refusal is not None:
            return refusal
        try:
            response = await app.async_dispatch(await to_bolt_request(request))
        except Exception as exc:
            log.warning("Slack request refused: %s", type(exc).__name__)
            return web.Response(status=400, text="bad request")
        return await to_aiohttp_response(response)

    return handle


async def _checked_body(request: web.Request, verifier: SignatureVerifier) -> web.Response | None:
    """A 4xx answer for a request that must not be parsed, or None to pass it on."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return _refuse(413, "body too large")
    try:
        raw = await request.read()  # bounded by the app's client_max_size; bolt reuses it
    except web.HTTPRequestEntityTooLarge:
        return _refuse(413, "body too large")
    if len(raw) > MAX_BODY_BYTES:
        return _refuse(413, "body too large")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _refuse(400, "body is not UTF-8")
    if not _signed(verifier, text, request):
        return _refuse(401, "invalid signature")
    if not _well_formed(text, request.content_type):
        return _refuse(400, "malformed body")
    return None


def _signed(verifier: SignatureVerifier, text: str, request: web.Request) -> bool:
    try:
        return verifier.is_valid(
            body=text,
            timestamp=request.headers.get("X-Slack-Request-Timestamp"),
            signature=request.headers.get("X-Slack-Signature"),
        )
    except ValueError:
        return False


def _well_formed(text: str, content_type: str) -> bool:
    """A JSON object for events; forms (interactivity, slash commands) are bolt's to read."""
    if content_type == "application/x-www-form-urlencoded":
        return True
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return False
    return isinstance(value, dict) and _envelope_shaped(value)


def _envelope_shaped(body: dict[str, Any]) -> bool:
    """The fields bolt reads without checking have the types Slack documents for the
    Events API envelope (`type`, `team_id`, `api_app_id` strings; `event` an object)."""
    for name in ("type", "team_id", "api_app_id", "event_id", "token"):
        if name in body and not isinstance(body[name], str):
            return False
    event = body.get("event")
    return event is None or (isinstance(event, dict) and isinstance(event.get("type", ""), str))


def _refuse(status: int, reason: str) -> web.Response:
    log.info("Slack request refused with %d: %s", status, reason)
    return web.Response(status=status, text=reason)
