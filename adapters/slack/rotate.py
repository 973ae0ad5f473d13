"""`threadbridge rotate-slack-keys`: re-encrypt every stored Slack installation with the first
key of BRIDGE_ENCRYPTION_KEY, so an old key can then be removed from the list.

A record no key decrypts is named and left as it is, the others are still rotated, and the
command ends non-zero so a script notices before it drops an old key."""

from __future__ import annotations

import asyncio
import sys

from adapters.slack.installations import RedisInstallationStore, Rotation, cipher
from adapters.slack.settings import SlackSettings
from bridge.contracts import ConfigError, load_settings, open_state, secret

COMMAND = "threadbridge rotate-slack-keys"


async def rotate() -> Rotation:
    settings = load_settings(SlackSettings)
    fernet = cipher(secret(settings.encryption_key), "SLACK_CLIENT_ID")
    async with open_state("slack") as state:
        return await RedisInstallationStore(state, fernet).rotate()


def main(argv: list[str] | None = None) -> int:
    del argv
    try:
        outcome = asyncio.run(rotate())
    except ConfigError as exc:
        print(f"{COMMAND}: {exc}", file=sys.stderr)
        return 2
    for record, reason in outcome.skipped:
        print(f"{COMMAND}: skipped the installation of {record}: {reason}", file=sys.stderr)
    summary = f"re-encrypted {outcome.rotated} Slack installation(s) with the first key"
    if not outcome.skipped:
        print(summary)
        return 0
    print(f"{summary}; {len(outcome.skipped)} skipped, left as they were (see above)")
    return 1
