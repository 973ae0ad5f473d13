"""`threadbridge rotate-slack-keys`: re-encrypt every stored Slack installation with the first
key of BRIDGE_ENCRYPTION_KEY, so an old key can then be removed from the list."""

from __future__ import annotations

import asyncio
import sys

from adapters.slack.installations import RedisInstallationStore, cipher
from bridge.config import ConfigError, load_settings, secret
from bridge.redis_conn import connect


async def rotate() -> int:
    settings = load_settings()
    fernet = cipher(secret(settings.bridge_encryption_key))
    handle = await connect(settings)
    try:
        store = RedisInstallationStore(handle.client, settings.bridge_redis_prefix, fernet)
        return await store.rotate()
    finally:
        await handle.aclose()


def main(argv: list[str] | None = None) -> int:
    del argv
    try:
        count = asyncio.run(rotate())
    except ConfigError as exc:
        print(f"threadbridge rotate-slack-keys: {exc}", file=sys.stderr)
        return 2
    print(f"re-encrypted {count} Slack installation(s) with the first key")
    return 0
