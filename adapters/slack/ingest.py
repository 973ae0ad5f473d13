"""Slack events in, posts out: which messages the bridge answers, and in which thread.

A mention opens (or joins) a thread under the message; later posts in that thread need no
mention; a DM's top-level message opens a thread in the DM. The bot's own messages, other
bots and edit/delete echoes are ignored. The post is recorded before Slack gets its ack.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.commands import slack_replies
from adapters.slack.format import mentions, strip_mention
from bridge.hub import Hub
from bridge.ingest import Incoming, take
from bridge.models import ThreadKey, UserPost

log = logging.getLogger(__name__)

ANSWERED_SUBTYPES = {None, "file_share", "thread_broadcast"}
STOP_REACTIONS = {"octagonal_sign", "stop_sign", "black_square_for_stop", "no_entry"}


def read_event(event: dict[str, Any], team: str, bot_user_id: str) -> Incoming | None:
    """Turn a `message` or `app_mention` event into an `Incoming`, or None to ignore it."""
    if event.get("subtype") not in ANSWERED_SUBTYPES or event.get("bot_id"):
        return None
    user = event.get("user")
    channel, ts = event.get("channel"), event.get("ts")
    if not user or user == bot_user_id or not channel or not ts:
        return None
    text = str(event.get("text") or "")
    direct = event.get("channel_type") == "im"
    mentioned = event.get("type") == "app_mention" or mentions(text, bot_user_id)
    thread_ts = event.get("thread_ts")
    key = ThreadKey("slack", team, str(channel), str(thread_ts or ts))
    body = strip_mention(text, bot_user_id)
    files = tuple(str(f.get("name") or f.get("id")) for f in event.get("files") or [])
    post = UserPost(key, str(ts), str(user), body, float(ts), attachments=files)
    return Incoming(post, starts_thread=mentioned or direct)


class SlackIngest:
    """Registered as bolt listeners; each call ends once the post is durably accepted."""

    def __init__(self, hub: Hub, client: AsyncWebClient, bot_user_id: str, team: str) -> None:
        self._hub = hub
        self._client = client
        self._bot = bot_user_id
        self._team = team

    def _foreign(self, body: dict[str, Any]) -> bool:
        """An event for another workspace than the bot token's (auth.test) is dropped."""
        team = str(body.get("team_id") or "")
        if team and team != self._team:
            log.warning("dropped an event of a foreign Slack workspace")
            self._hub.metrics.inc("events_dropped_total", platform="slack", reason="foreign_team")
            return True
        return False

    async def handle(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        if self._foreign(body):
            return
        incoming = read_event(event, self._team, self._bot)
        if incoming is None:
            return
        await take(self._hub, incoming, slack_replies(self._client, incoming.post))

    async def handle_reaction(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        """A stop reaction on one of the bot's replies stops that reply, on any replica."""
        item = event.get("item") or {}
        if event.get("reaction") not in STOP_REACTIONS or event.get("user") == self._bot:
            return
        if item.get("type") != "message" or not item.get("ts") or self._foreign(body):
            return
        channel = str(item.get("channel") or "")
        await self._hub.stop_by_reply("slack", self._team, channel, str(item["ts"]))
