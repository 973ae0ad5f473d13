"""Discord's message and thread limits, answered as Discord does (400, code 50035 or 50006)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import errors

CONTENT_LIMIT = 2000
EMBED_LIMITS = {"title": 256, "description": 4096}
FIELD_LIMITS = {"name": 256, "value": 1024}
EMBEDS_PER_MESSAGE = 10
FIELDS_PER_EMBED = 25
EMBED_TOTAL = 6000
THREAD_NAME_LIMIT = 100


def check_message(body: dict[str, Any], *, creating: bool) -> web.Response | None:
    """The 400 Discord gives `body`, or None if it is acceptable."""
    content = body.get("content")
    if content is not None and len(str(content)) > CONTENT_LIMIT:
        return errors.too_long("content", CONTENT_LIMIT)
    embeds = body.get("embeds") or []
    if not isinstance(embeds, list):
        return errors.form_error("embeds", "LIST_TYPE_CONVERT", "Must be a list.")
    if len(embeds) > EMBEDS_PER_MESSAGE:
        return errors.too_long("embeds", EMBEDS_PER_MESSAGE)
    total = 0
    for index, embed in enumerate(embeds):
        invalid = _check_embed(index, embed if isinstance(embed, dict) else {})
        if invalid is not None:
            return invalid
        total += _embed_size(embed if isinstance(embed, dict) else {})
    if total > EMBED_TOTAL:
        return errors.form_error(
            "embeds", "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {EMBED_TOTAL}"
        )
    parts = ("content", "embeds", "_files", "sticker_ids", "components", "poll", "attachments")
    if creating and not any(body.get(key) for key in parts):
        return errors.error(400, errors.EMPTY_MESSAGE, "Cannot send an empty message")
    return None


def check_thread_name(name: Any) -> web.Response | None:
    if not isinstance(name, str) or not name.strip():
        return errors.form_error("name", "BASE_TYPE_REQUIRED", "This field is required")
    if len(name) > THREAD_NAME_LIMIT:
        return errors.too_long("name", THREAD_NAME_LIMIT)
    return None


def _check_embed(index: int, embed: dict[str, Any]) -> web.Response | None:
    for key, limit in EMBED_LIMITS.items():
        if len(str(embed.get(key) or "")) > limit:
            return errors.too_long(f"embeds.{index}.{key}", limit)
    fields = embed.get("fields") or []
    if len(fields) > FIELDS_PER_EMBED:
        return errors.too_long(f"embeds.{index}.fields", FIELDS_PER_EMBED)
    for number, field in enumerate(fields):
        for key, limit in FIELD_LIMITS.items():
            if len(str(field.get(key) or "")) > limit:
                return errors.too_long(f"embeds.{index}.fields.{number}.{key}", limit)
    return None


def _embed_size(embed: dict[str, Any]) -> int:
    """Characters Discord counts toward the 6,000 total (title, description, fields, ...)."""
    size = len(str(embed.get("title") or "")) + len(str(embed.get("description") or ""))
    for field in embed.get("fields") or []:
        size += len(str(field.get("name") or "")) + len(str(field.get("value") or ""))
    size += len(str((embed.get("footer") or {}).get("text") or ""))
    size += len(str((embed.get("author") or {}).get("name") or ""))
    return size
