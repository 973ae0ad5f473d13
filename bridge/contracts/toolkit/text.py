"""Small text helpers shared by adapters and providers: a thread's title, a safe URL segment."""

from __future__ import annotations

from urllib.parse import quote


def first_words(text: str, limit: int, fallback: str = "Conversation") -> str:
    """The leading whole words of `text` that fit in `limit` characters (a thread's title)."""
    name = ""
    for word in text.split():
        candidate = f"{name} {word}".strip()
        if len(candidate) > limit:
            break
        name = candidate
    return name or fallback


def segment(value: str) -> str:
    """An id made safe to be one URL path segment."""
    return quote(value, safe="")
