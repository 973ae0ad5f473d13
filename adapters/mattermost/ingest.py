"""Mattermost posts in, bridge posts out: the thread policy, the stop reaction, and the posts
that arrived while the WebSocket was down.

A root post that @mentions the bot opens a thread conversation under it (thread = the root
post's id); later posts in that thread need no mention. In a direct message (channel type D)
every root post opens its own thread. The bot's posts, other bots' (`props.from_bot`) and
system posts (a non-empty `type`) are ignored. Every replica's socket gets every event, in
order: each hands every post to the core, which accepts a post once and carries out a command
once; a reaction is taken by the one replica that claims it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from redis.exceptions import RedisError

from adapters.mattermost.api import ApiError, MattermostAPI
from adapters.mattermost.commands import mattermost_replies
from adapters.mattermost.feedback import Feedback, vote_of
from adapters.mattermost.format import mentions, strip_mention
from adapters.mattermost.history import thread_history
from adapters.mattermost.state import AdapterState
from bridge.contracts import Core, Incoming, NameLookup, ThreadKey, UserPost
from bridge.contracts.backoff import exponential

log = logging.getLogger(__name__)

PLATFORM = "mattermost"
DM_TENANT = "@direct"
"""Direct and group messages belong to no team."""
STOP_REACTIONS = {"octagonal_sign", "stop_sign", "black_square_for_stop", "no_entry"}
REDIS_RETRY_SECONDS = 600.0
CHANNELS_KEPT = 4096


@dataclass(frozen=True, slots=True)
class Bot:
    id: str
    username: str


@dataclass(frozen=True, slots=True)
class Where:
    """A channel's type (O, P, D, G) and team ("" for D and G)."""

    type: str
    team: str

    @property
    def tenant(self) -> str:
        return self.team or DM_TENANT


def read_post(
    post: dict[str, Any],
    where: Where,
    bot: Bot,
    mentioned_ids: list[str],
    name_of: Callable[[str], NameLookup] | None = None,
) -> Incoming | None:
    """The thread a post belongs to and whether it opens one; None to ignore it (a root post
    that opens no thread is in none the bridge could be in)."""
    author = str(post.get("user_id") or "")
    props = post.get("props") or {}
    if post.get("type") or not author or author == bot.id:
        return None
    if str(props.get("from_bot", "")).lower() == "true":
        return None
    message = str(post.get("message") or "")
    direct = where.type == "D"
    mentioned = mentions(message, bot.username) or (bot.id in mentioned_ids and not direct)
    post_id = str(post["id"])
    root = str(post.get("root_id") or "") or post_id
    key = ThreadKey(PLATFORM, where.tenant, str(post["channel_id"]), root)
    text = strip_mention(message, bot.username)
    created = float(post.get("create_at") or 0) / 1000.0
    user_post = UserPost(key, post_id, author, text, created)
    starts = mentioned or (direct and root == post_id)
    if root == post_id and not starts:
        return None
    named = name_of(author) if name_of is not None else None
    return Incoming(user_post, starts, addressed=mentioned or direct, author_name=named)


class MattermostIngest:
    """Every `posted` and `reaction_added` event, and every post recovered by REST."""

    def __init__(self, core: Core, api: MattermostAPI, bot: Bot, state: AdapterState) -> None:
        self._core = core
        self._api = api
        self._bot = bot
        self._state = state
        self._where: OrderedDict[str, Where] = OrderedDict()
        self._names: dict[str, str] = {}
        self._feedback = Feedback(core, api, bot.id)

    async def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        data = event.get("data") or {}
        if kind == "posted":
            post = json.loads(data.get("post") or "{}")
            if not post.get("id"):
                return
            where = Where(str(data.get("channel_type") or ""), str(data.get("team_id") or ""))
            self._remember(str(post.get("channel_id")), where)
            mentioned = json.loads(data.get("mentions") or "[]")
            await self.handle(post, where, mentioned)
        elif kind == "reaction_added":
            await self.on_reaction(json.loads(data.get("reaction") or "{}"))

    async def handle(self, post: dict[str, Any], where: Where, mentioned: list[str]) -> None:
        """Accept durably; while Redis is down, keep retrying (nothing redelivers an event)."""
        deadline = time.monotonic() + REDIS_RETRY_SECONDS
        for attempt in itertools.count():
            try:
                await self._handle_once(post, where, mentioned)
                return
            except RedisError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(exponential(attempt, base=0.5, cap=10.0))

    async def _handle_once(self, post: dict[str, Any], where: Where, mentioned: list[str]) -> None:
        incoming = read_post(post, where, self._bot, mentioned, self._name_of)
        if incoming is not None:
            replies = mattermost_replies(self._api, self._bot.id, incoming.post)
            history = thread_history(
                self._api, incoming.post, self._bot.id, self._bot.username, self._name_of
            )
            await self._core.post(replace(incoming, history=history), replies)
        created = int(post.get("create_at") or 0)
        await self._state.seen(where.tenant, str(post["channel_id"]), created)

    def _name_of(self, user_id: str) -> NameLookup:
        async def name() -> str:
            if user_id not in self._names:
                try:
                    user = await self._api.call("GET", f"/users/{user_id}")
                    self._names[user_id] = str(user.get("username") or user_id)
                except ApiError:
                    return user_id
            return self._names[user_id]

        return name

    async def on_reaction(self, reaction: dict[str, Any]) -> None:
        """A stop reaction on one of the bot's replies stops that reply, on any replica; a
        thumbs up/down is feedback on it, taken by the one replica that claims it."""
        user = reaction.get("user_id")
        stop = reaction.get("emoji_name") in STOP_REACTIONS
        vote = vote_of(reaction)
        if not (stop or vote) or not user or user == self._bot.id:
            return
        channel = str(reaction.get("channel_id") or "")
        where = await self.where(channel)
        if where is None:
            return
        post_id = str(reaction.get("post_id") or "")
        if vote is not None:
            claim = f"feedback:{post_id}:{user}:{reaction.get('create_at')}"
            if await self._state.claim(where.tenant, claim):
                await self._feedback.take(reaction, where.tenant, vote)
            return
        if not await self._core.stop_by_reply(PLATFORM, where.tenant, channel, post_id):
            log.info("stop reaction on %s, which is no reply the bridge knows", post_id)

    async def where(self, channel: str) -> Where | None:
        """The channel's type and team, remembered from its events or asked once."""
        if channel in self._where:
            return self._where[channel]
        try:
            found = await self._api.call("GET", f"/channels/{channel}")
        except ApiError as exc:
            log.info("could not look up channel %s: %s", channel, exc)
            return None
        where = Where(str(found.get("type") or ""), str(found.get("team_id") or ""))
        self._remember(channel, where)
        return where

    def _remember(self, channel: str, where: Where) -> None:
        self._where[channel] = where
        while len(self._where) > CHANNELS_KEPT:
            self._where.popitem(last=False)

    async def recover(self) -> int:
        """Fetch what each channel got since its last post seen, and take it in order.

        `GET /api/v4/channels/{id}/posts?since=<ms>` returns the posts created or changed
        after that time; edits (the bot's own patches among them) are left out by their
        `create_at`, and anything taken before is absorbed by the inbox's dedupe."""
        taken = 0
        for _tenant, channel, since in await self._state.cursors():
            try:
                listing = await self._api.call(
                    "GET", f"/channels/{channel}/posts", params={"since": str(since)}
                )
            except ApiError as exc:
                log.warning("could not recover posts of channel %s: %s", channel, exc)
                continue
            posts = sorted(
                (p for p in (listing.get("posts") or {}).values() if p.get("create_at", 0) > since),
                key=lambda p: int(p.get("create_at") or 0),
            )
            where = await self.where(channel) if posts else None
            for post in posts:
                if where is None or post.get("delete_at"):
                    continue
                await self.handle(post, where, [])
                taken += 1
        return taken
