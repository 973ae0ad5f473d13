"""Answering outside a reply on Teams: bots cannot react to a message, so a command is
confirmed, and a post refused or hinted at, with one short message in the same thread or chat
(never a mention)."""

from __future__ import annotations

from adapters.teams.access import is_teams_admin
from adapters.teams.talk import Talk
from bridge.contracts import Command, Replies, UserPost

CONFIRM = {"stop": "⏹️ Stopped.", "reset": "♻️ The next post starts a new conversation."}
DONE, REFUSED = "✅ Done.", "❌ Not done."


def teams_replies(talk: Talk, post: UserPost) -> Replies:
    async def confirm(command: Command, ok: bool) -> None:
        await talk.say(post, CONFIRM.get(command.name, DONE) if ok else REFUSED)

    async def say(text: str) -> None:
        await talk.say(post, text)

    async def is_admin() -> bool:
        return is_teams_admin()

    return Replies(confirm, say, is_admin)
