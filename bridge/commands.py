"""Commands a user can give in a thread, the same on every messenger: `stop` and `reset`."""

from __future__ import annotations

from bridge.hub import Hub
from bridge.models import ThreadKey

COMMANDS = ("stop", "reset")


def parse_command(text: str) -> str | None:
    """The command a post consists of (`stop`, `reset`, optionally `/stop` or `!reset`)."""
    word = text.strip().lower().lstrip("/!").rstrip(".!")
    return word if word in COMMANDS else None


async def run_command(hub: Hub, thread: ThreadKey, command: str) -> None:
    """`stop` ends the reply streaming in the thread (on any replica); `reset` starts over."""
    if command == "stop":
        await hub.stop(thread)
    elif command == "reset":
        await hub.reset(thread)
