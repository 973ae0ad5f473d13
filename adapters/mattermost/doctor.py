"""`threadbridge doctor` for Mattermost: the URL answers, the token is a bot's, the bot may
post and edit, and the WebSocket API says hello. Plain aiohttp, one harmless call each."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from adapters.mattermost.settings import MattermostSettings
from bridge.contracts import Finding, Findings
from bridge.contracts.toolkit.doctor import reason, unreachable, verdict

TIMEOUT = aiohttp.ClientTimeout(total=15)
NEEDED = ("create_post", "edit_post")
CHANNEL_ROLES = ("channel_user", "team_user")
"""Roles every member holds in a team and its channels (under the default schemes)."""


async def run_checks(settings: MattermostSettings, findings: Findings) -> None:
    base = settings.base_url
    if not base:
        findings.add(
            "mattermost url", Finding.FAIL, "MATTERMOST_URL is not set", "set the server's URL"
        )
        return
    headers = {"Authorization": f"Bearer {settings.secret}"}
    async with aiohttp.ClientSession(timeout=TIMEOUT, headers=headers) as http:
        try:
            async with http.get(f"{base}/api/v4/system/ping") as ping:
                findings.add("mattermost url", Finding.OK, f"{base} answers (HTTP {ping.status})")
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            unreachable(findings, "mattermost url", base, exc, "check MATTERMOST_URL")
            return
        me = await _token(http, base, findings)
        if me is None:
            return
        await _permissions(http, base, me, findings)
        await _socket(http, base, findings)


async def _token(
    http: aiohttp.ClientSession, base: str, findings: Findings
) -> dict[str, Any] | None:
    async with http.get(f"{base}/api/v4/users/me") as response:
        if response.status != 200:
            findings.add(
                "mattermost token",
                Finding.FAIL,
                f"refused (HTTP {response.status})",
                "check MATTERMOST_TOKEN (a bot account's access token)",
            )
            return None
        me: dict[str, Any] = await response.json()
    verdict(
        findings,
        "mattermost token",
        bool(me.get("is_bot")),
        ok=f"bot @{me.get('username')}",
        failed=f"@{me.get('username')} is a person's account, not a bot",
        fix="use a bot account's token (Integrations → Bot Accounts)",
        status=Finding.WARN,
    )
    return me


async def _permissions(
    http: aiohttp.ClientSession, base: str, me: dict[str, Any], findings: Findings
) -> None:
    """The permissions of the bot's roles plus the team and channel member roles."""
    names = [*str(me.get("roles") or "").split(), *CHANNEL_ROLES]
    async with http.post(f"{base}/api/v4/roles/names", json=names) as response:
        roles = await response.json() if response.status == 200 else []
    granted = {p for role in roles for p in role.get("permissions") or []}
    missing = [p for p in NEEDED if p not in granted]
    verdict(
        findings,
        "mattermost permissions",
        not missing,
        ok="may post and edit its posts",
        failed=f"the bot's roles lack {', '.join(missing)}",
        fix="System Console → Permissions: let members post and edit their own posts",
    )


async def _socket(http: aiohttp.ClientSession, base: str, findings: Findings) -> None:
    url = base.replace("http", "ws", 1) + "/api/v4/websocket"
    try:
        async with http.ws_connect(url) as ws:
            hello = json.loads((await ws.receive(timeout=10)).data)
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError, TypeError) as exc:
        findings.add(
            "mattermost websocket",
            Finding.FAIL,
            f"no hello: {reason(exc)}",
            "let the proxy pass WebSocket upgrades on /api/v4/websocket",
        )
        return
    version = (hello.get("data") or {}).get("server_version", "?")
    findings.add("mattermost websocket", Finding.OK, f"hello from server {version}")
