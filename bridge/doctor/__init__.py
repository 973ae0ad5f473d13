"""`threadbridge doctor`: check every configured part before going live; exit 1 if broken.

Settings, Redis, each messenger and each configured provider are asked one harmless question
each; the answers are a table of what works and what to fix.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from redis.asyncio import Redis

from bridge import logs
from bridge.config import ConfigError, Settings, load_settings
from bridge.contracts import ProviderContext
from bridge.doctor.messengers import check_discord, check_slack, reaching
from bridge.doctor.redis_check import check_redis
from bridge.doctor.report import FAIL, OK, SKIP, Report
from bridge.plugins import load_provider, provider_names
from bridge.store import Store


def main(argv: list[str] | None = None) -> int:
    """Entry point (`threadbridge.commands`): print the table, return 1 if anything is broken."""
    report = Report()
    try:
        settings = load_settings()
    except ConfigError as exc:
        report.add("settings", FAIL, str(exc), "fix the variable named")
        print(report.table())
        return 1
    logs.configure("WARNING", settings.bridge_log_format, logs.secrets_of(settings))
    asyncio.run(diagnose(settings, report))
    print(report.table())
    return 1 if report.broken else 0


async def diagnose(settings: Settings, report: Report) -> None:
    messengers = [
        n
        for n, t in (("slack", settings.slack_bot_token), ("discord", settings.discord_token))
        if t is not None
    ]
    if messengers:
        report.add("settings", OK, f"messengers: {', '.join(messengers)}")
    else:
        report.add(
            "settings", FAIL, "no messenger configured", "set SLACK_BOT_TOKEN or DISCORD_TOKEN"
        )
    await check_redis(settings, report)
    await reaching("slack", "SLACK_API_URL", check_slack(settings, report), report)
    await reaching("discord", "DISCORD_API_URL", check_discord(settings, report), report)
    await check_providers(settings, report)


async def check_providers(settings: Settings, report: Report) -> None:
    """Each provider whose settings are present answers one harmless call; the default must."""
    offline: Any = Redis()
    context = ProviderContext(settings, Store(offline, settings.bridge_redis_prefix).thread_state)
    for name in provider_names():
        part = f"provider {name}"
        try:
            provider = load_provider(name, context)
        except ConfigError as exc:
            if name == settings.bridge_provider:
                report.add(
                    part,
                    FAIL,
                    f"default provider not configured: {exc}",
                    "set its variables or change BRIDGE_PROVIDER",
                )
            else:
                report.add(part, SKIP, "not configured")
            continue
        check = getattr(provider, "check", None)
        try:
            if check is None:
                report.add(part, SKIP, "offers no check")
            else:
                env = name.split("-")[0].upper()
                await report.run(part, check, f"check {env}_* credentials and URLs")
        finally:
            await provider.aclose()


if __name__ == "__main__":
    sys.exit(main())
