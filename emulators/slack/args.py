"""Reading Web API arguments the way Slack accepts them: query, form or JSON, token anywhere.

slack_sdk sends some methods as query parameters on a POST (`auth.test`, `reactions.add`,
`apps.connections.open`), others as JSON (`chat.*`), and form fields carry JSON as strings.
"""

from __future__ import annotations

import json
from typing import Any

from emulators.base import Call

TEXT_LIMIT = 40_000
MARKDOWN_LIMIT = 12_000


class ApiError(Exception):
    """A Slack error answer: HTTP 200 with `{"ok": false, "error": code}`."""

    def __init__(self, code: str, **fields: str) -> None:
        super().__init__(code)
        self.code = code
        self.fields = fields
        """More of the error answer (missing_scope names the `needed` and `provided` scopes)."""


def call_args(call: Call) -> dict[str, Any]:
    """Query parameters and body fields of `call`, merged (the body wins)."""
    args: dict[str, Any] = dict(call.query)
    if isinstance(call.body, dict):
        args.update(call.body)
    return args


def call_token(call: Call, args: dict[str, Any]) -> str | None:
    """The token from `Authorization: Bearer …`, else from a `token` argument."""
    header = call.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[len("Bearer ") :].strip()
    token = args.get("token")
    return token if isinstance(token, str) and token else None


def text_arg(args: dict[str, Any], key: str) -> str | None:
    """A non-empty string argument, or None."""
    value = args.get(key)
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def bool_arg(args: dict[str, Any], key: str) -> bool | None:
    """A boolean argument as Slack reads one from JSON, a form or a query (`true`/`1`,
    `false`/`0`), or None when it was not sent."""
    value = args.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1")


def required(args: dict[str, Any], key: str, error: str = "invalid_arguments") -> str:
    value = text_arg(args, key)
    if value is None:
        raise ApiError(error)
    return value


def json_list(args: dict[str, Any], key: str) -> list[Any] | None:
    """A list argument, decoding it when a form sent it as a JSON string."""
    value = args.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ApiError(f"invalid_{key}") from exc
    if not isinstance(value, list):
        raise ApiError(f"invalid_{key}")
    return value


def blocks_text(blocks: list[Any]) -> str:
    """A fallback text for a message sent with blocks only, as Slack derives one."""
    parts: list[str] = []
    for block in blocks:
        text = block.get("text") if isinstance(block, dict) else None
        if isinstance(text, dict):
            text = text.get("text")
        if isinstance(text, str):
            parts.append(text)
    return "\n".join(parts)


def message_content(
    args: dict[str, Any], markdown_limit: int = MARKDOWN_LIMIT
) -> tuple[str, str | None, list[Any] | None]:
    """Validate text / markdown_text / blocks like chat.postMessage; (text, markdown, blocks).

    Slack documents 40,000 characters for `text` and 12,000 for `markdown_text` (method reference
    of chat.postMessage); `markdown_limit` may be set lower to reproduce the `msg_too_long`
    Slack answers in practice for long messages.
    """
    text = text_arg(args, "text")
    markdown = text_arg(args, "markdown_text")
    blocks = json_list(args, "blocks")
    if markdown is not None and (text is not None or blocks is not None):
        raise ApiError("markdown_text_conflict")
    if markdown is not None:
        if len(markdown) > markdown_limit:
            raise ApiError("msg_too_long")
        return markdown, markdown, None
    if text is not None and len(text) > TEXT_LIMIT:
        raise ApiError("msg_too_long")
    if blocks is not None and _markdown_in(blocks) > markdown_limit:
        raise ApiError("msg_too_long")
    if text is None and blocks is None and json_list(args, "attachments") is None:
        raise ApiError("no_text")
    return (text if text is not None else blocks_text(blocks or [])), None, blocks


def _markdown_in(blocks: list[Any]) -> int:
    """Characters in a payload's `markdown` blocks: "The cumulative limit for all markdown
    blocks in a single payload is 12,000 characters" (Block Kit reference, markdown block);
    held to `markdown_limit` like `markdown_text`, the same text rendered the same way."""
    return sum(
        len(str(b.get("text") or ""))
        for b in blocks
        if isinstance(b, dict) and b.get("type") == "markdown"
    )


def stream_text(args: dict[str, Any]) -> str:
    """The markdown one stream call adds: `markdown_text` plus any markdown_text chunks."""
    parts = [text_arg(args, "markdown_text") or ""]
    for chunk in json_list(args, "chunks") or []:
        if isinstance(chunk, dict) and chunk.get("type") == "markdown_text":
            parts.append(str(chunk.get("text") or ""))
    text = "".join(parts)
    if len(text) > MARKDOWN_LIMIT:
        raise ApiError("msg_too_long")
    return text
