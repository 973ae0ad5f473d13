"""Reading neuroflash v1 stream events, whose shapes the seed leaves open (DESIGN §2).

An event's type comes from a `type`/`event` key or the SSE event field; a delta carries its text
in `delta`, `text` or `content`; a final payload's `text` is authoritative; an error has
`message`/`error` and maybe `code`. Unknown types are skipped. Everything here is pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bridge.contracts import ReplyDone, ReplyEvent, ReplyFailed, TextDelta
from bridge.contracts.toolkit.sse import error_text, parse_data

_DELTA = {"delta", "message_delta", "text_delta", "content_delta", "token", "chunk", "partial"}
_FINAL = {"message", "final", "done", "complete", "completed", "end", "message_end"}
_FINAL |= {"message_complete", "message_completed"}
_ERROR = {"error", "failed", "failure", "message_error"}
_RETRYABLE_CODES = {
    "internal",
    "internalerror",
    "unavailable",
    "serviceunavailable",
    "overloaded",
    "modeloverloaded",
    "timeout",
    "ratelimited",
    "toomanyrequests",
    "generationfailed",
    "upstreamerror",
}


class MalformedEvent(ValueError):
    """An event whose data is not valid JSON."""


def parse_event(sse_event: str, data: str) -> ReplyEvent | None:
    """One SSE event as a reply event: a delta, the final payload, an error, or None to skip.

    Raises `MalformedEvent` when the data is not JSON, so the caller can log and skip it.
    """
    try:
        payload = parse_data(data)
    except ValueError as exc:
        raise MalformedEvent(str(exc)) from None
    if payload is None:
        return None
    kind = event_kind(sse_event, payload)
    if kind in _DELTA:
        text = text_in(payload)
        return TextDelta(text) if text else None
    if kind in _FINAL:
        return _final(payload)
    if kind in _ERROR:
        code = error_code(payload)
        detail = error_text(payload) or "no details"
        message = "neuroflash could not finish the answer."
        return ReplyFailed(message, retryable=retryable_code(code), code=code, detail=detail)
    return None


def event_kind(sse_event: str, payload: Mapping[str, Any]) -> str:
    """The event's type: a `type`/`event` key, else the SSE event field, else the payload's shape.

    httpx-sse names unnamed events "message", so that name alone proves nothing.
    """
    for key in ("type", "event"):
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return _normal(value)
    name = _normal(sse_event)
    if name and name != "message":
        return name
    if "delta" in payload or "content" in payload:
        return "delta"
    nested = payload.get("message")
    if "text" not in payload and isinstance(nested, Mapping) and "text" in nested:
        return "message"
    if "error" in payload or ("message" in payload and "text" not in payload):
        return "error"
    if "text" in payload:
        return "message" if "source" in payload or "createdAt" in payload else "delta"
    return ""


def error_code(payload: Mapping[str, Any]) -> str | None:
    """An error's `code`, at the top or inside an `error` object."""
    for where in (payload, payload.get("error")):
        if isinstance(where, Mapping) and where.get("code") is not None:
            return str(where["code"])
    return None


def text_in(payload: Mapping[str, Any]) -> str | None:
    """The text a delta carries in `delta`, `text` or `content` (also one level nested)."""
    for key in ("delta", "text", "content"):
        value = payload.get(key)
        if isinstance(value, str):
            return value
        if isinstance(value, Mapping):
            nested = text_in(value)
            if nested is not None:
                return nested
    return None


def retryable_code(code: str | None) -> bool:
    """Whether an error code names a passing condition (overload, timeout, internal error)."""
    return code is not None and _normal(code).replace("_", "") in _RETRYABLE_CODES


def reply_after(messages: Sequence[Mapping[str, Any]], message_id: str) -> ReplyDone | None:
    """The assistant message that answers user message `message_id` in a chronological history."""
    found = False
    for message in messages:
        if not found:
            found = message.get("id") == message_id
        elif _normal(str(message.get("source") or "")) == "user":
            return None
        elif isinstance(message.get("text"), str):
            return ReplyDone(text=message["text"], message_id=_str_or_none(message.get("id")))
    return None


def _final(payload: Mapping[str, Any]) -> ReplyDone | None:
    nested = payload.get("message")
    if "text" not in payload and isinstance(nested, Mapping):
        payload = nested
    if _normal(str(payload.get("source") or "")) == "user":
        return None
    text = payload.get("text")
    return ReplyDone(
        text=text if isinstance(text, str) else None,
        message_id=_str_or_none(payload.get("id")),
    )


def _normal(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(".", "_")


def _str_or_none(value: Any) -> str | None:
    return str(value) if value is not None else None
