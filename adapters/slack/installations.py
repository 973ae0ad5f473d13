"""Slack installations in Redis, encrypted: one deployment serves every workspace that installs it.

Implements slack_sdk's `AsyncInstallationStore` (bolt's authorize picks a workspace's token
through it). Tokens are Fernet-encrypted
with BRIDGE_ENCRYPTION_KEY; several comma-separated keys make a MultiFernet, so keys rotate
without a migration (the first encrypts, all decrypt; `rotate` re-encrypts with the first).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import InvalidToken, MultiFernet
from redis.asyncio import Redis
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

from bridge.encryption import cipher
from bridge.keys import Keys

log = logging.getLogger(__name__)

_REPLACE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
"""Write the re-encrypted record only over the very bytes it was made from (one step)."""

ROTATE_ATTEMPTS = 5
"""Tries per record when a reinstall keeps rewriting it during a rotation."""

__all__ = ["RedisInstallationStore", "Rotation", "cipher"]


@dataclass
class Rotation:
    """What a key rotation did: records re-encrypted, and the ids of those it left as they
    were, each with the reason."""

    rotated: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


class RedisInstallationStore(AsyncInstallationStore):
    """The latest installation of each workspace, one encrypted value per workspace."""

    def __init__(self, redis: Redis, prefix: str, fernet: MultiFernet) -> None:
        self._redis = redis
        self._keys = Keys(prefix)
        self._fernet = fernet
        self._replace = redis.register_script(_REPLACE)

    @property
    def logger(self) -> logging.Logger:
        return log

    def _key(
        self, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
    ) -> str:
        """A workspace install is keyed by its team id alone, an org-wide install by its org.

        Team ids are unique across Slack and stay the same when a workspace moves into an
        Enterprise Grid org, so an event (which names the org too), a reply and an uninstall
        (which know the workspace) all reach the same record.
        """
        if is_enterprise_install or not team_id:
            return self._keys.slack_installation(enterprise_id, None)
        return self._keys.slack_installation(None, team_id)

    def _keys_of(self, enterprise_id: str | None, team_id: str | None) -> list[str]:
        """Every key a workspace's tokens may be under, the org-and-team one of earlier
        releases included, so an uninstall leaves none behind."""
        found = [self._key(enterprise_id, team_id, False)]
        if enterprise_id and team_id:
            found.append(self._keys.slack_installation(enterprise_id, team_id))
        return found

    async def async_save(self, installation: Installation) -> None:
        key = self._key(
            installation.enterprise_id, installation.team_id, installation.is_enterprise_install
        )
        data = json.dumps(installation.__dict__, default=str).encode()
        await self._redis.set(key, self._fernet.encrypt(data))

    async def async_save_bot(self, bot: Bot) -> None:
        installation = await self.async_find_installation(
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id,
            is_enterprise_install=bot.is_enterprise_install,
        )
        if installation is None:
            return
        installation.bot_token = bot.bot_token
        installation.bot_refresh_token = bot.bot_refresh_token
        installation.bot_token_expires_at = bot.bot_token_expires_at
        await self.async_save(installation)

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        installation = await self.async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return installation.to_bot() if installation and installation.bot_token else None

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        raw = await self._redis.get(self._key(enterprise_id, team_id, is_enterprise_install))
        if raw is None:
            return None
        try:
            data: dict[str, Any] = json.loads(self._fernet.decrypt(raw))
        except InvalidToken:
            log.error("Slack installation of %s cannot be decrypted with any key", team_id)
            return None
        installation = Installation(**_init_args(data))
        if user_id is not None and installation.user_id != user_id:
            return None
        return installation

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._redis.delete(*self._keys_of(enterprise_id, team_id))

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await self._redis.delete(*self._keys_of(enterprise_id, team_id))

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._redis.delete(*self._keys_of(enterprise_id, team_id))

    async def rotate(self) -> Rotation:
        """Re-encrypt every installation with the first key, each in one write; a record no key
        decrypts is left as it is and reported, and the others are still rotated."""
        outcome = Rotation()
        pattern = self._keys.slack_installations()
        async for key in self._redis.scan_iter(match=pattern):
            if not self._keys.is_slack_installation(key):
                continue
            problem = await self._rotate_one(key)
            if problem is None:
                outcome.rotated += 1
            elif problem:
                record = (key.decode() if isinstance(key, bytes) else key)[len(pattern) - 1 :]
                outcome.skipped.append((record, problem))
        return outcome

    async def _rotate_one(self, key: bytes | str) -> str | None:
        """None once `key` holds its record under the first key; "" if it was deleted
        meanwhile; else why it was left as it is."""
        for _ in range(ROTATE_ATTEMPTS):
            raw = await self._redis.get(key)
            if raw is None:
                return ""
            try:
                fresh = self._fernet.rotate(raw)
            except InvalidToken:
                return "no key in BRIDGE_ENCRYPTION_KEY decrypts it"
            if await self._replace(keys=[key], args=[raw, fresh]):
                return None
        return f"it was rewritten during each of {ROTATE_ATTEMPTS} attempts"


_INSTALLATION_ARGS = frozenset(Installation.__init__.__code__.co_varnames)


def _init_args(data: dict[str, Any]) -> dict[str, Any]:
    """The stored fields that `Installation(...)` takes (it stores a few derived ones too)."""
    return {k: v for k, v in data.items() if k in _INSTALLATION_ARGS}
