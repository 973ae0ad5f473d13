"""Application (slash) commands: a user runs one, the app answers through the callback.

Per https://discord.com/developers/docs/interactions/receiving-and-responding: the app gets
INTERACTION_CREATE (type 2, APPLICATION_COMMAND) on the gateway with a single-use `token`,
the invoking `member` (with `permissions`, the member's resolved permissions in the channel)
or `user` in DMs, the `channel`, and the user's `locale`; it answers within 3 s with
`POST /interactions/{id}/{token}/callback` (type 4 CHANNEL_MESSAGE_WITH_SOURCE, `data.flags`
64 = EPHEMERAL). With `?with_response=true` the answer is an interaction callback response
object (200), otherwise 204.

The same page: "you must send an initial response within 3 seconds of receiving the event. If
the 3 second deadline is exceeded, the token will be invalidated" — a later callback is answered
404 / 10062 Unknown interaction here. An app that needs longer answers type 5
DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE (the user sees "thinking…"; `data.flags` 64 keeps it
ephemeral) and then "Create Followup Message", `POST /webhooks/{application.id}/{token}`, which
"functions the same as Execute Webhook, but `wait` is always true" (so it answers the message
object, whatever `?wait` says); "interaction tokens are valid for 15 minutes". A followup for a
token that was never acknowledged (or has expired) is 404 / 10015 Unknown Webhook.
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
from .state import Channel, Message, User

if TYPE_CHECKING:
    from .emulator import DiscordEmulator

CALLBACK = "/api/v10/interactions/{interaction_id}/{token}/callback"
FOLLOWUP = "/api/v10/webhooks/{application_id}/{token}"
RESPONSE_DEADLINE = 3.0
TOKEN_LIFETIME = 15 * 60.0
UNKNOWN_INTERACTION = 10062
UNKNOWN_WEBHOOK = 10015
DEFERRED = 5
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
    created: float = field(default_factory=lambda: asyncio.get_running_loop().time())
    """When INTERACTION_CREATE went out; the 3 s deadline and the token's 15 min run from it."""
    late: list[dict[str, Any]] = field(default_factory=list)
    """Initial responses refused because they came after the 3 s deadline."""
    followups: list[dict[str, Any]] = field(default_factory=list)

    def age(self) -> float:
        return asyncio.get_running_loop().time() - self.created


class Interactions:
    """Delivers command interactions and takes their callbacks."""

    def __init__(self, emu: DiscordEmulator) -> None:
        self.emu = emu
        self.pending: dict[int, Interaction] = {}
        self.acknowledged: dict[str, Interaction] = {}
        """Interactions answered in time, by token: their followup webhook works."""
        self.history: list[Interaction] = []
        """Every command run, in order."""
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
        interaction = await self.start(
            channel, name, sub, options, user=user, manage_channels=manage_channels, locale=locale
        )
        return await asyncio.wait_for(asyncio.shield(interaction.answered), timeout)

    async def start(
        self,
        channel: Channel,
        name: str,
        sub: str,
        options: dict[str, Any] | None = None,
        *,
        user: User | None = None,
        manage_channels: bool = False,
        locale: str = "en-US",
    ) -> Interaction:
        """Deliver the command and return at once: the test follows `answered` / `followups`."""
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
        self.history.append(interaction)
        delivery = Delivery(channel.guild_id if not channel.is_dm else None, 0)
        interaction.created = asyncio.get_running_loop().time()
        await emu.gateway.dispatch("INTERACTION_CREATE", interaction.payload, delivery)
        return interaction

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
            return _unknown_interaction()
        body = call.body if isinstance(call.body, dict) else {}
        if found.age() > RESPONSE_DEADLINE:
            found.late.append(body)
            return _unknown_interaction()
        self.answers.append(body)
        self.acknowledged[found.token] = found
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
                    "response_message_loading": body.get("type") == DEFERRED,
                    "response_message_ephemeral": bool(flags & 64),
                },
                "resource": {"type": body.get("type", 4)},
            }
        )

    async def followup(self, request: web.Request) -> web.StreamResponse:
        """Create Followup Message: the message object (`wait` is always true), ephemeral if
        `flags` has 64; not shown in the channel (tests read `Interaction.followups`)."""
        call = await self.emu.record(request)
        found = self.acknowledged.get(request.match_info["token"])
        if (
            found is None
            or request.match_info["application_id"] != str(self.emu.application_id)
            or found.age() > TOKEN_LIFETIME
        ):
            return json_response({"message": "Unknown Webhook", "code": UNKNOWN_WEBHOOK}, 404)
        body = call.body if isinstance(call.body, dict) else {}
        found.followups.append(body)
        return json_response(self._followup_message(found, body))

    def _followup_message(self, found: Interaction, body: dict[str, Any]) -> dict[str, Any]:
        channel_id = int(found.payload["channel_id"])
        guild = found.payload.get("guild_id")
        message = Message(
            self.emu.world.ids.next(),
            channel_id,
            int(guild) if guild else None,
            self.emu.bot,
            str(body.get("content") or ""),
            flags=int(body.get("flags") or 0),
        )
        data = payloads.message(self.emu.world, message, gateway=False)
        app = str(self.emu.application_id)
        data |= {"webhook_id": app, "application_id": app}
        return data


def _unknown_interaction() -> web.Response:
    return json_response({"message": "Unknown interaction", "code": UNKNOWN_INTERACTION}, 404)


def _option_type(value: Any) -> int:
    """STRING 3, INTEGER 4, BOOLEAN 5."""
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    return 3
