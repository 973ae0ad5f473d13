"""Slack installations in the core's plugin state, encrypted: one deployment serves every
workspace that installs it.

Implements slack_sdk's `AsyncInstallationStore` (bolt's authorize picks a workspace's token
through it). Tokens are Fernet-encrypted with BRIDGE_ENCRYPTION_KEY; several comma-separated
keys make a MultiFernet, so keys rotate without a migration (the first encrypts, all decrypt;
`rotate` re-encrypts with the first). The record is the tenant's value `installation`, so
forgetting a workspace (uninstall) deletes it with the rest of its data.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import InvalidToken, MultiFernet
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

from bridge.contracts import PluginState
from bridge.contracts.toolkit.encryption import cipher

log = logging.getLogger(__name__)

NAME = "installation"
"""The plugin-state value holding a workspace's (or an org's) encrypted installation."""
ROTATE_ATTEMPTS = 5
"""Tries per record when a reinstall keeps rewriting it during a rotation."""

__all__ = ["NAME", "RedisInstallationStore", "Rotation", "cipher"]


@dataclass
class Rotation:
    """What a key rotation did: records re-encrypted, and the tenants (workspace or org ids)
    of those it left as they were, each with the reason."""

    rotated: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


class RedisInstallationStore(AsyncInstallationStore):
    """The latest installation of each workspace, one encrypted value per workspace."""

    def __init__(self, state: PluginState, fernet: MultiFernet) -> None:
        self._state = state
        self._fernet = fernet

    @property
    def logger(self) -> logging.Logger:
        return log

    @staticmethod
    def _tenant(
        enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
    ) -> str:
        """A workspace install is kept under its team id alone, an org-wide install under its
        org (Slack's `E…` and `T…` ids never collide).

        Team ids are unique across Slack and stay the same when a workspace moves into an
        Enterprise Grid org, so an event (which names the org too), a reply and an uninstall
        (which know the workspace) all reach the same record.
        """
        if is_enterprise_install or not team_id:
            return enterprise_id or "-"
        return team_id

    async def async_save(self, installation: Installation) -> None:
        tenant = self._tenant(
            installation.enterprise_id, installation.team_id, installation.is_enterprise_install
        )
        data = json.dumps(installation.__dict__, default=str).encode()
        await self._state.set(tenant, NAME, self._fernet.encrypt(data).decode())

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
        tenant = self._tenant(enterprise_id, team_id, is_enterprise_install)
        raw = await self._state.get(tenant, NAME)
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
        await self._state.delete(self._tenant(enterprise_id, team_id, False), NAME)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await self._state.delete(self._tenant(enterprise_id, team_id, False), NAME)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._state.delete(self._tenant(enterprise_id, team_id, False), NAME)

    async def rotate(self) -> Rotation:
        """Re-encrypt every installation with the first key, each in one write; a record no key
        decrypts is left as it is and reported, and the others are still rotated."""
        outcome = Rotation()
        async for tenant in self._state.tenants(NAME):
            problem = await self._rotate_one(tenant)
            if problem is None:
                outcome.rotated += 1
            elif problem:
                outcome.skipped.append((tenant, problem))
        return outcome

    async def _rotate_one(self, tenant: str) -> str | None:
        """None once `tenant` holds its record under the first key; "" if it was deleted
        meanwhile; else why it was left as it is."""
        for _ in range(ROTATE_ATTEMPTS):
            raw = await self._state.get(tenant, NAME)
            if raw is None:
                return ""
            try:
                fresh = self._fernet.rotate(raw.encode()).decode()
            except InvalidToken:
                return "no key in BRIDGE_ENCRYPTION_KEY decrypts it"
            if await self._state.replace(tenant, NAME, raw, fresh):
                return None
        return f"it was rewritten during each of {ROTATE_ATTEMPTS} attempts"


_INSTALLATION_ARGS = frozenset(Installation.__init__.__code__.co_varnames)


def _init_args(data: dict[str, Any]) -> dict[str, Any]:
    """The stored fields that `Installation(...)` takes (it stores a few derived ones too)."""
    return {k: v for k, v in data.items() if k in _INSTALLATION_ARGS}
