"""Slack and Discord as the bridge will use them, asked over plain HTTP (no adapter imported)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import httpx

from bridge.config import Settings, secret
from bridge.doctor.manifest import load_bot_scopes
from bridge.doctor.report import FAIL, OK, SKIP, WARN, Report
from bridge.doctor.slack_oauth import check_slack_oauth

MESSAGE_CONTENT_FLAGS = (1 << 18) | (1 << 19)
"""GATEWAY_MESSAGE_CONTENT and GATEWAY_MESSAGE_CONTENT_LIMITED (Discord application flags)."""
TIMEOUT = 15.0


async def reaching(part: str, variable: str, check: Awaitable[None], report: Report) -> None:
    """Run a messenger's `check`; a host that cannot be reached is a failed row naming it."""
    try:
        await check
    except httpx.HTTPError as exc:
        where = exc.request.url.host if isinstance(exc, httpx.RequestError) else part
        reason = str(exc) or type(exc).__name__
        report.add(
            part, FAIL, f"cannot reach {where}: {reason}", f"check {variable} and the network"
        )


async def check_slack(settings: Settings, report: Report) -> None:
    token = secret(settings.slack_bot_token)
    base = settings.slack_api_url.rstrip("/") + "/"
    if settings.slack_client_id:
        async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as client:
            await check_slack_oauth(settings, client, report)
            await _connection(settings, client, report)
        return
    if not token:
        report.add("slack", SKIP, "SLACK_BOT_TOKEN not set")
        return
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as client:
        response = await _slack_call(client, "auth.test", token)
        data = response.json() if response.status_code < 500 else {}
        if not data.get("ok"):
            error = data.get("error") or f"HTTP {response.status_code}"
            report.add(
                "slack auth.test", FAIL, f"token refused: {error}", "check SLACK_BOT_TOKEN (xoxb-…)"
            )
            return
        report.add("slack auth.test", OK, f"{data.get('user_id')} in team {data.get('team_id')}")
        _scopes(report, response.headers.get("X-OAuth-Scopes"))
        await _connection(settings, client, report)


async def _slack_call(client: httpx.AsyncClient, method: str, token: str) -> httpx.Response:
    return await client.post(method, headers={"Authorization": f"Bearer {token}"})


def _scopes(report: Report, header: str | None) -> None:
    wanted = load_bot_scopes()
    if header is None:
        report.add("slack scopes", WARN, "Slack did not list the token's scopes")
        return
    granted = {s.strip() for s in header.split(",") if s.strip()}
    missing = [s for s in wanted if s not in granted]
    if missing:
        report.add(
            "slack scopes",
            FAIL,
            f"missing {', '.join(missing)}",
            "add them (deploy/slack-manifest.yml) and reinstall the app",
        )
    else:
        report.add("slack scopes", OK, f"all {len(wanted)} of the manifest granted")


async def _connection(settings: Settings, client: httpx.AsyncClient, report: Report) -> None:
    app_token = secret(settings.slack_app_token)
    if not app_token:
        if secret(settings.slack_signing_secret):
            report.add("slack events", OK, "HTTP mode, signing secret set")
        else:
            report.add(
                "slack events",
                FAIL,
                "neither SLACK_APP_TOKEN nor SLACK_SIGNING_SECRET",
                "set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP)",
            )
        return
    data = (await _slack_call(client, "apps.connections.open", app_token)).json()
    if data.get("ok") and data.get("url"):
        report.add("slack socket mode", OK, "apps.connections.open issued a URL")
    else:
        report.add(
            "slack socket mode",
            FAIL,
            f"apps.connections.open: {data.get('error')}",
            "check SLACK_APP_TOKEN (xapp-…, scope connections:write)",
        )


async def check_discord(settings: Settings, report: Report) -> None:
    token = secret(settings.discord_token)
    if not token:
        report.add("discord", SKIP, "DISCORD_TOKEN not set")
        return
    headers = {"Authorization": f"Bot {token}"}
    base = settings.discord_api_url.rstrip("/") + "/"
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=TIMEOUT) as client:
        me = await client.get("users/@me")
        if me.status_code != 200:
            report.add(
                "discord login",
                FAIL,
                f"users/@me answered {me.status_code}",
                "check DISCORD_TOKEN (Developer Portal → Bot → Reset Token)",
            )
            return
        user: dict[str, Any] = me.json()
        report.add("discord login", OK, f"logged in as {user.get('username')}")
        app = await client.get("applications/@me")
        if app.status_code != 200:
            report.add("discord intents", WARN, f"applications/@me answered {app.status_code}")
            return
        flags = int(app.json().get("flags") or 0)
        if flags & MESSAGE_CONTENT_FLAGS:
            report.add("discord intents", OK, "Message Content intent enabled")
        else:
            report.add(
                "discord intents",
                FAIL,
                "Message Content intent is off",
                "Developer Portal → Bot → Privileged Gateway Intents → Message Content",
            )
