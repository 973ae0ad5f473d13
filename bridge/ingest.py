"""What happens to a message an adapter picked up: a command, a post to record, or nothing.

Adapters decide which thread a message belongs to and whether it opens one; the rest is the
same on every messenger and lives here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from bridge.commands import Command, parse_command, run_command
from bridge.hub import Hub
from bridge.models import UserPost

log = logging.getLogger(__name__)

Confirm = Callable[[Command, bool], Awaitable[None]]
"""Shows the user that a command was carried out (True) or refused (False)."""


NameLookup = Callable[[], Awaitable[str]]
"""The author's display name, looked up only when a second person joins the thread."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message in a thread the bridge may answer; `starts_thread` when it opens one.

    `addressed`: it mentions the bot or is a DM (a channel in mentions-only mode answers only
    those). `author_name`: how to name the author when several people share the thread.
    """

    post: UserPost
    starts_thread: bool
    addressed: bool = True
    author_name: NameLookup | None = None

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
    if not incoming.addressed and await _mentions_only(hub, thread.scope):
        return
    post = with_files(await _named(hub, incoming))
    if not await hub.accept(post, starts_thread=incoming.starts_thread):
        log.debug("post %s was seen before (a retry or a replay)", incoming.post.message_id)
        return
    await hub.store.set_last_thread(thread.scope, post.author, thread)


def with_files(post: UserPost) -> UserPost:
    """The post with a line per attached file (name and link), so no provider drops one."""
    if not post.files:
        return post
    lines = [f"[{f.name}]({f.url})" if f.url else f"[{f.name}]" for f in post.files]
    text = "\n".join([post.text, "", "Attachments:", *lines]).lstrip("\n")
    return replace(post, text=text)


async def _mentions_only(hub: Hub, scope: str) -> bool:
    settings = await hub.store.channel_settings(scope)
    return settings.get("reply_mode") == "mentions"


async def _named(hub: Hub, incoming: Incoming) -> UserPost:
    """The post, its text led by the author's name once more than one person posts here."""
    post = incoming.post
    people = await hub.store.add_participant(post.thread, post.author)
    if people < 2 or incoming.author_name is None:
        return post
    name = (await incoming.author_name()).strip() or post.author
    extra = {**post.extra, "author_name": name}
    return replace(post, text=f"{name}: {post.text}", extra=extra)
