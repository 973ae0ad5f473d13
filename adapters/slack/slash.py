"""`/threadbridge <sub>` on Slack (Socket Mode or HTTP), answered ephemerally.

Slack sends a slash command without the thread it was typed in, so thread subcommands act on
the thread whose link (*Copy link* on a message) follows the subcommand, else on the thread the
user last posted in, in this channel. Slack wants the ack within 3 s (bolt: "call ack() right
away before initiating any time-consuming processes"): an answer not ready within
`ANSWER_WITHIN` is acked with a short notice and follows through the command's `response_url`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlparse

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.access import is_member, is_slack_admin, note_user
from adapters.slack.ingest import SlackIngest
from bridge.contracts import Check, Core, Invocation, Link, ThreadKey, channel_scope

log = logging.getLogger(__name__)

COMMAND = "/threadbridge"
PERMALINK = re.compile(r"/archives/([A-Z0-9]+)/p(\d{10})(\d{6})")
T = TypeVar("T")
ANSWER_WITHIN = 2.0
"""Seconds an answer may take to go out with the ack; Slack drops an ack after 3 s."""


def register(app: AsyncApp, hub: Core, ingest: SlackIngest, tasks: set[asyncio.Task[Any]]) -> None:
    """`tasks` owns the commands still running after their ack (the adapter cancels them)."""

    async def on_command(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        if await ingest.tenant(body, {}) is None:
            await ack()
            return
        work = _owned(tasks, answer_command(hub, body, ingest.web(client)))
        done, _ = await asyncio.wait({work}, timeout=ANSWER_WITHIN)
        if done:
            await ack(text=work.result(), response_type="ephemeral")
            return
        working = hub.text("command_working")
        await ack(text=working, response_type="ephemeral")
        _owned(tasks, _respond_later(work, respond))

    app.command(COMMAND)(on_command)


def _owned(tasks: set[asyncio.Task[Any]], work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """Start `work` as a task held in `tasks` until it ends."""
    task = asyncio.create_task(work)
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return task


async def _respond_later(work: asyncio.Task[str], respond: AsyncRespond) -> None:
    """Send a slow command's answer through its `response_url`, ephemeral like the ack."""
    try:
        answer = await work
        await respond(text=answer, response_type="ephemeral")
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("slash command answered after its ack failed")


async def answer_command(hub: Core, body: dict[str, Any], client: AsyncWebClient) -> str:
    team, channel = str(body.get("team_id") or ""), str(body.get("channel_id") or "")
    user = str(body.get("user_id") or "")
    scope = channel_scope("slack", team, channel)
    words = str(body.get("text") or "").split()
    linked = [thread_of_link(team, w.strip("<>").split("|")[0]) for w in words]
    thread = next((t for t in linked if t is not None), None)
    words = [w for w, t in zip(words, linked, strict=True) if t is None]

    async def admin() -> bool:
        return await is_slack_admin(client, team, user)

    invocation = Invocation(
        scope=scope,
        thread=thread,
        user=user,
        words=tuple(words),
        locale=await user_locale(client, team, user),
        is_admin=admin,
        command=str(body.get("command") or COMMAND),
        link=None if thread is None else slack_link(client, thread, user, admin),
        last_thread=True,
    )
    return await hub.command(invocation)


def slack_link(client: AsyncWebClient, thread: ThreadKey, user: str, admin: Check) -> Link:
    """Who may reach a linked Slack thread: its conversation's members; workspace admins and
    owners too, except in a DM (a `D…` conversation), which is only its two participants'."""

    async def member() -> bool:
        return await is_member(client, thread.channel, user)

    return Link(thread, member, direct=thread.channel.startswith("D"), admin=admin)


def thread_of_link(team: str, word: str) -> ThreadKey | None:
    """The thread a Slack message link points at (its `thread_ts`, else the message itself)."""
    if "/archives/" not in word:
        return None
    url = urlparse(word)
    match = PERMALINK.search(url.path)
    if match is None:
        return None
    channel, seconds, micros = match.groups()
    thread_ts = parse_qs(url.query).get("thread_ts", [f"{seconds}.{micros}"])[0]
    return ThreadKey("slack", team, channel, thread_ts)


async def user_locale(client: AsyncWebClient, team: str, user: str) -> str | None:
    """The user's Slack locale (users.info with include_locale), None if Slack does not say."""
    try:
        response = await client.users_info(user=user, include_locale=True)
    except SlackApiError as exc:
        log.info("users.info failed for a locale: %s", exc.response.get("error"))
        return None
    info = response.get("user") or {}
    note_user(client, team, user, info)
    locale = info.get("locale")
    return str(locale) if locale else None
