"""The Web API methods the bridge uses: `POST /api/<method>`, answered as Slack answers.

Order per call: record, injected fault, unknown method, token check, rate limit, handler.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulators.base import Fault, json_response
from emulators.slack import assistant, streams
from emulators.slack.args import (
    ApiError,
    bool_arg,
    call_args,
    call_token,
    message_content,
    required,
    text_arg,
)
from emulators.slack.commands import users_info
from emulators.slack.members import conversations_members
from emulators.slack.oauth import caller, oauth_v2_access, team_of_token
from emulators.slack.state import Message, message_object
from emulators.slack.streams import own_message

if TYPE_CHECKING:
    from emulators.slack.emulator import SlackEmulator

Handler = Callable[["SlackEmulator", dict[str, Any]], dict[str, Any]]

APP_TOKEN_METHODS = frozenset({"apps.connections.open"})


async def handle(emu: SlackEmulator, request: web.Request) -> web.StreamResponse:
    """Answer one Web API call."""
    method = request.match_info["method"]
    call = await emu.record(request)
    fault = emu.take_fault(method)
    if fault is not None:
        answer = await _apply_fault(emu, method, fault, request)
        if answer is not None:
            return answer
    if method == "oauth.v2.access":
        try:
            body = oauth_v2_access(emu, call_args(call), call.headers.get("Authorization", ""))
        except ApiError as exc:
            return json_response({"ok": False, "error": exc.code})
        return json_response({"ok": True, **body})
    handler = HANDLERS.get(method)
    if handler is None:
        return json_response({"ok": False, "error": "unknown_method", "req_method": method}, 404)
    args = call_args(call)
    token = call_token(call, args)
    error = _auth_error(emu, method, token)
    if error is not None:
        return json_response({"ok": False, "error": error})
    team = team_of_token(emu, token or "") or emu.teams[emu.team_id]
    args["_team"] = team
    channel = str(args.get("channel") or args.get("channel_id") or "")
    retry_after = emu.limits.check(team.team_id, method, channel)
    if retry_after is not None:
        return _ratelimited(emu, method, retry_after)
    scopes = _scopes_header(emu, method)
    try:
        return json_response({"ok": True, **handler(emu, args)}, headers=scopes)
    except ApiError as exc:
        return json_response({"ok": False, "error": exc.code, **exc.fields}, headers=scopes)


def _scopes_header(emu: SlackEmulator, method: str) -> dict[str, str]:
    """Slack lists the calling token's scopes in the `X-OAuth-Scopes` header of every Web API
    answer (beside `X-Accepted-OAuth-Scopes`; @slack/web-api exposes it as
    `response_metadata.scopes`): the one way to read an existing token's scopes."""
    scopes = ["connections:write"] if method in APP_TOKEN_METHODS else emu.bot_scopes
    return {"X-OAuth-Scopes": ",".join(scopes)}


def _auth_error(emu: SlackEmulator, method: str, token: str | None) -> str | None:
    if token is None:
        return "not_authed"
    team = team_of_token(emu, token)
    if team is not None and team.revoked:
        return "token_revoked"
    if method in APP_TOKEN_METHODS:
        return None if token == emu.app_token else _wrong_type(team is not None)
    if team is not None:
        return None
    return _wrong_type(token == emu.app_token)


def _wrong_type(known: bool) -> str:
    return "not_allowed_token_type" if known else "invalid_auth"


def _ratelimited(emu: SlackEmulator, method: str, retry_after: int) -> web.Response:
    emu.rate_limited[method] += 1
    return json_response(
        {"ok": False, "error": "ratelimited"}, 429, {"Retry-After": str(retry_after)}
    )


async def _apply_fault(
    emu: SlackEmulator, method: str, fault: Fault, request: web.Request
) -> web.StreamResponse | None:
    """Misbehave as queued: "status" (HTTP error), "error" (Slack error code), "disconnect";
    "slow" only delays the call, which then goes through (None): Slack answering it late."""
    if fault.delay:
        await asyncio.sleep(fault.delay)
    if fault.kind == "slow":
        return None
    if fault.kind == "disconnect":
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=500)
    if fault.kind == "error":
        return json_response({"ok": False, "error": str(fault.body or "internal_error")})
    if fault.status == 429:
        emu.rate_limited[method] += 1
        headers = {"Retry-After": "1", **fault.headers}
        body = fault.body if fault.body is not None else {"ok": False, "error": "ratelimited"}
        return json_response(body, 429, headers)
    body = fault.body if fault.body is not None else {"ok": False, "error": "internal_error"}
    return json_response(body, fault.status, fault.headers)


def auth_test(emu: SlackEmulator, args: dict[str, Any]) -> dict[str, Any]:
    team = caller(emu, args)
    return {
        "url": "https://emulated.slack.com/",
        "team": "Emulated Workspace",
        "user": "bridge-bot",
        "team_id": team.team_id,
        "user_id": team.bot_user_id,
        "bot_id": team.bot_id,
        "is_enterprise_install": False,
    }


def apps_connections_open(emu: SlackEmulator, args: dict[str, Any]) -> dict[str, Any]:
    return {"url": emu.socket.issue_url(emu.url)}


def chat_post_message(emu: SlackEmulator, args: dict[str, Any]) -> dict[str, Any]:
    channel = required(args, "channel", "channel_not_found")
    text, markdown, blocks = message_content(args, emu.markdown_limit)
    team = caller(emu, args)
    message = emu.workspace.add(
        Message(
            channel=channel,
            ts=emu.workspace.next_ts(),
            user=team.bot_user_id,
            text=text,
            markdown_text=markdown,
            thread_ts=text_arg(args, "thread_ts"),
            bot_id=team.bot_id,
            blocks=blocks,
            unfurl_links=bool_arg(args, "unfurl_links"),
            unfurl_media=bool_arg(args, "unfurl_media"),
        )
    )
    emu.echo_posted(message)
    return {"channel": channel, "ts": message.ts, "message": emu.message_object(message)}


def chat_update(emu: SlackEmulator, args: dict[str, Any]) -> dict[str, Any]:
    """Edit a message. Blocks follow the chat.update reference: "If you don't include `blocks`,
    the message's previous `blocks` will only be retained if the `text` argument is not
    provided" (https://docs.slack.dev/reference/methods/chat.update), so an edit by
    `markdown_text` alone keeps the old blocks (and their buttons) on show."""
    message = own_message(emu, args, "cant_update_message")
    streams.refuse_update_while_streaming(emu, message)
    text, markdown, blocks = message_content(args, emu.markdown_limit)
    if blocks is None and text_arg(args, "text") is None:
        blocks = message.blocks
    previous = emu.message_object(message)
    message.set_text(text, markdown, blocks)
    message.edited_ts = emu.workspace.next_ts()
    emu.echo_changed(previous, message)
    return {
        "channel": message.channel,
        "ts": message.ts,
        "text": message.text,
        "message": emu.message_object(message),
    }


def chat_delete(emu: SlackEmulator, args: dict[str, Any]) -> dict[str, Any]:
    """Delete a message (https://docs.slack.dev/reference/methods/chat.delete): `channel` and
    `ts` required; "When used with a bot token, this method may delete only messages posted by
    that bot" (else `cant_delete_message`); an unknown channel is `channel_not_found`, an
    unknown `ts` `message_not_found`. The message is gone from conversations.replies and
    history, and Slack sends a `message_deleted` event (https://docs.slack.dev/reference/
    events/message/message_deleted)."""
    channel = required(args, "channel", "channel_not_found")
    if channel not in emu.workspace.channels:
        raise ApiError("channel_not_found")
    message = own_message(emu, args, "cant_delete_message")
    previous = emu.message_object(message)
    emu.workspace.remove(message)
    emu.deleted.append(message)
    emu.echo_deleted(previous, message)
    return {"channel": channel, "ts": message.ts}


def reactions_add(emu: SlackEmulator, args: dict[str, Any]) -> dict[str, Any]:
    name = required(args, "name", "invalid_name").strip(":")
    channel = required(args, "channel", "channel_not_found")
    message = emu.workspace.find(channel, required(args, "timestamp", "message_not_found"))
    if message is None:
        raise ApiError("message_not_found")
    users = message.reactions.setdefault(name, [])
    bot_user = caller(emu, args).bot_user_id
    if bot_user in users:
        raise ApiError("already_reacted")
    users.append(bot_user)
    return {}


def conversations_replies(emu: SlackEmulator, args: dict[str, Any]) -> dict[str, Any]:
    """A thread, oldest first (https://docs.slack.dev/reference/methods/conversations.replies):
    `ts` names the parent or any message of the thread; `oldest`/`latest` bound it by time
    (the bounds themselves only with `inclusive`); `limit` defaults to and is capped at 1000,
    or 15 for an app commercially distributed outside the Marketplace (`emu.non_marketplace`,
    which also gets 1 call a minute: docs.slack.dev/apis/web-api/rate-limits); pages follow
    `response_metadata.next_cursor`. A channel the app cannot see is `channel_not_found`."""
    channel = required(args, "channel", "channel_not_found")
    if channel not in emu.workspace.channels:
        raise ApiError("channel_not_found")
    message = emu.workspace.find(channel, required(args, "ts", "thread_not_found"))
    if message is None:
        raise ApiError("thread_not_found")
    thread = _in_range(emu.workspace.thread(channel, message.thread_ts or message.ts), args)
    cap = REPLIES_CAP_NON_MARKETPLACE if emu.non_marketplace else REPLIES_CAP
    start = _cursor(text_arg(args, "cursor"))
    limit = min(max(int(text_arg(args, "limit") or cap), 1), cap)
    page = thread[start : start + limit]
    more = start + limit < len(thread)
    return {
        "messages": [message_object(m, emu.workspace, emu.team_id, emu.app_id) for m in page],
        "has_more": more,
        "response_metadata": {"next_cursor": str(start + limit) if more else ""},
    }


REPLIES_CAP = 1000
REPLIES_CAP_NON_MARKETPLACE = 15


def _in_range(thread: list[Message], args: dict[str, Any]) -> list[Message]:
    """The messages between `oldest` and `latest` (each included only with `inclusive`)."""
    inclusive = bool(bool_arg(args, "inclusive"))
    oldest, latest = text_arg(args, "oldest"), text_arg(args, "latest")
    low = _ts_value(oldest) if oldest else None
    high = _ts_value(latest) if latest else None

    def inside(m: Message) -> bool:
        value = _ts_value(m.ts)
        if low is not None and (value < low or (value == low and not inclusive)):
            return False
        return high is None or value < high or (value == high and inclusive)

    return [m for m in thread if inside(m)]


def _ts_value(ts: str) -> tuple[int, int]:
    try:
        seconds, _, micros = ts.partition(".")
        return int(seconds), int(micros.ljust(6, "0")[:6] or 0)
    except ValueError as exc:
        raise ApiError("invalid_ts_latest") from exc


def _cursor(cursor: str | None) -> int:
    try:
        return int(cursor or 0)
    except ValueError as exc:
        raise ApiError("invalid_cursor") from exc


HANDLERS: dict[str, Handler] = {
    "auth.test": auth_test,
    "apps.connections.open": apps_connections_open,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.delete": chat_delete,
    "reactions.add": reactions_add,
    "conversations.replies": conversations_replies,
    "assistant.threads.setStatus": assistant.set_status,
    "assistant.threads.setTitle": assistant.set_title,
    "assistant.threads.setSuggestedPrompts": assistant.set_suggested_prompts,
    "users.info": users_info,
    "conversations.members": conversations_members,
    "chat.startStream": streams.start_stream,
    "chat.appendStream": streams.append_stream,
    "chat.stopStream": streams.stop_stream,
}
