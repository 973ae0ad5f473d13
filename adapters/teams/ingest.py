"""Teams activities in, posts out: the thread policy.

Channel (`conversationType: channel`): a post that @mentions the bot starts a thread
conversation, keyed by the channel and the thread's root message id (the `;messageid=` part of
the conversation id, or the post's own id for a root post); later posts in that thread continue
it without a mention (the app's resource-specific consent `ChannelMessage.Read.Group` lets
Teams send them). Group chat: one conversation per chat, started by a mention. Personal chat:
one conversation per chat (`/threadbridge new`, or `new` alone, starts a fresh one). The
bot's own activities and everything but messages are ignored; Teams' redeliveries of one
activity keep its id, so the inbox's dedupe answers it once.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from adapters.teams.commands import teams_replies
from adapters.teams.controls import invoke_answer, stop_press
from adapters.teams.feedback import is_feedback, read_press
from adapters.teams.format import strip_mentions
from adapters.teams.slash import command_words, run_text_command
from adapters.teams.talk import Talk
from bridge.contracts import Core, Incoming, ThreadKey, UserPost

log = logging.getLogger(__name__)

THREAD_MARK = ";messageid="


def where(activity: dict[str, Any]) -> tuple[str, str, str, str]:
    """(tenant, conversation type, base conversation id, thread root or "")."""
    conversation = activity.get("conversation") or {}
    data = activity.get("channelData") or {}
    tenant = str(conversation.get("tenantId") or (data.get("tenant") or {}).get("id") or "")
    kind = str(conversation.get("conversationType") or "personal")
    base, _, root = str(conversation.get("id") or "").partition(THREAD_MARK)
    return tenant, kind, base, root


def read_activity(activity: dict[str, Any]) -> Incoming | None:
    """The post a message activity makes, or None if the bridge should not look at it."""
    if activity.get("type") != "message" or activity.get("value") is not None:
        return None
    bot = str((activity.get("recipient") or {}).get("id") or "")
    author = activity.get("from") or {}
    if not bot or author.get("id") == bot or author.get("role") == "bot":
        return None
    tenant, kind, base, root = where(activity)
    message_id = str(activity.get("id") or "")
    if not tenant or not base or not message_id:
        return None
    text, mentioned = strip_mentions(str(activity.get("text") or ""), activity, bot)
    if kind == "channel":
        root = root or message_id
        thread = ThreadKey("teams", tenant, base, root)
        reply_to, starts = f"{base}{THREAD_MARK}{root}", mentioned
    else:
        thread = ThreadKey("teams", tenant, base, base)
        reply_to, starts = base, kind == "personal" or mentioned
    extra = {
        "service_url": str(activity.get("serviceUrl") or ""),
        "reply_to": reply_to,
        "conversation_type": kind,
    }
    post = UserPost(thread, message_id, str(author.get("id") or ""), text, _ts(activity), (), extra)
    name = str(author.get("name") or "")

    async def author_name() -> str:
        return name

    return Incoming(post, starts, mentioned or kind == "personal", author_name)


def _ts(activity: dict[str, Any]) -> float:
    try:
        return datetime.fromisoformat(str(activity.get("timestamp"))).timestamp()
    except ValueError:
        return 0.0


class TeamsIngest:
    """Called for every authenticated activity; returns an invoke response body, if any."""

    def __init__(self, core: Core, talk: Talk) -> None:
        self._core = core
        self._talk = talk

    async def handle(self, activity: dict[str, Any]) -> dict[str, Any] | None:
        if is_feedback(activity):
            await self._feedback(activity)
            return None
        card = stop_press(activity)
        if card is not None:
            tenant, _, base, _ = where(activity)
            stopped = await self._core.stop_by_reply("teams", tenant, base, card)
            if not stopped:
                log.info("stop pressed on %s, which is no reply the bridge knows", card)
            return invoke_answer(stopped) if activity.get("type") == "invoke" else None
        incoming = read_activity(activity)
        if incoming is None:
            return None
        post = incoming.post
        words = command_words(post.text, post.extra["conversation_type"])
        if words is not None:
            await run_text_command(self._core, self._talk, incoming, words)
            return None
        await self._core.post(incoming, teams_replies(self._talk, post))
        return None

    async def _feedback(self, activity: dict[str, Any]) -> None:
        """Hand a press of the feedback loop to the core; Teams thanks the person itself."""
        tenant, _, base, root = where(activity)
        press = read_press(activity, tenant, base, root)
        if press is None:
            log.info("a Teams feedback press without a message or reaction was ignored")
            return
        answer = await self._core.feedback(press)
        log.debug("Teams feedback on %s answered: %s", press.message_id, answer)
