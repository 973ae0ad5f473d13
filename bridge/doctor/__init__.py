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
from bridge.contracts import Provider
from bridge.doctor.messengers import check_discord, check_slack, reaching
from bridge.doctor.redis_check import check_redis
from bridge.doctor.report import FAIL, OK, SKIP, Report
from bridge.plugins import (
    missing_adapters,
    provider_class,
    provider_names,
    provider_settings,
    sole_provider,
)
from bridge.registry import provider_context
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
    try:
        own = provider_settings(settings)
    except ConfigError as exc:
        report.add("settings", FAIL, str(exc), "fix the variable named")
        print(report.table())
        return 1
    logs.configure("WARNING", settings.bridge_log_format, logs.secrets_of(settings, *own.values()))
    asyncio.run(diagnose(settings, report))
    print(report.table())
    return 1 if report.broken else 0


async def diagnose(settings: Settings, report: Report) -> None:
    messengers = [
        n
        for n, t in (("slack", settings.slack_bot_token), ("discord", settings.discord_token))
        if t is not None
    ]
    if settings.slack_client_id:
        messengers = ["slack (many workspaces)", *(m for m in messengers if m != "slack")]
    if messengers:
        report.add("settings", OK, f"messengers: {', '.join(messengers)}")
    else:
        report.add(
            "settings",
            FAIL,
            "no messenger configured",
            "set SLACK_BOT_TOKEN (or SLACK_CLIENT_ID) or DISCORD_TOKEN",
        )
    for line in missing_adapters(settings):
        report.add("settings", FAIL, line, "install the extra named")
    await check_redis(settings, report)
    await reaching("slack", "SLACK_API_URL", check_slack(settings, report), report)
    await reaching("discord", "DISCORD_API_URL", check_discord(settings, report), report)
    await check_providers(settings, report)


async def check_providers(settings: Settings, report: Report) -> None:
    """Each provider whose settings are present answers one harmless call; the default must."""
    offline: Any = Redis()
    context = provider_context(settings, Store(offline, settings.bridge_redis_prefix).thread_state)
    built: dict[str, Provider] = {}
    for name, own in provider_settings(settings).items():
        try:
            built[name] = provider_class(name)(own, context)
        except ConfigError as exc:
            if name == settings.bridge_provider:
                report.add(
                    f"provider {name}",
                    FAIL,
                    f"default provider not configured: {exc}",
                    "set its variables or change BRIDGE_PROVIDER",
                )
            else:
                report.add(f"provider {name}", SKIP, "not configured")
    try:
        _default_provider(settings, built, report)
        for name, provider in built.items():
            await _check_provider(name, provider, report)
    finally:
        for provider in built.values():
            await provider.aclose()


def _default_provider(settings: Settings, built: dict[str, Provider], report: Report) -> None:
    """A row for the default only when it is not simply the one BRIDGE_PROVIDER names."""
    chosen = settings.bridge_provider
    if chosen:
        if chosen not in provider_names():
            known = ", ".join(provider_names())
            report.add("provider default", FAIL, f"BRIDGE_PROVIDER={chosen!r} is unknown", known)
        return
    try:
        name = sole_provider(built)
    except ConfigError as exc:
        report.add("provider default", FAIL, str(exc), "set BRIDGE_PROVIDER")
        return
    report.add("provider default", OK, f"{name}, the only one configured (BRIDGE_PROVIDER unset)")


async def _check_provider(name: str, provider: Provider, report: Report) -> None:
    check = getattr(provider, "check", None)
    if check is None:
        report.add(f"provider {name}", SKIP, "offers no check")
        return
    env = name.split("-")[0].upper()
    await report.run(f"provider {name}", check, f"check {env}_* credentials and URLs")


if __name__ == "__main__":
    sys.exit(main())
