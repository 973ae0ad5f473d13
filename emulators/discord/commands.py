"""Application (slash) commands: a user runs one, the app answers through the callback.

Per https://discord.com/developers/docs/interactions/receiving-and-responding: the app gets
INTERACTION_CREATE (type 2, APPLICATION_COMMAND) on the gateway with a single-use `token`,
the invoking `member` (with `permissions`, the member's resolved permissions in the channel)
or `user` in DMs, the `channel`, and the user's `locale`; it answers within 3 s with
`POST /interactions/{id}/{token}/callback` (type 4 CHANNEL_MESSAGE_WITH_SOURCE, `data.flags`
64 = EPHEMERAL). With `?with_response=true` the answer is an interaction callback response
object (200), otherwise 204.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulators.base import json_response

from . import payloads
from .gateway import Delivery
from .state import Channel, User

if TYPE_CHECKING:
    from .emulator import DiscordEmulator

CALLBACK = "/api/v10/interactions/{interaction_id}/{token}/callback"
SUB_COMMAND = 1
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
MANAGE_CHANNELS = 1 << 4
BASIC_PERMISSIONS = (1 << 10) | (1 << 11)  # VIEW_CHANNEL, SEND_MESSAGES


@dataclass
class Interaction:
    """One command a user ran, and the callback the app sent for it."""

    id: int
    token: str
    payload: dict[str, Any]
    answered: asyncio.Future[dict[str, Any]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class Interactions:
    """Delivers command interactions and takes their callbacks."""

    def __init__(self, emu: DiscordEmulator) -> None:
        self.emu = emu
        self.pending: dict[int, Interaction] = {}
        self.answers: list[dict[str, Any]] = []
        self.granted: dict[tuple[int, int], int] = {}
        """The Manage Channels role `run(manage_channels=True)` gave, per (guild, user)."""

    async def run(
        self,
        channel: Channel,
        name: str,
        sub: str,
        options: dict[str, Any] | None = None,
        *,
        user: User | None = None,
        manage_channels: bool = False,
        locale: str = "en-US",
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """`user` runs `/name sub [options]` in `channel`; returns the app's callback body.
        `manage_channels` first gives the user a role with Manage Channels (unless they hold it),
        so the interaction's resolved permissions and the guild's roles agree."""
        emu = self.emu
        command = self._registered(name, channel.guild_id)
        who = user or emu.user
        if channel.guild_id is not None:
            await self._manager(who, channel.guild_id, manage_channels)
        interaction = Interaction(emu.world.ids.next(), secrets.token_urlsafe(24), {})
        interaction.payload = self._payload(
            interaction, command, sub, options or {}, channel, who, manage_channels, locale
        )
        self.pending[interaction.id] = interaction
        delivery = Delivery(channel.guild_id if not channel.is_dm else None, 0)
        await emu.gateway.dispatch("INTERACTION_CREATE", interaction.payload, delivery)
        return await asyncio.wait_for(asyncio.shield(interaction.answered), timeout)

    async def _manager(self, who: User, guild_id: int, manage: bool) -> None:
        """Give `who` Manage Channels for this command through a role, or take back the role
        an earlier command gave (roles granted otherwise stay)."""
        key = (guild_id, who.id)
        if manage:
            role = await self.emu.ensure_permission(who, guild_id, MANAGE_CHANNELS)
            if role is not None:
                self.granted[key] = role.id
            return
        role_id = self.granted.pop(key, None)
        roles = self.emu.world.guilds[guild_id].member_roles.get(who.id, [])
        if role_id in roles:
            roles.remove(role_id)

    def _registered(self, name: str, guild_id: int | None) -> dict[str, Any]:
        scoped = self.emu.commands.get(guild_id, []) + self.emu.commands.get(None, [])
        for command in scoped:
            if command["name"] == name:
                return command
        raise LookupError(f"no application command named {name!r} is registered")

    def _payload(
        self,
        interaction: Interaction,
        command: dict[str, Any],
        sub: str,
        options: dict[str, Any],
        channel: Channel,
        who: User,
        manage_channels: bool,
        locale: str,
    ) -> dict[str, Any]:
        sub_options = [
            {"name": key, "type": _option_type(value), "value": value}
            for key, value in options.items()
        ]
        data: dict[str, Any] = {
            "id": interaction.id,
            "application_id": str(self.emu.application_id),
            "type": 2,
            "token": interaction.token,
            "version": 1,
            "data": {
                "id": str(command["id"]),
                "name": command["name"],
                "type": 1,
                "options": [{"name": sub, "type": SUB_COMMAND, "options": sub_options}],
            },
            "channel_id": str(channel.id),
            "channel": payloads.channel(self.emu.world, channel),
            "locale": locale,
            "app_permissions": str(BASIC_PERMISSIONS),
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(channel.guild_id or who.id)},
            "context": 1 if channel.is_dm else 0,
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        data["id"] = str(interaction.id)
        if channel.is_dm:
            data["user"] = payloads.user(who)
            return data
        guild = self.emu.world.guilds[channel.guild_id]
        permissions = BASIC_PERMISSIONS | self.emu.member_permissions(who, guild)
        if who.id == guild.owner_id:
            permissions |= MANAGE_CHANNELS
        member = payloads.member(who, guild=guild)
        member["permissions"] = str(permissions)
        data |= {"guild_id": str(channel.guild_id), "guild_locale": "en-US", "member": member}
        return data

    async def callback(self, request: web.Request) -> web.StreamResponse:
        call = await self.emu.record(request)
        found = self.pending.pop(int(request.match_info["interaction_id"]), None)
        if found is None or found.token != request.match_info["token"]:
            return json_response({"message": "Unknown interaction", "code": 10062}, 404)
        body = call.body if isinstance(call.body, dict) else {}
        self.answers.append(body)
        if not found.answered.done():
            found.answered.set_result(body)
        if request.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        flags = int((body.get("data") or {}).get("flags") or 0)
        return json_response(
            {
                "interaction": {
                    "id": str(found.id),
                    "type": 2,
                    "response_message_loading": False,
                    "response_message_ephemeral": bool(flags & 64),
                },
                "resource": {"type": body.get("type", 4)},
            }
        )


def _option_type(value: Any) -> int:
    """STRING 3, INTEGER 4, BOOLEAN 5."""
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    return 3
