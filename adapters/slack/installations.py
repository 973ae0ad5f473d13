"""Slack installations in Redis, encrypted: one deployment serves every workspace that installs it.

Implements slack_sdk's `AsyncInstallationStore` (bolt's authorize picks a workspace's token
through it) and `AsyncOAuthStateStore` (single-use install states). Tokens are Fernet-encrypted
with BRIDGE_ENCRYPTION_KEY; several comma-separated keys make a MultiFernet, so keys rotate
without a migration (the first encrypts, all decrypt; `rotate` re-encrypts with the first).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from typing import Any

from cryptography.fernet import InvalidToken, MultiFernet
from redis.asyncio import Redis
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bridge.encryption import cipher
from bridge.keys import OAUTH_STATE_TTL, Keys

log = logging.getLogger(__name__)

STATE_TTL = OAUTH_STATE_TTL
__all__ = ["RedisInstallationStore", "RedisStateStore", "cipher"]


class RedisInstallationStore(AsyncInstallationStore):
    """The latest installation of each workspace, one encrypted value per workspace."""

    def __init__(self, redis: Redis, prefix: str, fernet: MultiFernet) -> None:
        self._redis = redis
        self._keys = Keys(prefix)
        self._fernet = fernet

    @property
    def logger(self) -> logging.Logger:
        return log

    def _key(self, enterprise_id: str | None, team_id: str | None) -> str:
        return self._keys.slack_installation(enterprise_id, team_id)

    async def async_save(self, installation: Installation) -> None:
        key = self._key(installation.enterprise_id, installation.team_id)
        data = json.dumps(installation.__dict__, default=str).encode()
        await self._redis.set(key, self._fernet.encrypt(data))

    async def async_save_bot(self, bot: Bot) -> None:
        installation = await self.async_find_installation(
            enterprise_id=bot.enterprise_id, team_id=bot.team_id
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
            enterprise_id=enterprise_id, team_id=team_id
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
        raw = await self._redis.get(self._key(enterprise_id, team_id))
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
        await self._redis.delete(self._key(enterprise_id, team_id))

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await self._redis.delete(self._key(enterprise_id, team_id))

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._redis.delete(self._key(enterprise_id, team_id))

    async def rotate(self) -> int:
        """Re-encrypt every installation with the first key; returns how many were rewritten."""
        count = 0
        async for key in self._redis.scan_iter(match=self._keys.slack_installations()):
            raw = await self._redis.get(key)
            if raw is not None:
                await self._redis.set(key, self._fernet.rotate(raw))
                count += 1
        return count


_INSTALLATION_ARGS = frozenset(Installation.__init__.__code__.co_varnames)


def _init_args(data: dict[str, Any]) -> dict[str, Any]:
    """The stored fields that `Installation(...)` takes (it stores a few derived ones too)."""
    return {k: v for k, v in data.items() if k in _INSTALLATION_ARGS}


class RedisStateStore(AsyncOAuthStateStore):
    """Single-use OAuth states with a ten-minute life, shared by every replica.

    With SLACK_STATE_SECRET set, each state also carries an HMAC of its nonce, so a state
    that did not come from this app is refused before Redis is asked.
    """

    def __init__(self, redis: Redis, prefix: str, secret: str = "") -> None:
        self._redis = redis
        self._keys = Keys(prefix)
        self._secret = secret.encode()

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        nonce = secrets.token_urlsafe(24)
        await self._redis.set(self._keys.slack_oauth_state(nonce), "1", ex=STATE_TTL)
        return f"{nonce}.{self._sign(nonce)}" if self._secret else nonce

    async def async_consume(self, state: str) -> bool:
        nonce = state
        if self._secret:
            nonce, _, mac = state.partition(".")
            if not hmac.compare_digest(mac, self._sign(nonce)):
                return False
        deleted = await self._redis.delete(self._keys.slack_oauth_state(nonce))
        return bool(deleted)

    def _sign(self, nonce: str) -> str:
        return hmac.new(self._secret, nonce.encode(), hashlib.sha256).hexdigest()[:32]
