"""`threadbridge doctor` for Mattermost: the URL answers, the token is a bot's, the bot may
post and edit, and the WebSocket API says hello. Plain aiohttp, one harmless call each."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from adapters.mattermost.settings import MattermostSettings
from bridge.doctor.report import FAIL, OK, WARN, Report

TIMEOUT = aiohttp.ClientTimeout(total=15)
NEEDED = ("create_post", "edit_post")
CHANNEL_ROLES = ("channel_user", "team_user")
"""Roles every member holds in a team and its channels (under the default schemes)."""


async def check_mattermost(settings: MattermostSettings, report: Report) -> None:
    base = settings.base_url
    headers = {"Authorization": f"Bearer {settings.secret}"}
    async with aiohttp.ClientSession(timeout=TIMEOUT, headers=headers) as http:
        try:
            async with http.get(f"{base}/api/v4/system/ping") as ping:
                report.add("mattermost url", OK, f"{base} answers (HTTP {ping.status})")
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            reason = str(exc) or type(exc).__name__
            report.add(
                "mattermost url", FAIL, f"cannot reach {base}: {reason}", "check MATTERMOST_URL"
            )
            return
        me = await _token(http, base, report)
        if me is None:
            return
        await _permissions(http, base, me, report)
        await _socket(http, base, report)


async def _token(http: aiohttp.ClientSession, base: str, report: Report) -> dict[str, Any] | None:
    async with http.get(f"{base}/api/v4/users/me") as response:
        if response.status != 200:
            report.add(
                "mattermost token",
                FAIL,
                f"refused (HTTP {response.status})",
                "check MATTERMOST_TOKEN (a bot account's access token)",
            )
            return None
        me: dict[str, Any] = await response.json()
    if me.get("is_bot"):
        report.add("mattermost token", OK, f"bot @{me.get('username')}")
    else:
        report.add(
            "mattermost token",
            WARN,
            f"@{me.get('username')} is a person's account, not a bot",
            "use a bot account's token (Integrations → Bot Accounts)",
        )
    return me


async def _permissions(
    http: aiohttp.ClientSession, base: str, me: dict[str, Any], report: Report
) -> None:
    """The permissions of the bot's roles plus the team and channel member roles."""
    names = [*str(me.get("roles") or "").split(), *CHANNEL_ROLES]
    async with http.post(f"{base}/api/v4/roles/names", json=names) as response:
        roles = await response.json() if response.status == 200 else []
    granted = {p for role in roles for p in role.get("permissions") or []}
    missing = [p for p in NEEDED if p not in granted]
    if missing:
        report.add(
            "mattermost permissions",
            FAIL,
            f"the bot's roles lack {', '.join(missing)}",
            "System Console → Permissions: let members post and edit their own posts",
        )
    else:
        report.add("mattermost permissions", OK, "may post and edit its posts")


async def _socket(http: aiohttp.ClientSession, base: str, report: Report) -> None:
    url = base.replace("http", "ws", 1) + "/api/v4/websocket"
    try:
        async with http.ws_connect(url) as ws:
            hello = json.loads((await ws.receive(timeout=10)).data)
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError, TypeError) as exc:
        reason = str(exc) or type(exc).__name__
        report.add(
            "mattermost websocket",
            FAIL,
            f"no hello: {reason}",
            "let the proxy pass WebSocket upgrades on /api/v4/websocket",
        )
        return
    version = (hello.get("data") or {}).get("server_version", "?")
    report.add("mattermost websocket", OK, f"hello from server {version}")
