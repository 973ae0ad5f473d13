"""Message component interactions (buttons): INTERACTION_CREATE over the gateway, and the
interaction callback endpoint, as Discord documents them.

Discord (discord.com/developers/docs/interactions/receiving-and-responding): a press of a button
reaches the app as an `INTERACTION_CREATE` dispatch with `type` 3 (MESSAGE_COMPONENT), `data`
`{custom_id, component_type}`, the `message` it was pressed on, the channel, and `member` (in a
guild) or `user` (in a DM), plus an `id` and a `token`. The app answers within 3 s with
`POST /interactions/{id}/{token}/callback` (no bot token needed) whose body's `type` is an
interaction callback type (6 = DEFERRED_UPDATE_MESSAGE acknowledges a component without
changing the message); the answer is 204, or 200 with an interaction callback response when
`with_response=true`. A second callback for one interaction is refused (code 40060).
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulators.base import json_response

from . import errors, payloads
from .gateway import Delivery
from .state import Message, User

if TYPE_CHECKING:
    from .emulator import DiscordEmulator

MESSAGE_COMPONENT = 3
BUTTON = 2
CALLBACK_TYPES = frozenset({1, 4, 5, 6, 7, 8, 9, 10, 12})
ALREADY_ACKNOWLEDGED = 40060
UNKNOWN_INTERACTION = 10062
EPHEMERAL = 64
"""The message flag an interaction response sets to be seen by its user alone."""


@dataclass
class Pressed:
    """One interaction sent to the app, and the callbacks it answered with."""

    id: int
    token: str
    custom_id: str
    message_id: int
    session: str
    callbacks: list[dict[str, Any]] = field(default_factory=list)


class Components:
    """Delivers button presses and records the app's callbacks."""

    def __init__(self, emu: DiscordEmulator) -> None:
        self.emu = emu
        self.pressed: dict[int, Pressed] = {}
        self._ids = itertools.count(1)

    def owns(self, interaction_id: str) -> bool:
        """Whether `interaction_id` is a button press this emulator delivered."""
        return _int(interaction_id) in self.pressed

    async def press_button(
        self, message: Message, custom_id: str, user: User | None = None, session: str | None = None
    ) -> Pressed:
        """`user` presses the button `custom_id` on `message`; the dispatch goes to one gateway
        session (`session`, else the first that receives the message's guild)."""
        who = user or self.emu.user
        target = self._session(message.guild_id, session)
        pressed = Pressed(
            self.emu.world.ids.next(), secrets.token_urlsafe(24), custom_id, message.id, target
        )
        self.pressed[pressed.id] = pressed
        data: dict[str, Any] = {
            "id": str(pressed.id),
            "application_id": str(self.emu.application_id),
            "type": MESSAGE_COMPONENT,
            "data": {"custom_id": custom_id, "component_type": BUTTON},
            "channel_id": str(message.channel_id),
            "channel": {"id": str(message.channel_id), "type": self._channel_type(message)},
            "message": payloads.message(self.emu.world, message, gateway=False),
            "token": pressed.token,
            "version": 1,
            "app_permissions": "2248473465835073",
            "locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(message.guild_id or who.id)},
            "context": 0 if message.guild_id is not None else 1,
            "attachment_size_limit": 10485760,
        }
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
            data["guild_locale"] = "en-US"
            data["member"] = payloads.member(who)
        else:
            data["user"] = payloads.user(who)
        delivery = Delivery(message.guild_id, 0)
        await self.emu.gateway.send_to(target, "INTERACTION_CREATE", data, delivery)
        return pressed

    def _session(self, guild_id: int | None, wanted: str | None) -> str:
        sessions = self.emu.gateway.sessions
        if wanted is not None:
            return wanted
        for session in sessions.values():
            if session.owns(guild_id) and session.ws is not None and not session.ws.closed:
                return session.id
        raise RuntimeError("no gateway session to deliver the interaction to")

    def _channel_type(self, message: Message) -> int:
        channel = self.emu.world.channels.get(message.channel_id)
        return int(channel.type) if channel is not None else 0

    async def callback(self, request: web.Request) -> web.StreamResponse:
        call = await self.emu.record(request)
        pressed = self.pressed.get(_int(request.match_info["interaction_id"]))
        if pressed is None or pressed.token != request.match_info["token"]:
            return errors.error(404, UNKNOWN_INTERACTION, "Unknown interaction")
        body = call.body if isinstance(call.body, dict) else {}
        kind = body.get("type")
        if kind not in CALLBACK_TYPES:
            return errors.error(400, 50035, "Invalid Form Body")
        if pressed.callbacks:
            message = "Interaction has already been acknowledged."
            return errors.error(400, ALREADY_ACKNOWLEDGED, message)
        pressed.callbacks.append(body)
        if request.query.get("with_response", "").lower() not in ("1", "true"):
            return web.Response(status=204)
        answer = {
            "interaction": {
                "id": str(pressed.id),
                "type": MESSAGE_COMPONENT,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(
                    int((body.get("data") or {}).get("flags") or 0) & EPHEMERAL
                ),
            },
            "resource": {"type": kind},
        }
        return json_response(answer)


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0
