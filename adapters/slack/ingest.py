"""Slack events in, posts out: which messages the bridge answers, and in which thread.

A mention opens (or joins) a thread under the message; later posts in that thread need no
mention; a DM's top-level message opens a thread in the DM. The bot's own messages, other
bots and edit/delete echoes are ignored. The post is recorded before Slack gets its ack.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import assistant
from adapters.slack.commands import slack_replies
from adapters.slack.files import FileHosts, inline_images
from adapters.slack.format import mentions, strip_mention
from adapters.slack.history import Pace, ThreadHistory
from adapters.slack.limits import SlackLimits
from adapters.slack.people import People
from adapters.slack.settings import SlackSettings
from bridge.contracts import AUTHOR_TENANT, Attachment, Core, Incoming, ThreadKey, UserPost

log = logging.getLogger(__name__)

ANSWERED_SUBTYPES = {None, "file_share", "thread_broadcast"}
Installed = Callable[[str], Awaitable[bool]]
"""Whether the app is installed in a workspace (OAuth distribution mode)."""
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
    attached = tuple(_attachment(f) for f in event_files(event))
    names = tuple(a.name for a in attached)
    extra = _author_team(event, team)
    post = UserPost(
        key, str(ts), str(user), body, float(ts), attachments=names, files=attached, extra=extra
    )
    return Incoming(post, starts_thread=mentioned or direct, addressed=mentioned or direct)


def event_files(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The event's file objects, in order (one `Attachment` each)."""
    return [f for f in event.get("files") or [] if isinstance(f, dict)]


def _author_team(event: dict[str, Any], team: str) -> dict[str, str]:
    """The author's own team when it is not the workspace (Slack Connect, Enterprise Grid):
    chat.startStream's `recipient_team_id` is "the team the user … belongs to"."""
    user_team = event.get("user_team")
    if isinstance(user_team, str) and user_team and user_team != team:
        return {AUTHOR_TENANT: user_team}
    return {}


def _attachment(file: dict[str, Any]) -> Attachment:
    """A Slack file as a named link (its permalink; Slack keeps the file itself private)."""
    name = str(file.get("name") or file.get("title") or file.get("id") or "file")
    url = str(file.get("permalink") or file.get("url_private") or "")
    return Attachment(name, url, str(file.get("mimetype") or ""), private=True)


class SlackIngest:
    """Registered as bolt listeners; each call ends once the post is durably accepted."""

    def __init__(
        self,
        hub: Core,
        client: AsyncWebClient,
        bot_user_id: str,
        team: str,
        installed: Installed | None = None,
        pace: Pace | None = None,
    ) -> None:
        self._hub = hub
        self._client = client
        self._bot = bot_user_id
        self._team = team
        self._installed = installed
        self._people = People()
        self._history = ThreadHistory(pace or Pace(15, 1.0), hub.budget, self._people)
        self._file_hosts = FileHosts.for_api(client.base_url)

    async def tenant(self, body: dict[str, Any], event: dict[str, Any]) -> str | None:
        """The event's workspace, or None to drop it: with one bot token only the token's own
        workspace (auth.test) is served; with OAuth installs every installed workspace is."""
        team = str(body.get("team_id") or event.get("team") or "")
        if self._installed is None:
            if not team or team == self._team:
                return self._team
        elif team and await self._installed(team):
            return team
        log.warning("dropped an event of a foreign Slack workspace")
        self._hub.meter.inc("events_dropped_total", platform="slack", reason="foreign_team")
        return None

    async def handle(
        self,
        event: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient | None = None,
        bot_user_id: str = "",
    ) -> None:
        """`client` and `bot_user_id` are the workspace's, as bolt authorized the event."""
        team = await self.tenant(body, event)
        if team is None:
            return
        incoming = read_event(event, team, bot_user_id or self._bot)
        if incoming is None:
            return
        incoming = await assistant.mark(self._hub, incoming, event)
        web = self.web(client)
        replies = slack_replies(web, incoming.post)
        lookup = self._people.name(web, team, incoming.post.author)
        history = self._history.lookup(web, team, event, bot_user_id or self._bot)

        async def enrich(post: UserPost) -> UserPost:
            return await self._enrich(web, team, post, event)

        incoming = replace(incoming, author_name=lookup, enrich=enrich, history=history)
        await self._hub.post(incoming, replies)

    def assistant_threads(
        self, limits: SlackLimits, settings: SlackSettings
    ) -> assistant.AssistantThreads:
        """The listeners of AI-app threads, on this ingest's tenants, people and clients."""
        return assistant.AssistantThreads(
            self._hub, self.tenant, self._people, limits, settings.suggested_prompts, self.web
        )

    def web(self, client: AsyncWebClient | None) -> AsyncWebClient:
        """Bolt's client for the event's workspace with OAuth installs; with one bot token the
        adapter's own, which outlives the event (bolt makes a client per event), so the
        users.info answers cached for it (names, locales, admin flags) are found again."""
        if self._installed is None or client is None:
            return self._client
        return client

    async def _enrich(
        self, web: AsyncWebClient, team: str, post: UserPost, event: dict[str, Any]
    ) -> UserPost:
        """Add what only Slack's API knows: the author's locale, small images' content."""
        _, locale = await self._people.get(web, team, post.author)
        if locale:
            post = replace(post, extra={**post.extra, "locale": locale})
        if any(f.is_image for f in post.files):
            post = await inline_images(web, post, event_files(event), self._file_hosts)
        return post

    async def handle_reaction(
        self, event: dict[str, Any], body: dict[str, Any], bot_user_id: str = ""
    ) -> None:
        """A stop reaction on one of the bot's replies stops that reply, on any replica."""
        item = event.get("item") or {}
        bot = bot_user_id or self._bot
        if event.get("reaction") not in STOP_REACTIONS or event.get("user") == bot:
            return
        if item.get("type") != "message" or not item.get("ts"):
            return
        team = await self.tenant(body, event)
        if team is None:
            return
        channel = str(item.get("channel") or "")
        await self._hub.stop_by_reply("slack", team, channel, str(item["ts"]))
