"""In-thread commands a user can give the bot on Slack: `stop` and `reset`."""

from __future__ import annotations

COMMANDS = ("stop", "reset")


def parse_command(text: str) -> str | None:
    """The command a post consists of (`stop`, `reset`, optionally with a leading slash)."""
    word = text.strip().lower().lstrip("/!").rstrip(".!")
    return word if word in COMMANDS else None
