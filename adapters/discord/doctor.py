"""`threadbridge doctor` for Discord: the bot token and the Message Content intent, asked over
plain HTTP (no gateway connection)."""

from __future__ import annotations

from typing import Any

import httpx

from adapters.discord.settings import DiscordSettings
from bridge.contracts import Finding, Findings, secret
from bridge.contracts.toolkit.doctor import reaching, verdict

MESSAGE_CONTENT_FLAGS = (1 << 18) | (1 << 19)
"""GATEWAY_MESSAGE_CONTENT and GATEWAY_MESSAGE_CONTENT_LIMITED (Discord application flags)."""
TIMEOUT = 15.0


async def run_checks(settings: DiscordSettings, findings: Findings) -> None:
    """Every Discord row; a host that cannot be reached is a failed row naming it."""
    fix = "check DISCORD_API_URL and the network"
    await reaching(_check(settings, findings), findings, "discord", fix)


async def _check(settings: DiscordSettings, findings: Findings) -> None:
    headers = {"Authorization": f"Bot {secret(settings.token)}"}
    base = settings.api_url.rstrip("/") + "/"
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=TIMEOUT) as client:
        me = await client.get("users/@me")
        if me.status_code != 200:
            findings.add(
                "discord login",
                Finding.FAIL,
                f"users/@me answered {me.status_code}",
                "check DISCORD_TOKEN (Developer Portal → Bot → Reset Token)",
            )
            return
        user: dict[str, Any] = me.json()
        findings.add("discord login", Finding.OK, f"logged in as {user.get('username')}")
        app = await client.get("applications/@me")
        if app.status_code != 200:
            detail = f"applications/@me answered {app.status_code}"
            findings.add("discord intents", Finding.WARN, detail)
            return
        flags = int(app.json().get("flags") or 0)
        verdict(
            findings,
            "discord intents",
            bool(flags & MESSAGE_CONTENT_FLAGS),
            ok="Message Content intent enabled",
            failed="Message Content intent is off",
            fix="Developer Portal → Bot → Privileged Gateway Intents → Message Content",
        )
