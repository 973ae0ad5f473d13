"""Slack in many-workspace mode (SLACK_CLIENT_ID): the app's OAuth credentials, the scopes an
install asks for, the redirect URL, and whether the stored installations can be decrypted.

Asked over plain HTTP and Redis, like the rest of doctor (the core imports no adapter).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from cryptography.fernet import InvalidToken, MultiFernet

from bridge.config import ConfigError, Settings, secret
from bridge.doctor.manifest import load_bot_scopes
from bridge.doctor.report import FAIL, OK, SKIP, WARN, Report
from bridge.encryption import cipher
from bridge.keys import Keys
from bridge.plugin_state import RedisPluginState
from bridge.redis_conn import connect

INSTALLATION = "installation"
"""The Slack adapter's plugin-state value holding a workspace's encrypted installation."""

REDIRECT_PATH = "/slack/oauth_redirect"
"""Where the bridge serves Slack's redirect back after an install (the Slack adapter's route)."""
PROBE_CODE = "threadbridge-doctor"
"""A code Slack never issued: `oauth.v2.access` checks the client before the code, so the
answer `invalid_code` means the client id and secret were accepted."""
CLIENT_ERRORS = {
    "invalid_client_id": ("SLACK_CLIENT_ID", "Basic Information → App Credentials → Client ID"),
    "bad_client_secret": ("SLACK_CLIENT_SECRET", "Basic Information → Client Secret"),
}


async def check_slack_oauth(settings: Settings, client: httpx.AsyncClient, report: Report) -> None:
    fernet = _settings(settings, report)
    if not secret(settings.slack_client_secret):
        return
    await _client(settings, client, report)
    _scopes(settings, report)
    await _redirect(settings, report)
    if fernet is not None:
        await _installations(settings, fernet, report)


def _settings(settings: Settings, report: Report) -> MultiFernet | None:
    """Client secret and encryption key present and well-formed; the state secret advised."""
    missing = [
        name
        for name, value in (
            ("SLACK_CLIENT_SECRET", settings.slack_client_secret),
            ("BRIDGE_ENCRYPTION_KEY", settings.bridge_encryption_key),
        )
        if not secret(value)
    ]
    if missing:
        report.add("slack oauth settings", FAIL, f"{', '.join(missing)} not set", "set them")
        return None
    try:
        fernet = cipher(secret(settings.bridge_encryption_key))
    except ConfigError as exc:
        report.add("slack oauth settings", FAIL, str(exc), "make one: see .env.example")
        return None
    if secret(settings.slack_state_secret):
        report.add("slack oauth settings", OK, "client secret, encryption key, state secret")
    else:
        report.add(
            "slack oauth settings",
            WARN,
            "SLACK_STATE_SECRET not set: install states are signed with a key derived from "
            "SLACK_CLIENT_SECRET, so rotating that secret voids installs in progress",
            "set SLACK_STATE_SECRET",
        )
    return fernet


async def _client(settings: Settings, client: httpx.AsyncClient, report: Report) -> None:
    form = {
        "client_id": settings.slack_client_id or "",
        "client_secret": secret(settings.slack_client_secret),
        "code": PROBE_CODE,
    }
    data = (await client.post("oauth.v2.access", data=form)).json()
    error = str(data.get("error") or "")
    if error in CLIENT_ERRORS:
        variable, where = CLIENT_ERRORS[error]
        report.add(
            "slack oauth client", FAIL, f"{variable} refused: {error}", f"copy it from {where}"
        )
    elif error == "invalid_code":
        report.add("slack oauth client", OK, "client id and secret accepted by oauth.v2.access")
    else:
        report.add("slack oauth client", WARN, f"oauth.v2.access answered {error or data}")


def _scopes(settings: Settings, report: Report) -> None:
    asked = {s.strip() for s in settings.slack_scopes.split(",") if s.strip()}
    missing = [s for s in load_bot_scopes() if s not in asked]
    if missing:
        report.add(
            "slack scopes",
            FAIL,
            f"SLACK_SCOPES lacks {', '.join(missing)}",
            "unset SLACK_SCOPES (the default asks for all) or add them",
        )
    else:
        report.add("slack scopes", OK, "SLACK_SCOPES asks for every scope of the manifest")


async def _redirect(settings: Settings, report: Report) -> None:
    """SLACK_REDIRECT_URI must end in the bridge's redirect path and be answered there."""
    url = settings.slack_redirect_uri
    if not url:
        report.add(
            "slack redirect",
            SKIP,
            f"SLACK_REDIRECT_URI not set: Slack uses the app's redirect URL (…{REDIRECT_PATH})",
        )
        return
    if urlsplit(url).path.rstrip("/") != REDIRECT_PATH:
        report.add(
            "slack redirect", FAIL, f"{url} is not …{REDIRECT_PATH}", "the bridge serves only that"
        )
        return
    try:
        async with httpx.AsyncClient(timeout=10.0) as http:
            status = (await http.get(url)).status_code
    except httpx.HTTPError as exc:
        detail = f"{url} not reachable from here ({exc or type(exc).__name__})"
        report.add("slack redirect", WARN, detail, "is the bridge running at that address?")
        return
    if status == 404 or status >= 500:
        report.add("slack redirect", FAIL, f"{url} answered {status}", "point it at the bridge")
    else:
        report.add("slack redirect", OK, f"{url} served (answered {status} without a code)")


async def _installations(settings: Settings, fernet: MultiFernet, report: Report) -> None:
    """Every stored installation decrypts with BRIDGE_ENCRYPTION_KEY."""
    if not settings.redis_url:
        report.add("slack installations", SKIP, "REDIS_URL not set")
        return
    try:
        handle = await connect(settings)
    except ConfigError:
        report.add("slack installations", SKIP, "Redis not reachable")
        return
    unreadable = total = 0
    try:
        state = RedisPluginState(handle.client, Keys(settings.bridge_redis_prefix), "slack")
        async for team in state.tenants(INSTALLATION):
            raw = await state.get(team, INSTALLATION)
            if raw is None:
                continue
            total += 1
            try:
                fernet.decrypt(raw)
            except InvalidToken:
                unreadable += 1
    finally:
        await handle.aclose()
    if unreadable:
        report.add(
            "slack installations",
            FAIL,
            f"{unreadable} of {total} cannot be decrypted with BRIDGE_ENCRYPTION_KEY",
            "add the key they were saved with to BRIDGE_ENCRYPTION_KEY (after the new one)",
        )
    else:
        report.add("slack installations", OK, f"{total} stored, all readable")
