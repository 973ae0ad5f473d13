"""Slack in many-workspace mode (SLACK_CLIENT_ID): the app's OAuth credentials, the scopes an
install asks for, the redirect URL, and whether the stored installations can be decrypted.

Asked over plain HTTP; the stored installations are read from the adapter's state as
`threadbridge rotate-slack-keys` reads them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from cryptography.fernet import InvalidToken, MultiFernet

from adapters.slack.installations import NAME as INSTALLATION
from adapters.slack.installations import cipher
from adapters.slack.manifest import load_bot_scopes
from adapters.slack.oauth import REDIRECT_PATH
from adapters.slack.settings import SlackSettings
from bridge.contracts import ConfigError, Finding, Findings, open_state, secret
from bridge.contracts.toolkit.doctor import verdict

OK, WARN, FAIL, SKIP = Finding.OK, Finding.WARN, Finding.FAIL, Finding.SKIP

PROBE_CODE = "threadbridge-doctor"
"""A code Slack never issued: `oauth.v2.access` checks the client before the code, so the
answer `invalid_code` means the client id and secret were accepted."""
CLIENT_ERRORS = {
    "invalid_client_id": ("SLACK_CLIENT_ID", "Basic Information → App Credentials → Client ID"),
    "bad_client_secret": ("SLACK_CLIENT_SECRET", "Basic Information → Client Secret"),
}


async def check_oauth(settings: SlackSettings, client: httpx.AsyncClient, report: Findings) -> None:
    fernet = _settings(settings, report)
    if not secret(settings.client_secret):
        return
    await _client(settings, client, report)
    _scopes(settings, report)
    await _redirect(settings, report)
    if fernet is not None:
        await _installations(fernet, report)


def _settings(settings: SlackSettings, report: Findings) -> MultiFernet | None:
    """Client secret and encryption key present and well-formed; the state secret advised."""
    missing = [
        name
        for name, value in (
            ("SLACK_CLIENT_SECRET", settings.client_secret),
            ("BRIDGE_ENCRYPTION_KEY", settings.encryption_key),
        )
        if not secret(value)
    ]
    if missing:
        report.add("slack oauth settings", FAIL, f"{', '.join(missing)} not set", "set them")
        return None
    try:
        fernet = cipher(secret(settings.encryption_key), "SLACK_CLIENT_ID")
    except ConfigError as exc:
        report.add("slack oauth settings", FAIL, str(exc), "make one: see .env.example")
        return None
    if secret(settings.state_secret):
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


async def _client(settings: SlackSettings, client: httpx.AsyncClient, report: Findings) -> None:
    form = {
        "client_id": settings.client_id or "",
        "client_secret": secret(settings.client_secret),
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


def _scopes(settings: SlackSettings, report: Findings) -> None:
    asked = {s.strip() for s in settings.scopes.split(",") if s.strip()}
    missing = [s for s in load_bot_scopes() if s not in asked]
    verdict(
        report,
        "slack scopes",
        not missing,
        ok="SLACK_SCOPES asks for every scope of the manifest",
        failed=f"SLACK_SCOPES lacks {', '.join(missing)}",
        fix="unset SLACK_SCOPES (the default asks for all) or add them",
    )


async def _redirect(settings: SlackSettings, report: Findings) -> None:
    """SLACK_REDIRECT_URI must end in the bridge's redirect path and be answered there."""
    url = settings.redirect_uri
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


async def _installations(fernet: MultiFernet, report: Findings) -> None:
    """Every stored installation decrypts with BRIDGE_ENCRYPTION_KEY."""
    unreadable = total = 0
    try:
        async with open_state("slack") as state:
            async for team in state.tenants(INSTALLATION):
                raw = await state.get(team, INSTALLATION)
                if raw is None:
                    continue
                total += 1
                try:
                    fernet.decrypt(raw)
                except InvalidToken:
                    unreadable += 1
    except (ConfigError, LookupError) as exc:
        report.add("slack installations", SKIP, f"state not readable: {exc}")
        return
    verdict(
        report,
        "slack installations",
        not unreadable,
        ok=f"{total} stored, all readable",
        failed=f"{unreadable} of {total} cannot be decrypted with BRIDGE_ENCRYPTION_KEY",
        fix="add the key they were saved with to BRIDGE_ENCRYPTION_KEY (after the new one)",
    )
