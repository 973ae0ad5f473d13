"""`threadbridge doctor`: check every configured part before going live; exit 1 if broken.

Settings, Redis, each messenger and each configured provider are asked one harmless question
each; the answers are a table of what works and what to fix. A messenger adapter checks itself
(`bridge.contracts.Doctored`), with its own settings read by the loader.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from redis.asyncio import Redis

from bridge import logs
from bridge.config import ConfigError, Settings, load_settings
from bridge.contracts import Doctored, Provider
from bridge.doctor.redis_check import check_redis
from bridge.doctor.report import FAIL, OK, SKIP, Report
from bridge.keys import Keys
from bridge.plugins import (
    AdapterPlugin,
    adapter_plugins,
    enabling,
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
    missing: list[str] = []
    try:
        settings = load_settings()
        found = adapter_plugins(missing)
        own = provider_settings(settings)
    except ConfigError as exc:
        report.add("settings", FAIL, str(exc), "fix the variable named")
        print(report.table())
        return 1
    secrets = logs.secrets_of(settings, *(p.settings for p in found), *own.values())
    logs.configure("WARNING", settings.bridge_log_format, secrets)
    asyncio.run(diagnose(settings, report, (found, missing)))
    print(report.table())
    return 1 if report.broken else 0


async def diagnose(
    settings: Settings,
    report: Report,
    plugins: tuple[list[AdapterPlugin], list[str]] | None = None,
) -> None:
    """Every row; `plugins`: the adapters as read already, with the lines for absent ones."""
    found, missing = plugins or _plugins(report)
    enabled = [p for p in found if p.enabled]
    if enabled:
        names = ", ".join(_describe(p) for p in enabled)
        report.add("settings", OK, f"messengers: {names}")
    else:
        fix = f"set {' or '.join(enabling(found))}" if found else "install a messenger's extra"
        report.add("settings", FAIL, "no messenger configured", fix)
    for line in missing:
        report.add("settings", FAIL, line, "install the extra named")
    await check_redis(settings, report)
    for plugin in found:
        await _check_messenger(plugin, report)
    await check_providers(settings, report)


def _plugins(report: Report) -> tuple[list[AdapterPlugin], list[str]]:
    missing: list[str] = []
    try:
        return adapter_plugins(missing), missing
    except ConfigError as exc:
        report.add("settings", FAIL, str(exc), "fix the variable named")
        return [], missing


def _describe(plugin: AdapterPlugin) -> str:
    cls = plugin.cls
    return cls.describe(plugin.settings) if isinstance(cls, Doctored) else plugin.name


async def _check_messenger(plugin: AdapterPlugin, report: Report) -> None:
    """An enabled messenger checks itself; one not configured is a skipped row."""
    cls = plugin.cls
    if not plugin.enabled:
        report.add(plugin.name, SKIP, f"{' or '.join(cls.enabling)} not set")
    elif isinstance(cls, Doctored):
        await cls.doctor(plugin.settings, report)
    else:
        report.add(plugin.name, SKIP, "offers no check")


async def check_providers(settings: Settings, report: Report) -> None:
    """Each provider whose settings are present answers one harmless call; the default must."""
    offline: Any = Redis()
    store = Store(offline, Keys(settings.bridge_redis_prefix))
    context = provider_context(settings, store.thread_state)
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
