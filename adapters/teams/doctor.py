"""`threadbridge doctor` for Teams: the app id and secret get a token from the tenant's Entra
ID, the connector's OpenID metadata and keys can be read, and the messaging endpoint is served
(TEAMS_MESSAGING_ENDPOINT, when set: an unauthenticated POST to it must be refused with 401, as
the bridge refuses it). Run by `TeamsAdapter.doctor` for an enabled adapter.
"""

from __future__ import annotations

import aiohttp

from adapters.teams.auth import ConnectorKeys
from adapters.teams.http import PATH
from adapters.teams.settings import TeamsSettings
from adapters.teams.token import BotToken, TokenRefused
from bridge.contracts import Finding, Findings
from bridge.contracts.toolkit.doctor import verdict

FAIL, OK, WARN = Finding.FAIL, Finding.OK, Finding.WARN
TIMEOUT = aiohttp.ClientTimeout(total=10)
CREDENTIALS = "check TEAMS_APP_ID, TEAMS_APP_PASSWORD (client secret) and TEAMS_TENANT_ID"


async def run_checks(settings: TeamsSettings, report: Findings) -> None:
    """Every Teams row; an endpoint that cannot be reached is a failed row naming it."""
    if not settings.tenant_id and not settings.token_url:
        report.add("teams tenant", FAIL, "TEAMS_TENANT_ID not set", "set the bot's tenant id")
        return
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        await _token(settings, session, report)
        await _keys(settings, session, report)
        if settings.messaging_endpoint:
            await _endpoint(settings.messaging_endpoint, session, report)


async def _token(settings: TeamsSettings, session: aiohttp.ClientSession, report: Findings) -> None:
    try:
        await BotToken(session, settings).get()
    except TokenRefused as exc:
        report.add("teams token", FAIL, str(exc), CREDENTIALS)
    except (aiohttp.ClientError, TimeoutError) as exc:
        report.add(
            "teams token", FAIL, f"cannot reach {settings.token_endpoint}: {exc}", CREDENTIALS
        )
    else:
        report.add(
            "teams token", OK, f"issued for app {settings.app_id} (tenant {settings.tenant_id})"
        )


async def _keys(settings: TeamsSettings, session: aiohttp.ClientSession, report: Findings) -> None:
    keys = ConnectorKeys(session, settings.openid_metadata_url)
    try:
        found = await keys.fetch()
    except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as exc:
        report.add(
            "teams keys",
            FAIL,
            f"cannot read the OpenID metadata: {exc}",
            "check TEAMS_OPENID_METADATA_URL",
        )
        return
    report.add("teams keys", OK if found else WARN, f"{len(found)} signing keys")


async def _endpoint(endpoint: str, session: aiohttp.ClientSession, report: Findings) -> None:
    try:
        async with session.post(endpoint, json={"type": "message"}) as response:
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        report.add(
            "teams endpoint",
            FAIL,
            f"{endpoint} is not served: {exc}",
            f"run the bridge; Teams posts to {PATH}",
        )
        return
    verdict(
        report,
        "teams endpoint",
        status == 401,
        ok=f"{endpoint} refuses unsigned activities (401)",
        failed=f"{endpoint} answered {status} to an unsigned activity",
        fix=f"point the bot's messaging endpoint at {PATH} on BRIDGE_HTTP_PORT",
        status=WARN,
    )
