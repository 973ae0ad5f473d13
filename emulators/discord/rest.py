"""The REST API under /api/v10: routing, auth, faults and the non-message endpoints.

Every call is recorded, checked against `Authorization: Bot <token>` (401 otherwise, which
discord.py turns into LoginFailure), then offered to a queued fault and the global limit.
Message, thread, typing and reaction endpoints live in `messages.py`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from email.parser import BytesParser
from email.policy import HTTP
from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulators.base import Fault, fault_response, json_response

from . import errors, payloads
from .messages import MessageRoutes
from .routing import Endpoint

if TYPE_CHECKING:
    from .emulator import DiscordEmulator

API = "/api/v10"


class Rest:
    """Registers every endpoint and wraps each in the shared checks."""

    def __init__(self, emu: DiscordEmulator) -> None:
        self.emu = emu
        self.messages = MessageRoutes(emu)

    def register(self, app: web.Application) -> None:
        for endpoint in self.endpoints():
            app.router.add_route(endpoint.method, API + endpoint.path, self._wrap(endpoint))
        app.router.add_route("*", API + "/{tail:.*}", self._unknown)

    def endpoints(self) -> list[Endpoint]:
        m = self.messages
        cmds = "/applications/{application_id}/commands"
        guild_cmds = "/applications/{application_id}/guilds/{guild_id}/commands"
        return [
            Endpoint("GET", "/gateway", "gateway", self.gateway, auth=False),
            Endpoint("GET", "/gateway/bot", "gateway_bot", self.gateway_bot),
            Endpoint("GET", "/users/@me", "users_me", self.users_me),
            Endpoint("POST", "/users/@me/channels", "create_dm", self.create_dm),
            Endpoint("GET", "/users/{user_id}", "get_user", self.get_user),
            Endpoint("GET", "/oauth2/applications/@me", "application", self.application),
            # "Get Current Application" (discord.com/developers/docs/resources/application):
            # the same object, where `flags` tells which privileged intents are enabled.
            Endpoint("GET", "/applications/@me", "application", self.application),
            Endpoint("GET", "/channels/{channel_id}", "get_channel", self.get_channel),
            Endpoint(
                "GET",
                "/channels/{channel_id}/thread-members/{user_id}",
                "get_thread_member",
                self.get_thread_member,
            ),
            Endpoint("GET", cmds, "commands", self.list_commands),
            Endpoint("PUT", cmds, "commands", self.put_commands),
            Endpoint("POST", cmds, "commands", self.post_command),
            Endpoint("GET", guild_cmds, "commands", self.list_commands),
            Endpoint("PUT", guild_cmds, "commands", self.put_commands),
            Endpoint("POST", guild_cmds, "commands", self.post_command),
            *m.endpoints(),
        ]

    def _wrap(self, endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def run(request: web.Request) -> web.StreamResponse:
            call = await self.emu.record(request)
            if endpoint.auth and request.headers.get("Authorization") != f"Bot {self.emu.token}":
                return errors.unauthorized()
            fault = self.emu.take_fault(endpoint.name)
            if fault is not None:
                answer = await self._apply(fault, request, endpoint)
                if answer is not None:
                    return answer
            limited = self.emu.limits.check_global(endpoint.key)
            if limited is not None:
                return limited
            return await endpoint.handler(request, await _body(request, call.body))

        return run

    async def _apply(
        self, fault: Fault, request: web.Request, endpoint: Endpoint
    ) -> web.StreamResponse | None:
        """Delay, drop or answer per `fault`; None lets the request through (e.g. "slow")."""
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.kind == "disconnect":
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)  # never reaches the client: the socket is gone
        if fault.kind != "status":
            return None
        if fault.status == 429:
            self.emu.limits.count += 1
            self.emu.limits.by_route[endpoint.key] += 1
        return fault_response(fault)

    async def _unknown(self, request: web.Request) -> web.StreamResponse:
        await self.emu.record(request)
        return errors.not_found()

    async def gateway(self, request: web.Request, body: Any) -> web.StreamResponse:
        return json_response({"url": self.emu.gateway_url})

    async def gateway_bot(self, request: web.Request, body: Any) -> web.StreamResponse:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
        return json_response(
            {"url": self.emu.gateway_url, "shards": 1, "session_start_limit": limit}
        )

    async def users_me(self, request: web.Request, body: Any) -> web.StreamResponse:
        me = payloads.user(self.emu.bot)
        me.update(verified=True, mfa_enabled=False, flags=0, email=None, locale="en-US")
        return json_response(me)

    async def get_user(self, request: web.Request, body: Any) -> web.StreamResponse:
        user = self.emu.world.users.get(_int(request.match_info["user_id"]))
        if user is None:
            return errors.error(404, errors.UNKNOWN_USER, "Unknown User")
        return json_response(payloads.user(user))

    async def application(self, request: web.Request, body: Any) -> web.StreamResponse:
        return json_response(
            {
                "id": str(self.emu.application_id),
                "name": self.emu.bot.username,
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": payloads.user(self.emu.owner),
                "team": None,
                "verify_key": "0" * 64,
                "flags": self.emu.app_flags,
                "bot": payloads.user(self.emu.bot),
                "interactions_endpoint_url": None,
                "approximate_guild_count": len(self.emu.world.guilds),
                "redirect_uris": [],
                "tags": [],
            }
        )

    async def create_dm(self, request: web.Request, body: Any) -> web.StreamResponse:
        user = self.emu.world.users.get(_int((body or {}).get("recipient_id")))
        if user is None or user.id == self.emu.bot_id:
            return errors.error(400, errors.INVALID_RECIPIENT, "Invalid Recipient(s)")
        channel = self.emu.world.dm_channel(user)
        return json_response(payloads.channel(self.emu.world, channel))

    async def get_channel(self, request: web.Request, body: Any) -> web.StreamResponse:
        channel = self.emu.world.channels.get(_int(request.match_info["channel_id"]))
        if channel is None:
            return errors.unknown_channel()
        return json_response(payloads.channel(self.emu.world, channel))

    async def get_thread_member(self, request: web.Request, body: Any) -> web.StreamResponse:
        """Get Thread Member: "Returns a thread member object for the specified user if they
        are a member of the thread, returns a 404 response otherwise" (channel resource). A
        public thread's members here are its owner and whoever posted in it."""
        channel = self.emu.world.channels.get(_int(request.match_info["channel_id"]))
        if channel is None or not channel.is_thread:
            return errors.unknown_channel()
        user_id = _int(request.match_info["user_id"])
        if user_id not in self.emu.world.thread_members(channel):
            return errors.error(404, errors.UNKNOWN_MEMBER, "Unknown Member")
        return json_response(payloads.thread_member(channel, user_id))

    async def list_commands(self, request: web.Request, body: Any) -> web.StreamResponse:
        if (denied := self._foreign_app(request)) is not None:
            return denied
        return json_response(self.emu.commands.get(_guild_key(request), []))

    async def put_commands(self, request: web.Request, body: Any) -> web.StreamResponse:
        """Bulk overwrite: the list replaces the scope's commands; same names keep their ids."""
        if (denied := self._foreign_app(request)) is not None:
            return denied
        if not isinstance(body, list):
            return errors.form_error("_root", "LIST_TYPE_CONVERT", "Must be a list.")
        scope = _guild_key(request)
        old = {c["name"]: c for c in self.emu.commands.get(scope, [])}
        result = [self._command(item, scope, old.get(item.get("name", ""))) for item in body]
        self.emu.commands[scope] = result
        return json_response(result)

    async def post_command(self, request: web.Request, body: Any) -> web.StreamResponse:
        if (denied := self._foreign_app(request)) is not None:
            return denied
        scope = _guild_key(request)
        existing = self.emu.commands.setdefault(scope, [])
        old = next((c for c in existing if c["name"] == body.get("name")), None)
        command = self._command(body, scope, old)
        self.emu.commands[scope] = [c for c in existing if c is not old] + [command]
        return json_response(command, status=200 if old else 201)

    def _command(
        self, item: dict[str, Any], scope: int | None, old: dict[str, Any] | None
    ) -> dict[str, Any]:
        command = {
            "type": 1,
            "description": "",
            "options": [],
            "default_member_permissions": None,
            "nsfw": False,
            **item,
            "id": old["id"] if old else str(self.emu.world.ids.next()),
            "application_id": str(self.emu.application_id),
            "version": str(self.emu.world.ids.next()),
        }
        if scope is not None:
            command["guild_id"] = str(scope)
        return command

    def _foreign_app(self, request: web.Request) -> web.Response | None:
        if _int(request.match_info["application_id"]) == self.emu.application_id:
            return None
        return errors.error(
            403,
            errors.NOT_AUTHORIZED_APP,
            "You are not authorized to perform this action on this application",
        )


async def _body(request: web.Request, recorded: Any) -> Any:
    """The JSON body; for multipart uploads, `payload_json` plus the files as attachments."""
    if request.content_type != "multipart/form-data":
        return recorded
    raw = await request.read()
    head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
    form = BytesParser(policy=HTTP).parsebytes(head + raw)
    body: dict[str, Any] = {}
    files: list[dict[str, Any]] = []
    for part in form.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        assert isinstance(data, bytes)
        if name == "payload_json":
            body.update(json.loads(data))
        elif part.get_filename():
            files.append({"filename": part.get_filename(), "size": len(data)})
    body["_files"] = files
    return body


def _guild_key(request: web.Request) -> int | None:
    raw = request.match_info.get("guild_id")
    return None if raw is None else _int(raw)


def _int(value: Any) -> int:
    """A snowflake from a path or body value; 0 (never a real id) if it is not a number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
