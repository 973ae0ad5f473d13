"""converzen (seed 003): API keys, per-user tokens from `get_token`, and streamed chat sessions.

Streams carry `data:` JSON events with a `type`: session_created / session_continued, token,
done, error, plus `thinking` events the client must ignore. Tokens expire at `expires_at` (or
at once with `expire_tokens()`) and are then answered 401; `expire_session(id)` makes the next
continuation of that session answer an `error` event with code `session_expired`.
Routes for `fail_next`: "get_token", "completion", "continuation" (or "stream" for both).
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from emulators.base import Fault, fault_response, json_response
from emulators.chat import ChatEmulator, Plan, chunk_text, fault_code

TEST_KEY = "sk_test_emulator"


@dataclass
class Token:
    user_id: str
    persona: dict[str, Any] | None
    expires_at: float
    revoked: bool = False


@dataclass
class Session:
    id: str
    user_id: str | None
    messages: list[dict[str, str]] = field(default_factory=list)
    expired: bool = False


class ConverzenEmulator(ChatEmulator):
    """The converzen chat API under `/api`; `api_url` is what `CONVERZEN_API_URL` takes."""

    name = "converzen"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.api_keys = {TEST_KEY}
        self.token_ttl = 3600.0
        self.tokens: dict[str, Token] = {}
        self.sessions: dict[str, Session] = {}
        super().__init__(host, port)

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/api/chat/get_token", self._get_token)
        app.router.add_post("/api/chat/completion/stream", self._completion)
        app.router.add_post("/api/chat/continuation/stream", self._continuation)

    def expire_tokens(self) -> None:
        """Revoke every token issued so far: the next request with one is answered 401."""
        for token in self.tokens.values():
            token.revoked = True

    def expire_session(self, session_id: str) -> None:
        self.sessions[session_id].expired = True

    @property
    def token_calls(self) -> int:
        return len(self.calls_to("/chat/get_token"))

    async def _get_token(self, request: web.Request) -> web.Response:
        call = await self.record(request)
        fault = self.take_fault("get_token")
        if fault is not None:
            return fault_response(fault)
        if request.headers.get("X-API-Key") not in self.api_keys:
            return json_response({"detail": "Invalid API key"}, status=401)
        body = call.body if isinstance(call.body, dict) else {}
        persona = body.get("persona")
        if not isinstance(body.get("user_id"), str) or not _valid_persona(persona):
            return json_response({"detail": "user_id and a valid persona selector"}, status=422)
        token = secrets.token_urlsafe(24)
        expires_at = int(time.time() + self.token_ttl)
        self.tokens[token] = Token(body["user_id"], persona, expires_at)
        return json_response({"token": token, "expires_at": expires_at})

    def _user(self, request: web.Request) -> tuple[bool, str | None]:
        """(authorised, user id) from an API key or a live Bearer token."""
        if request.headers.get("X-API-Key") in self.api_keys:
            return True, None
        auth = request.headers.get("Authorization", "")
        token = self.tokens.get(auth.removeprefix("Bearer ").strip())
        if token is None or token.revoked or time.time() >= token.expires_at:
            return False, None
        return True, token.user_id

    async def _admit(self, request: web.Request, route: str) -> tuple[Any, Fault | None]:
        """Record the call; a response to send at once, or (body, fault) to stream."""
        call = await self.record(request)
        fault = self.take_fault(route) or self.take_fault("stream")
        if fault is not None and fault.kind == "status":
            return fault_response(fault), None
        authorised, _ = self._user(request)
        if not authorised:
            return json_response({"detail": "Invalid or expired token"}, status=401), None
        body = call.body if isinstance(call.body, dict) else {}
        if not isinstance(body.get("message"), str):
            return json_response({"detail": "message is required"}, status=422), None
        return body, fault

    async def _completion(self, request: web.Request) -> web.StreamResponse:
        body, fault = await self._admit(request, "completion")
        if isinstance(body, web.Response):
            return body
        session = Session(str(uuid.uuid4()), self._user(request)[1])
        self.sessions[session.id] = session
        start = {"type": "session_created", "session_id": session.id}
        return await self.play(request, self._plan(session, body["message"], start), fault)

    async def _continuation(self, request: web.Request) -> web.StreamResponse:
        body, fault = await self._admit(request, "continuation")
        if isinstance(body, web.Response):
            return body
        session = self.sessions.get(str(body.get("session")))
        if session is None:
            return json_response({"detail": "Session not found"}, status=404)
        if session.expired:
            expired = {"type": "error", "code": "session_expired", "message": "Session expired"}
            return await self.play(request, Plan(head=[expired]), None)
        start = {"type": "session_continued", "session_id": session.id}
        return await self.play(request, self._plan(session, body["message"], start), fault)

    def _plan(self, session: Session, message: str, start: dict[str, Any]) -> Plan:
        text = self.next_text(message)
        session.messages += [{"role": "user", "content": message}]
        session.messages += [{"role": "assistant", "content": text}]
        tokens: list[Any] = []
        for index, piece in enumerate(chunk_text(text, self.style.chunk_chars)):
            if index % 5 == 2:
                tokens.append({"type": "thinking", "content": "…considering"})
            tokens.append({"type": "token", "content": piece})
        usage = {"prompt_tokens": len(message) // 4 + 1, "completion_tokens": len(tokens)}
        return Plan(
            head=[start, {"type": "thinking", "content": "planning"}],
            tokens=tokens,
            tail=[{"type": "done", "usage": usage, "finish_reason": "stop"}],
            error=_error_event,
        )


def _error_event(fault: Fault) -> dict[str, Any]:
    """An `error` event; a `retry_after` in the fault's body is passed on (not in seed 003, but
    the provider reads it tolerantly, so the emulator can send hostile values such as inf)."""
    code, message = fault_code(fault, "internal")
    event: dict[str, Any] = {"type": "error", "message": message, "code": code}
    if isinstance(fault.body, dict) and "retry_after" in fault.body:
        event["retry_after"] = fault.body["retry_after"]
    return event


def _valid_persona(persona: Any) -> bool:
    if persona is None:
        return True
    if not isinstance(persona, dict):
        return False
    if "alias" in persona:
        return isinstance(persona["alias"], str)
    return isinstance(persona.get("persona_id"), int) and isinstance(
        persona.get("version_type"), str
    )
