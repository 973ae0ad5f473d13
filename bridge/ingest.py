"""What happens to a message an adapter picked up: a command, a post to record, a refusal,
or nothing.

Adapters decide which thread a message belongs to and whether it opens one; the rest is the
same on every messenger and lives here. A refused post gets one short reply (through the
adapter's `say`) and never reaches the inbox, so no provider ever sees it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from bridge.commands import ADMIN_COMMANDS, Command, parse_command, run_command
from bridge.contracts import AUTHOR_TENANT, Core, Rate, UserPost

log = logging.getLogger(__name__)

Confirm = Callable[[Command, bool], Awaitable[None]]
"""Shows the user that a command was carried out (True) or refused (False)."""
Say = Callable[[str], Awaitable[None]]
"""Posts one short message in the post's thread (refusals and hints; errors are logged)."""
IsAdmin = Callable[[], Awaitable[bool]]
"""Whether the post's author is an admin of the workspace/guild, as the platform tells."""

EMPTY_HINT = "👋 Write your question after the mention, and I will answer here."
REFUSED = "🚫 Sorry, I am not enabled for you here."
ADMIN_ONLY = "🔒 Only workspace admins can change the channel's settings."
NOT_CONFIGURED = "⚠️ The provider `{name}` is not configured on this bridge."
RATE_NOTICE = "⏳ You are posting faster than {limit} messages a minute; please wait a moment."
TOO_LONG = "✂️ That message is {size:,} characters long; I can take at most {limit:,}."


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


@dataclass(frozen=True, slots=True)
class Replies:
    """The adapter's ways of answering a message outside a reply."""

    confirm: Confirm
    say: Say
    is_admin: IsAdmin


async def take(hub: Core, incoming: Incoming, replies: Replies) -> None:
    """Carry out a command, refuse the post, or record it durably; ignore threads the bridge
    is not in."""
    post = incoming.post
    thread = post.thread
    if not incoming.starts_thread and not await hub.is_thread(thread):
        return
    if not hub.access.allows(thread, post.author, post.extra.get(AUTHOR_TENANT, "")):
        hub.metrics.inc("posts_refused_total", platform=thread.platform, reason="access")
        await _say_once(hub, post, replies, REFUSED)
        return
    command = incoming.command
    if command is not None:
        await _command(hub, incoming, command, replies)
        return
    if not incoming.addressed and await _mentions_only(hub, thread.scope):
        return
    refusal = await _refusal(hub, post)
    if refusal is not None:
        if refusal:
            await _say_once(hub, post, replies, refusal)
        return
    post = with_files(await _named(hub, incoming))
    if not await hub.accept(post, starts_thread=incoming.starts_thread):
        log.debug("post %s was seen before (a retry or a replay)", post.message_id)
        return
    await hub.set_last_thread(thread.scope, post.author, thread)


async def _command(hub: Core, incoming: Incoming, command: Command, replies: Replies) -> None:
    author = incoming.post.author
    if command.name in ADMIN_COMMANDS and not await hub.access.is_admin(author, replies.is_admin):
        hub.metrics.inc("commands_refused_total", platform=incoming.post.thread.platform)
        await replies.confirm(command, False)
        await _say_once(hub, incoming.post, replies, ADMIN_ONLY)
        return
    if command.name == "provider" and not hub.provider_configured(command.arg):
        await replies.confirm(command, False)
        await _say_once(hub, incoming.post, replies, NOT_CONFIGURED.format(name=command.arg))
        return
    await replies.confirm(command, await run_command(hub, incoming.post.thread, command))


async def _refusal(hub: Core, post: UserPost) -> str | None:
    """Why `post` is not forwarded ("" = refused silently), or None to forward it."""
    if not post.text.strip() and not post.attachments:
        hub.metrics.inc("posts_refused_total", platform=post.thread.platform, reason="empty")
        return EMPTY_HINT
    limit = hub.settings.bridge_max_post_chars
    if len(post.text) > limit:
        hub.metrics.inc("posts_refused_total", platform=post.thread.platform, reason="too_long")
        return TOO_LONG.format(size=len(post.text), limit=limit)
    rate = await hub.access.rate(post.thread, post.author, post.message_id)
    if rate is Rate.OK:
        return None
    hub.metrics.inc("posts_refused_total", platform=post.thread.platform, reason="rate")
    if rate is Rate.NOTICE:
        return RATE_NOTICE.format(limit=hub.access.posts_per_minute)
    return ""


async def _say_once(hub: Core, post: UserPost, replies: Replies, text: str) -> None:
    """Answer `post` with `text` unless another delivery of the same post already did."""
    if await hub.claim_notice(post.thread, post.message_id):
        await replies.say(text)


def with_files(post: UserPost) -> UserPost:
    """The post with a line per attached file (name and link), so no provider drops one."""
    if not post.files:
        return post
    lines = [f"[{f.name}]({f.url})" if f.url else f"[{f.name}]" for f in post.files]
    text = "\n".join([post.text, "", "Attachments:", *lines]).lstrip("\n")
    return replace(post, text=text)


async def _mentions_only(hub: Core, scope: str) -> bool:
    settings = await hub.channel_settings(scope)
    return settings.get("reply_mode") == "mentions"


async def _named(hub: Core, incoming: Incoming) -> UserPost:
    """The post, its text led by the author's name once more than one person posts here."""
    post = incoming.post
    people = await hub.add_participant(post.thread, post.author)
    if people < 2 or incoming.author_name is None:
        return post
    name = (await incoming.author_name()).strip() or post.author
    extra = {**post.extra, "author_name": name}
    return replace(post, text=f"{name}: {post.text}", extra=extra)
