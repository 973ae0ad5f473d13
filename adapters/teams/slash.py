"""`/threadbridge <sub>` on Teams: bots have no slash commands there, so the command is a post
(`/threadbridge new`, `threadbridge status`, or from the app's command menu), and in a personal
chat `new` alone starts a fresh conversation. The answer is posted in the same thread or chat
(Teams has no message only one person sees)."""

from __future__ import annotations

import re

from adapters.teams.talk import Talk
from bridge.contracts import Core, Incoming, Invocation

PREFIX = re.compile(r"/?threadbridge\b(.*)", re.IGNORECASE | re.DOTALL)


def command_words(text: str, kind: str) -> tuple[str, ...] | None:
    """The command's words if the post is one, else None."""
    text = text.strip()
    match = PREFIX.fullmatch(text)
    if match is not None:
        return tuple(match.group(1).split())
    if kind == "personal" and text.lower().rstrip(".!") == "new":
        return ("new",)
    return None


async def run_text_command(
    core: Core, talk: Talk, incoming: Incoming, words: tuple[str, ...]
) -> None:
    """Answer the command in the post's thread or chat. A channel's root post that starts no
    conversation is in no thread; a reply in a thread, or a chat, always is."""
    post = incoming.post
    thread = post.thread
    in_thread = incoming.starts_thread or thread.thread != post.message_id

    async def is_admin() -> bool:
        return False

    invocation = Invocation(
        scope=thread.scope,
        thread=thread if in_thread else None,
        user=post.author,
        words=words,
        locale=None,
        is_admin=is_admin,
    )
    await talk.say(post, await core.command(invocation))
