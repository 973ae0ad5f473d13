"""A Microsoft Teams stand-in: the Bot Connector REST API, Entra ID's token endpoint, the Bot
Framework's OpenID metadata and keys, and the Teams client that posts activities to the bot.

Every REST call is recorded (`calls`), each needs a token this emulator issued, and the limits
Teams documents apply when `enforce_limits()` is called (`emulators.teams.limits`). Faults are
queued per route — `send`, `update`, `delete`, `stream` or `any` — with `fail_next`
(`Fault("status", 429)`, `Fault("too_large")`, `Fault("disconnect")`).
The service URL carries a path (`{url}/amer/`), as Teams' regional ones do
(`https://smba.trafficmanager.net/amer/`), so a client that drops it fails here too.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp import web

from emulators.base import Call, Emulator, Fault, json_response
from emulators.teams.activities import ActivityMaker
from emulators.teams.auth import ConnectorAuth
from emulators.teams.connector import Connector, error, stream_info
from emulators.teams.limits import Windows
from emulators.teams.state import Conversation, Message, TeamsState, split_conversation

APP_ID = "00000000-0000-4000-8000-0000000000b0"
PASSWORD = "emulated-client-secret"
TENANT = "72f988bf-0000-4000-8000-00000000e1e1"
TEAM = "19:team-1@thread.tacv2"
CHANNEL = "19:general@thread.tacv2"
GROUP = "19:group-1@thread.v2"
USER = "29:user-alex"
BOT_NAME = "threadbridge"


class TeamsEmulator(Emulator):
    name = "teams"

    def __init__(
        self,
        app_id: str = APP_ID,
        password: str = PASSWORD,
        tenant: str = TENANT,
        token_ttl: float = 3600.0,
    ) -> None:
        self.auth = ConnectorAuth(app_id, password, tenant, token_ttl)
        self.state = TeamsState()
        self.bot_id = f"28:{app_id}"
        self.connector = Connector(self.state, self.bot_id)
        self.windows = Windows()
        self.rate_limited = 0
        self.bot_endpoints: list[str] = []
        """The bot's messaging endpoints (`…/api/messages`), one per replica behind a load
        balancer: deliveries go round-robin, skipping one that refuses the connection."""
        self._next = 0
        self.deliveries: list[tuple[dict[str, Any], int]] = []
        super().__init__()
        self.state.add_conversation(Conversation(CHANNEL, "channel", TEAM))
        self.state.add_conversation(Conversation(GROUP, "groupChat"))
        self.maker = ActivityMaker(self, BOT_NAME)
        self._session: aiohttp.ClientSession | None = None

    @property
    def service_url(self) -> str:
        return f"{self.url}/amer/"

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/v1/.well-known/openidconfiguration"

    @property
    def token_url(self) -> str:
        return f"{self.url}/{self.auth.tenant}/oauth2/v2.0/token"

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/.well-known/openidconfiguration", self._metadata)
        app.router.add_get("/v1/.well-known/keys", self._keys)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        base = "/amer/v3/conversations/{conversation}/activities"
        app.router.add_post(base, self._create)
        app.router.add_put(base + "/{activity}", self._update)
        app.router.add_delete(base + "/{activity}", self._delete)

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        await super().stop()

    def enforce_limits(self, enforced: bool = True) -> None:
        self.windows.enforced = enforced

    def personal_chat(self, user: str = USER) -> str:
        """The id of `user`'s personal chat with the bot (created on first use)."""
        conversation_id = f"a:personal-{user.removeprefix('29:')}"
        if conversation_id not in self.state.conversations:
            self.state.add_conversation(Conversation(conversation_id, "personal"))
        return conversation_id

    # --- the REST API -------------------------------------------------------------------

    async def _metadata(self, request: web.Request) -> web.Response:
        await self.record(request)
        return json_response(self.auth.metadata(self.url))

    async def _keys(self, request: web.Request) -> web.Response:
        await self.record(request)
        return json_response(self.auth.keys())

    async def _token(self, request: web.Request) -> web.Response:
        call = await self.record(request)
        if request.match_info["tenant"] != self.auth.tenant:
            body = {
                "error": "invalid_request",
                "error_description": "AADSTS90002: Tenant not found",
            }
            return json_response(body, status=400)
        status, body = self.auth.issue(call.body if isinstance(call.body, dict) else {})
        return json_response(body, status=status)

    async def _refused(self, request: web.Request, call: Call, route: str) -> web.Response | None:
        """401 without a valid token; else an injected fault for `route`, if one is queued."""
        if not self.auth.valid(request.headers.get("Authorization", "")):
            return json_response(
                {"message": "Authorization has been denied for this request."}, status=401
            )
        fault = self.take_fault("any") or self.take_fault(route)
        if fault is None:
            return None
        return await self._apply(request, fault)

    async def _apply(self, request: web.Request, fault: Fault) -> web.Response:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.kind == "disconnect":
            assert request.transport is not None
            request.transport.close()
            raise asyncio.CancelledError
        if fault.status == 429:
            self.rate_limited += 1
        return self.connector.fault(fault)

    def _throttled(self) -> web.Response:
        self.rate_limited += 1
        return error(429, "TooManyRequests", "API calls quota exceeded")

    async def _create(self, request: web.Request) -> web.Response:
        call = await self.record(request)
        conversation_id = request.match_info["conversation"]
        body = call.body
        route = "stream" if isinstance(body, dict) and stream_info(body) else "send"
        refused = await self._refused(request, call, route)
        refused = refused or self.connector.check_create(conversation_id, body)
        if refused is not None:
            return refused
        assert isinstance(body, dict)
        info = stream_info(body)
        if info is not None:
            refused = self.connector.stream_check(body)
            if refused is not None:
                return refused
        base, _ = split_conversation(conversation_id)
        updating = info is not None and body.get("type") == "typing"
        stream = str(info.get("streamId") or "") if info is not None and updating else None
        if not self.windows.admit(base, stream or None):
            return self._throttled()
        return self.connector.create(call, conversation_id, body)

    async def _update(self, request: web.Request) -> web.Response:
        call = await self.record(request)
        refused = await self._refused(request, call, "update")
        if refused is not None:
            return refused
        base, _ = split_conversation(request.match_info["conversation"])
        if not self.windows.admit(base):
            return self._throttled()
        return self.connector.update(request.match_info["activity"], call.body)

    async def _delete(self, request: web.Request) -> web.Response:
        call = await self.record(request)
        refused = await self._refused(request, call, "delete")
        if refused is not None:
            return refused
        base, _ = split_conversation(request.match_info["conversation"])
        if not self.windows.admit(base):
            return self._throttled()
        return self.connector.delete(request.match_info["activity"])

    # --- the Teams client: people posting, the connector delivering ---------------------

    async def deliver(
        self, activity: dict[str, Any], token: str | None = None, **claims: Any
    ) -> tuple[int, Any]:
        """POST `activity` to the bot as the connector does; `token` or `claims` forge it."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        if token is None:
            token = self.auth.activity_token(activity["serviceUrl"], **claims)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        for _ in range(len(self.bot_endpoints)):
            endpoint = self.bot_endpoints[self._next % len(self.bot_endpoints)]
            self._next += 1
            try:
                async with self._session.post(endpoint, json=activity, headers=headers) as resp:
                    body = await resp.json(content_type=None) if resp.content_length else None
            except aiohttp.ClientConnectionError:
                continue
            self.deliveries.append((activity, resp.status))
            return resp.status, body
        raise ConnectionError("no bot endpoint answers")

    async def channel_post(self, text: str, *, mention: bool = True, user: str = USER) -> Message:
        """A new post in the channel (a thread root), @mentioning the bot unless told not to."""
        message = self.state.post(CHANNEL, text, from_bot=False, author=user)
        await self.deliver(self.maker.message(message, mention=mention))
        return message

    async def thread_reply(
        self, root: str, text: str, *, mention: bool = False, user: str = USER
    ) -> Message:
        message = self.state.post(f"{CHANNEL};messageid={root}", text, from_bot=False, author=user)
        await self.deliver(self.maker.message(message, mention=mention))
        return message

    async def personal_message(self, text: str, *, user: str = USER) -> Message:
        message = self.state.post(self.personal_chat(user), text, from_bot=False, author=user)
        await self.deliver(self.maker.message(message, mention=False))
        return message

    async def group_message(self, text: str, *, mention: bool = True, user: str = USER) -> Message:
        message = self.state.post(GROUP, text, from_bot=False, author=user)
        await self.deliver(self.maker.message(message, mention=mention))
        return message

    async def press_stop(self, card: Message, *, execute: bool = False) -> tuple[int, Any]:
        """Press the Stop button of the Adaptive Card on the bot's message `card`."""
        return await self.deliver(self.maker.stop_press(card, execute=execute))

    async def press_feedback(
        self, message: Message, reaction: str = "like", text: str = "", user: str = USER
    ) -> tuple[int, Any]:
        """Press like or dislike under the bot's `message`: only one that asked for the
        feedback loop shows them."""
        if not message.from_bot or not message.feedback:
            raise AssertionError(f"message {message.id} shows no feedback buttons")
        return await self.deliver(self.maker.feedback_press(message, reaction, text, user))

    # --- what the client shows ----------------------------------------------------------

    def bot_messages(self, conversation: str = CHANNEL, root: str = "") -> list[Message]:
        return [m for m in self.state.in_conversation(conversation, root) if m.from_bot]

    def thread_text(self, root: str) -> str:
        return "".join(m.text for m in self.bot_messages(CHANNEL, root))

    def chat_text(self, conversation: str) -> str:
        return "".join(m.text for m in self.bot_messages(conversation))
