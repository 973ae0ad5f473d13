"""Commands a user can give in a thread, the same on every messenger.

`stop` ends the running reply, `reset` starts a new conversation, `policy queue|interrupt|merge`
sets what the channel does with posts that arrive while a reply runs, and `provider NAME` sets
the provider new threads of the channel use (a thread keeps the provider it started with).
"""

from __future__ import annotations

import re

from bridge.config import BUSY_POLICIES
from bridge.contracts import Command, ThreadKey
from bridge.hub_view import HubView

PROVIDER_NAME = re.compile(r"[a-z0-9_.-]{1,64}")
"""A provider name is echoed in a refusal, so it can never carry markup or a mention."""

ADMIN_COMMANDS = frozenset({"policy", "provider"})
"""Commands that change the channel's settings: for workspace/guild admins only."""


def parse_command(text: str) -> Command | None:
    """The command a post consists of (optionally written `/stop` or `!reset`), else None."""
    words = text.strip().lower().lstrip("/!").rstrip(".!").split()
    if len(words) == 1 and words[0] in ("stop", "reset"):
        return Command(words[0])
    if len(words) == 2 and words[0] == "policy" and words[1] in BUSY_POLICIES:
        return Command("policy", words[1])
    if len(words) == 2 and words[0] == "provider" and PROVIDER_NAME.fullmatch(words[1]):
        return Command("provider", words[1])
    return None


async def run_command(hub: HubView, thread: ThreadKey, command: Command) -> bool:
    """Carry out `command` in `thread`; False if it was refused (a provider not configured).

    Who may give a command is checked before (bridge/ingest.py)."""
    if command.name == "stop":
        await hub.stop(thread)
    elif command.name == "reset":
        await hub.reset(thread)
    elif command.name == "policy":
        await hub.set_channel_setting(thread.scope, "busy_policy", command.arg)
    elif command.name == "provider":
        if not hub.provider_configured(command.arg):
            return False
        await hub.set_channel_setting(thread.scope, "provider", command.arg)
    return True
