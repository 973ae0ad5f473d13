"""What happens to a message an adapter picked up: a command, a post to record, a refusal,
or nothing.

Adapters decide which thread a message belongs to and whether it opens one; the rest is the
same on every messenger and lives here. A refused post gets one short reply (through the
adapter's `say`) and never reaches the inbox, so no provider ever sees it.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from bridge import context
from bridge.commands import ADMIN_COMMANDS, parse_command, run_command
from bridge.contracts import AUTHOR_TENANT, Command, Earlier, Incoming, Rate, Replies, UserPost
from bridge.hub_view import HubView

log = logging.getLogger(__name__)

EMPTY_HINT = "👋 Write your question after the mention, and I will answer here."
REFUSED = "🚫 Sorry, I am not enabled for you here."
ADMIN_ONLY = "🔒 Only workspace admins can change the channel's settings."
NOT_CONFIGURED = "⚠️ The provider `{name}` is not configured on this bridge."
RATE_NOTICE = "⏳ You are posting faster than {limit} messages a minute; please wait a moment."
TOO_LONG = "✂️ That message is {size:,} characters long; I can take at most {limit:,}."


async def take(hub: HubView, incoming: Incoming, replies: Replies) -> None:
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
    command = parse_command(post.text)
    if command is not None:
        if await hub.claim_command(thread, post.message_id):
            await _command(hub, incoming, command, replies)
        return
    if incoming.enrich is not None:
        post = await incoming.enrich(post)
    if not incoming.addressed and await _mentions_only(hub, thread.scope):
        return
    refusal = await _refusal(hub, post)
    if refusal is not None:
        if refusal:
            await _say_once(hub, post, replies, refusal)
        return
    earlier = await _earlier(hub, incoming, post)
    post = with_files(await _named(hub, incoming, post, named=bool(earlier)))
    post = context.with_context(post, earlier, hub.settings.bridge_max_post_chars)
    if not await hub.accept(post, starts_thread=incoming.starts_thread):
        log.debug("post %s was seen before (a retry or a replay)", post.message_id)
        return
    await hub.set_last_thread(thread.scope, post.author, thread)


async def _command(hub: HubView, incoming: Incoming, command: Command, replies: Replies) -> None:
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


async def _refusal(hub: HubView, post: UserPost) -> str | None:
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


async def _say_once(hub: HubView, post: UserPost, replies: Replies, text: str) -> None:
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


async def _mentions_only(hub: HubView, scope: str) -> bool:
    settings = await hub.channel_settings(scope)
    return settings.get("reply_mode") == "mentions"


async def _earlier(hub: HubView, incoming: Incoming, post: UserPost) -> list[Earlier]:
    """The thread's earlier posts when this post brings the bot into a thread that has some."""
    limit = hub.settings.bridge_context_posts
    if incoming.history is None or not incoming.starts_thread or limit == 0:
        return []
    if await hub.is_thread(post.thread):
        return []
    timeout = hub.settings.bridge_context_timeout_seconds
    found = await context.fetch(incoming.history, post, hub.metrics, limit=limit, timeout=timeout)
    for user in dict.fromkeys(e.user for e in found if e.user):
        await hub.add_participant(post.thread, user)
    return list(found)


async def _named(
    hub: HubView, incoming: Incoming, post: UserPost, *, named: bool = False
) -> UserPost:
    """The post, its text led by the author's name once more than one person posts here (or
    `named`: after earlier posts that name theirs)."""
    people = await hub.add_participant(post.thread, post.author)
    if (people < 2 and not named) or incoming.author_name is None:
        return post
    name = (await incoming.author_name()).strip() or post.author
    extra = {**post.extra, "author_name": name}
    return replace(post, text=f"{name}: {post.text}", extra=extra)
