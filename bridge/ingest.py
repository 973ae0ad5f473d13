"""What happens to a message an adapter picked up: a command, a post to record, or nothing.

Adapters decide which thread a message belongs to and whether it opens one; the rest is the
same on every messenger and lives here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bridge.commands import Command, parse_command, run_command
from bridge.hub import Hub
from bridge.models import UserPost

log = logging.getLogger(__name__)

Confirm = Callable[[Command, bool], Awaitable[None]]
"""Shows the user that a command was carried out (True) or refused (False)."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message in a thread the bridge may answer; `starts_thread` when it opens one."""

    post: UserPost
    starts_thread: bool

    @property
    def command(self) -> Command | None:
        return parse_command(self.post.text)


async def take(hub: Hub, incoming: Incoming, confirm: Confirm) -> None:
    """Carry out a command, or record the post durably; ignore threads the bridge is not in."""
    thread = incoming.post.thread
    if not incoming.starts_thread and not await hub.is_thread(thread):
        return
    command = incoming.command
    if command is not None:
        await confirm(command, await run_command(hub, thread, command))
        return
    if not await hub.accept(incoming.post, starts_thread=incoming.starts_thread):
        log.debug("post %s was seen before (a retry or a replay)", incoming.post.message_id)
        return
    await hub.store.set_last_thread(thread.scope, incoming.post.author, thread)
