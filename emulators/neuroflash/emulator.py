"""NeuroflashEmulator: the neuroflash v1 conversation API (seed 002) and its OAuth token endpoint.

Point the provider at `url + "/api"` and `url + "/oauth/v2/token"`. Tests queue replies with
`script`, pick an event shape with `variant`, inject faults with `fail_next(route, Fault)` on the
routes "token", "create", "stream" and "messages", and read `llm_runs`, `token_requests`,
`unauthorized`, `disconnects` and `conversations`.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
import uuid
from collections import deque
from datetime import datetime
from typing import Any

from aiohttp import web

from emulators.base import (
    WORKSPACES_PATH,
    Emulator,
    Fault,
    fault_response,
    json_response,
    workspaces_listing,
)
from emulators.neuroflash.state import (
    PATCH_KEYS,
    STEERING_KEYS,
    Conversation,
    default_reply,
    now_iso,
    page_of,
)
from emulators.neuroflash.streams import STREAM_FAULTS, open_stream

BASE = "/api/v1/workspaces/{ws}/conversations"


def _error(status: int, code: str, message: str) -> web.Response:
    return json_response({"code": code, "message": message}, status=status)


class NeuroflashEmulator(Emulator):
    """One neuroflash workspace with one OAuth client."""

    name = "neuroflash"

    def __init__(
        self,
        client_id: str = "nf-client",
        client_secret: str = "nf-secret",
        workspace_id: str = "ws-test",
        *,
        token_ttl: float = 3600.0,
        tokens_per_second: float = 200.0,
        variant: str = "event-field",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.workspace_id = workspace_id
        self.token_ttl = token_ttl
        self.tokens_per_second = tokens_per_second
        self.variant = variant
        self.conversations: dict[str, Conversation] = {}
        self.token_requests = 0
        self.llm_runs = 0
        self.streams = 0
        self.unauthorized = 0
        self.disconnects = 0
        self.hold: asyncio.Event | None = None
        """While set to an unset Event, every reply waits before its last event (tests use it to
        keep a reply running until later posts have queued behind it)."""
        self._tokens: dict[str, float] = {}
        self._script: deque[str] = deque()
        super().__init__(host, port)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/oauth/v2/token", self._token)
        app.router.add_get(WORKSPACES_PATH, self._workspaces)
        app.router.add_post(BASE, self._create)
        app.router.add_get(BASE, self._list)
        app.router.add_patch(BASE + "/{cid}", self._patch)
        app.router.add_post(BASE + "/{cid}/messages", self._send)
        app.router.add_get(BASE + "/{cid}/messages", self._messages)
        app.router.add_post(BASE + "/{cid}/message-streams", self._stream)
        app.router.add_delete(BASE + "/{cid}/message-streams", self._cancel)

    # What tests use ---------------------------------------------------------------------

    def script(self, *texts: str) -> None:
        """Queue exact replies for the next generations (one text each)."""
        self._script.extend(texts)

    def revoke_tokens(self) -> None:
        """Make every token issued so far answer 401."""
        self._tokens.clear()

    @property
    def token_interval(self) -> float:
        return 1.0 / self.tokens_per_second if self.tokens_per_second > 0 else 0.0

    def generate(self, user_text: str) -> str:
        """One real LLM run: the next scripted reply, or a default derived from `user_text`."""
        self.llm_runs += 1
        return self._script.popleft() if self._script else default_reply(user_text)

    def history(self, conversation_id: str) -> list[dict[str, Any]]:
        return [m.wire() for m in self.conversations[conversation_id].messages]

    # Auth -------------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.StreamResponse:
        call = await self.record(request)
        self.token_requests += 1
        fault = await self._apply_fault("token", request)
        if fault is not None:
            return fault
        form = call.body if isinstance(call.body, dict) else {}
        if form.get("grant_type") != "client_credentials":
            return json_response({"error": "unsupported_grant_type"}, status=400)
        client_id, client_secret = _client_credentials(request, form)
        if client_id != self.client_id or client_secret != self.client_secret:
            return json_response(
                {"error": "invalid_client", "error_description": "Client authentication failed"},
                status=401,
            )
        token = secrets.token_urlsafe(24)
        self._tokens[token] = time.monotonic() + self.token_ttl
        ttl = max(1, int(self.token_ttl))
        return json_response({"access_token": token, "token_type": "Bearer", "expires_in": ttl})

    def _denied_token(self, request: web.Request) -> web.Response | None:
        """401 for a missing, expired or revoked token."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        expires = self._tokens.get(token) if scheme.lower() == "bearer" else None
        if expires is None or time.monotonic() >= expires:
            self.unauthorized += 1
            response = _error(401, "unauthorized", "The access token is missing or expired.")
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return response
        return None

    def _denied(self, request: web.Request) -> web.Response | None:
        """401 for a missing, expired or revoked token; 403 for another workspace."""
        denied = self._denied_token(request)
        if denied is not None:
            return denied
        if request.match_info.get("ws") != self.workspace_id:
            return _error(403, "forbidden", "The token is not valid for this workspace.")
        return None

    async def _apply_fault(self, route: str, request: web.Request) -> web.StreamResponse | None:
        """Apply the fault queued for `route`, if any: a response to send instead, or None."""
        return await _generic_fault(self.take_fault(route), request)

    async def _guard(self, request: web.Request, route: str | None) -> web.StreamResponse | None:
        denied = self._denied(request)
        if denied is not None:
            return denied
        return await self._apply_fault(route, request) if route else None

    def _conversation(self, request: web.Request) -> Conversation | web.Response:
        found = self.conversations.get(request.match_info["cid"])
        if found is None:
            return _error(404, "conversationNotFound", "No such conversation in this workspace.")
        return found

    async def _workspaces(self, request: web.Request) -> web.StreamResponse:
        await self.record(request)
        return self._denied_token(request) or workspaces_listing(self.workspace_id)

    # Conversations ----------------------------------------------------------------------

    async def _create(self, request: web.Request) -> web.StreamResponse:
        call = await self.record(request)
        problem = await self._guard(request, "create")
        if problem is not None:
            return problem
        body = call.body if call.body is not None else {}
        if not isinstance(body, dict) or set(body) - set(STEERING_KEYS):
            return _error(422, "validationError", f"Body may only hold {', '.join(STEERING_KEYS)}.")
        if not isinstance(body.get("personalityId", 0), int | None):
            return _error(422, "validationError", "personalityId must be an integer.")
        conversation = Conversation(str(uuid.uuid4()), now_iso(), dict(body))
        self.conversations[conversation.id] = conversation
        return json_response(conversation.wire())

    async def _list(self, request: web.Request) -> web.StreamResponse:
        await self.record(request)
        problem = await self._guard(request, None)
        if problem is not None:
            return problem
        newest_first = [c.wire() for c in reversed(self.conversations.values())]
        return _paged(newest_first, request)

    async def _patch(self, request: web.Request) -> web.StreamResponse:
        call = await self.record(request)
        problem = await self._guard(request, None)
        if problem is not None:
            return problem
        conversation = self._conversation(request)
        if isinstance(conversation, web.Response):
            return conversation
        body = call.body
        if not isinstance(body, dict) or not any(key in body for key in PATCH_KEYS):
            return _error(400, "badRequest", f"Send at least one of {', '.join(PATCH_KEYS)}.")
        for key in ("personalityId", *PATCH_KEYS):
            if key in body:
                conversation.steering[key] = body[key]
        return json_response({})

    # Messages ---------------------------------------------------------------------------

    async def _message_input(
        self, request: web.Request, route: str
    ) -> tuple[Conversation, dict[str, Any]] | web.StreamResponse:
        """Auth, fault, conversation and body checks shared by both ways of sending."""
        call = await self.record(request)
        problem = await self._guard(request, route)
        if problem is not None:
            return problem
        conversation = self._conversation(request)
        if isinstance(conversation, web.Response):
            return conversation
        body = call.body
        problem_text = _invalid_message(body)
        if problem_text:
            return _error(422, "validationError", problem_text)
        assert isinstance(body, dict)
        return conversation, body

    async def _send(self, request: web.Request) -> web.StreamResponse:
        checked = await self._message_input(request, "messages")
        if isinstance(checked, web.StreamResponse):
            return checked
        conversation, body = checked
        if conversation.stream is not None:
            return _error(409, "conversationLocked", "A reply is streaming in this conversation.")
        stored = conversation.reply_to(body["id"])
        if stored is None:
            conversation.add_user(body["id"], body["text"], body["createdAt"])
            stored = conversation.add_reply(body["id"], self.generate(body["text"]))
        return json_response(stored.wire())

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        await self.record(request)
        problem = await self._guard(request, "messages")
        if problem is not None:
            return problem
        conversation = self._conversation(request)
        if isinstance(conversation, web.Response):
            return conversation
        return _paged([m.wire() for m in conversation.messages], request)

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        call = await self.record(request)
        denied = self._denied(request)
        if denied is not None:
            return denied
        fault = self.take_fault("stream")
        if fault is not None and fault.kind not in STREAM_FAULTS:
            return await _generic_fault(fault, request) or web.Response(status=500)
        conversation = self._conversation(request)
        if isinstance(conversation, web.Response):
            return conversation
        problem_text = _invalid_message(call.body)
        if problem_text:
            return _error(422, "validationError", problem_text)
        return await open_stream(self, request, conversation, call.body, fault)

    async def _cancel(self, request: web.Request) -> web.StreamResponse:
        await self.record(request)
        problem = await self._guard(request, None)
        if problem is not None:
            return problem
        conversation = self._conversation(request)
        if isinstance(conversation, web.Response):
            return conversation
        if conversation.stream is not None:
            conversation.stream.cancelled.set()
        return json_response({})


async def _generic_fault(fault: Fault | None, request: web.Request) -> web.StreamResponse | None:
    """ "status" answers with the fault's status and body, "disconnect" drops the connection,
    "slow" delays the normal answer by `delay` seconds."""
    if fault is None:
        return None
    if fault.kind == "slow":
        await asyncio.sleep(fault.delay)
        return None
    if fault.kind == "disconnect" and request.transport is not None:
        request.transport.close()
        return web.Response(status=500)
    return fault_response(fault)


def _paged(items: list[Any], request: web.Request) -> web.Response:
    page = page_of(items, dict(request.query))
    if isinstance(page, str):
        return _error(400, "badRequest", page)
    return json_response(page)


def _invalid_message(body: Any) -> str:
    """Why a message body is unacceptable, or "" when it is fine."""
    if not isinstance(body, dict):
        return "The body must be a JSON object."
    for key in ("id", "text", "createdAt"):
        if not isinstance(body.get(key), str) or not body[key]:
            return f"{key} is required and must be a non-empty string."
    try:
        datetime.fromisoformat(body["createdAt"])
    except ValueError:
        return "createdAt must be an ISO 8601 timestamp."
    size = body.get("contextSize")
    if size is not None and (not isinstance(size, int) or size <= 0):
        return "contextSize must be a positive integer."
    return ""


def _client_credentials(request: web.Request, form: dict[str, Any]) -> tuple[str, str]:
    """Client id and secret from HTTP Basic auth, else from the form."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
            return user, password
        except ValueError:
            return "", ""
    return str(form.get("client_id", "")), str(form.get("client_secret", ""))
