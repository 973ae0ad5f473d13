"""`threadbridge doctor` for Slack: the bot token (or the OAuth app), its scopes against the
manifest, and how events arrive, each asked with one harmless Web API call over plain HTTP."""

from __future__ import annotations

import httpx

from adapters.slack.doctor_oauth import check_oauth
from adapters.slack.manifest import load_bot_scopes
from adapters.slack.settings import SlackSettings
from bridge.contracts import Finding, Findings, secret
from bridge.contracts.toolkit.doctor import reaching, verdict

TIMEOUT = 15.0


async def run_checks(settings: SlackSettings, findings: Findings) -> None:
    """Every Slack row; a host that cannot be reached is a failed row naming it."""
    fix = "check SLACK_API_URL and the network"
    await reaching(_check(settings, findings), findings, "slack", fix)


async def _check(settings: SlackSettings, findings: Findings) -> None:
    token = secret(settings.bot_token)
    base = settings.api_url.rstrip("/") + "/"
    if settings.client_id:
        async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as client:
            await check_oauth(settings, client, findings)
            await _connection(settings, client, findings)
        return
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as client:
        response = await _slack_call(client, "auth.test", token)
        data = response.json() if response.status_code < 500 else {}
        if not data.get("ok"):
            error = data.get("error") or f"HTTP {response.status_code}"
            findings.add(
                "slack auth.test",
                Finding.FAIL,
                f"token refused: {error}",
                "check SLACK_BOT_TOKEN (xoxb-…)",
            )
            return
        user, team = data.get("user_id"), data.get("team_id")
        findings.add("slack auth.test", Finding.OK, f"{user} in team {team}")
        _scopes(findings, response.headers.get("X-OAuth-Scopes"))
        await _connection(settings, client, findings)


async def _slack_call(client: httpx.AsyncClient, method: str, token: str) -> httpx.Response:
    return await client.post(method, headers={"Authorization": f"Bearer {token}"})


def _scopes(findings: Findings, header: str | None) -> None:
    wanted = load_bot_scopes()
    if header is None:
        findings.add("slack scopes", Finding.WARN, "Slack did not list the token's scopes")
        return
    granted = {s.strip() for s in header.split(",") if s.strip()}
    missing = [s for s in wanted if s not in granted]
    verdict(
        findings,
        "slack scopes",
        not missing,
        ok=f"all {len(wanted)} of the manifest granted",
        failed=f"missing {', '.join(missing)}",
        fix="add them (deploy/slack-manifest.yml) and reinstall the app",
    )


async def _connection(
    settings: SlackSettings, client: httpx.AsyncClient, findings: Findings
) -> None:
    app_token = secret(settings.app_token)
    if not app_token:
        verdict(
            findings,
            "slack events",
            bool(secret(settings.signing_secret)),
            ok="HTTP mode, signing secret set",
            failed="neither SLACK_APP_TOKEN nor SLACK_SIGNING_SECRET",
            fix="set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP)",
        )
        return
    data = (await _slack_call(client, "apps.connections.open", app_token)).json()
    verdict(
        findings,
        "slack socket mode",
        bool(data.get("ok") and data.get("url")),
        ok="apps.connections.open issued a URL",
        failed=f"apps.connections.open: {data.get('error')}",
        fix="check SLACK_APP_TOKEN (xapp-…, scope connections:write)",
    )
