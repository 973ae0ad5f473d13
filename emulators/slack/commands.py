"""Slash commands and users, as Slack sends and answers them.

A slash command arrives form-encoded over HTTP (https://api.slack.com/interactivity/slash-commands)
or as a Socket Mode envelope of type `slash_commands`; the app's answer is the HTTP response
body or the ack's `payload`. `users.info` gives `is_admin`/`is_owner`, and `locale` only with
`include_locale=true` (https://api.slack.com/methods/users.info).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from emulators.slack.args import ApiError, required
from emulators.slack.http_events import sign
from emulators.slack.socket_mode import new_envelope_id

if TYPE_CHECKING:
    from emulators.slack.emulator import SlackEmulator


def users_info(emu: SlackEmulator, args: dict[str, Any]) -> dict[str, Any]:
    """A user object with the role flags Slack documents (is_admin, is_owner, is_primary_owner)
    and `locale` only with `include_locale`. People added with `add_user` carry their name,
    locale and workspace; any other `U…`/`W…` id is a plain member of the caller's workspace;
    `emu.admins`/`emu.owners` make anyone an admin/owner."""
    user_id = required(args, "user", "user_not_found")
    known = emu.users.get(user_id)
    if known is None and not user_id.startswith(("U", "W")):
        raise ApiError("user_not_found")
    known = known or {}
    team = args.get("_team")
    name = str(known.get("name", user_id))
    owner = user_id in emu.owners
    user: dict[str, Any] = {
        "id": user_id,
        "team_id": known.get("team_id") or (team.team_id if team else emu.team_id),
        "name": name.lower(),
        "real_name": name,
        "profile": {"display_name": name, "real_name": name},
        "deleted": False,
        "is_bot": user_id == emu.bot_user_id,
        "is_admin": owner or user_id in emu.admins or bool(known.get("is_admin")),
        "is_owner": owner or bool(known.get("is_owner")),
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
    }
    if str(args.get("include_locale", "")).lower() in ("true", "1"):
        user["locale"] = known.get("locale", "en-US")
    return {"user": user}


async def response_url(emu: SlackEmulator, request: web.Request) -> web.Response:
    """A command's `response_url`: a JSON message with `text` and `response_type` ("ephemeral"
    by default), at most 5 times within 30 minutes
    (https://api.slack.com/interactivity/handling#message_responses). Recorded, answered `ok`."""
    await emu.record(request)
    hook = request.match_info["hook"]
    if hook not in emu.command_hooks:
        return web.Response(status=404, text="no_such_hook")
    try:
        body = await request.json()
    except ValueError:
        return web.Response(status=400, text="invalid_payload")
    if sum(1 for r in emu.command_responses if r["hook"] == hook) >= 5:
        return web.Response(status=404, text="used_up")
    if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
        return web.Response(status=400, text="no_text")
    emu.command_responses.append({**body, "hook": hook})
    return web.Response(text="ok")


def command_payload(
    emu: SlackEmulator, command: str, text: str, user: str, channel: str, team_id: str
) -> dict[str, str]:
    return {
        "token": emu.verification_token,
        "team_id": team_id,
        "team_domain": "emulated",
        "channel_id": channel,
        "channel_name": channel.lower(),
        "user_id": user,
        "user_name": str(emu.users.get(user, {}).get("name", user)),
        "command": command,
        "text": text,
        "api_app_id": emu.app_id,
        "is_enterprise_install": "false",
        "response_url": f"{emu.url}/commands/{_new_hook(emu)}",
        "trigger_id": uuid.uuid4().hex,
    }


def _new_hook(emu: SlackEmulator) -> str:
    hook = uuid.uuid4().hex
    emu.command_hooks.add(hook)
    return hook


async def send_command(
    emu: SlackEmulator,
    text: str,
    *,
    user: str = "U1",
    channel: str = "C1",
    team_id: str | None = None,
    command: str = "/threadbridge",
) -> dict[str, Any]:
    """Type `command text` in `channel`; return the app's immediate answer (its JSON). The
    user types it where they are a member, so they are one from then on."""
    emu.workspace.join(channel, user)
    payload = command_payload(emu, command, text, user, channel, team_id or emu.team_id)
    if emu.http_events_url is not None:
        return await _over_http(emu, emu.http_events_url, payload)
    envelope_id = new_envelope_id()
    envelope = {
        "envelope_id": envelope_id,
        "type": "slash_commands",
        "accepts_response_payload": True,
        "payload": payload,
    }
    acked = await emu.socket.send_envelope(envelope, time.monotonic() + emu.deliver_timeout)
    if not acked:
        raise TimeoutError("the app did not ack the slash command")
    ack = next(a for a in emu.socket.acks if a.envelope_id == envelope_id)
    return dict(ack.payload or {})


async def _over_http(emu: SlackEmulator, url: str, payload: dict[str, str]) -> dict[str, Any]:
    body = urlencode(payload)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": sign(emu.signing_secret, timestamp, body),
    }
    limit = aiohttp.ClientTimeout(total=emu.deliver_timeout)
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=body.encode(), headers=headers, timeout=limit) as response,
    ):
        raw = await response.text()
        if response.status != 200:
            raise AssertionError(f"slash command answered {response.status}: {raw}")
        return dict(json.loads(raw)) if raw else {}
