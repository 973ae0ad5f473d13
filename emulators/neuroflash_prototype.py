"""neuroflash's prototype conversations API (seeds 000/001) and its OAuth token endpoint.

The server keeps each conversation's history; `chat/completions` answers in one JSON body
after a delay that follows the token rate. Conversations belong to a workspace: GET and DELETE
need `?workspace_id=` (missing or wrong → 403), and an `x-workspace-id` header, when sent, must
match too. `GET …/workspace-service/v1/workspaces` lists the workspaces (seed 001, step 2).
Routes for `fail_next`: "token", "workspaces", "create", "completion", "get", "messages", "delete";
kinds: status, slow, malformed, cut (truncated body), disconnect, error_event (a 200 whose body
is an `error` object instead of choices).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from emulators.base import (
    WORKSPACES_PATH,
    Fault,
    fault_response,
    json_response,
    workspaces_listing,
)
from emulators.chat import ChatEmulator, chunk_text, fault_code

CLIENT_ID = "emulator-client"
CLIENT_SECRET = "emulator-secret"
WORKSPACE = "b481b98b-a7ed-4d72-a1f2-8b2ae3a57854"
BASE = "/api/ds-prototypes/conversations"


@dataclass
class Conversation:
    uuid: str
    workspace_id: str
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat()[:26])
    messages: list[dict[str, str]] = field(default_factory=list)

    def public(self) -> dict[str, str]:
        return {"uuid": self.uuid, "workspace_id": self.workspace_id, "created_at": self.created_at}


class NeuroflashPrototypeEmulator(ChatEmulator):
    """`api_url` is what `NEUROFLASH_API_URL` takes, `token_url` `NEUROFLASH_TOKEN_URL`."""

    name = "neuroflash-prototype"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.clients = {CLIENT_ID: CLIENT_SECRET}
        self.workspaces = {WORKSPACE}
        self.token_ttl = 3600
        self.tokens: dict[str, float] = {}
        self.conversations: dict[str, Conversation] = {}
        super().__init__(host, port)

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    @property
    def token_url(self) -> str:
        return f"{self.url}/oauth/v2/token"

    @property
    def token_calls(self) -> int:
        return len(self.calls_to("/oauth/v2/token"))

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/oauth/v2/token", self._token)
        app.router.add_get(WORKSPACES_PATH, self._workspaces)
        app.router.add_post(BASE, self._create)
        app.router.add_post(BASE + "/{id}/chat/completions", self._completion)
        app.router.add_get(BASE + "/{id}", self._get)
        app.router.add_get(BASE + "/{id}/messages", self._messages)
        app.router.add_delete(BASE + "/{id}", self._delete)

    def expire_tokens(self) -> None:
        """Invalidate every access token issued so far: the next call with one gets 401."""
        self.tokens.clear()

    async def _token(self, request: web.Request) -> web.StreamResponse:
        call = await self.record(request)
        fault = self.take_fault("token")
        if fault is not None:
            return await self._fault(request, fault)
        form = call.body if isinstance(call.body, dict) else {}
        if form.get("grant_type") != "client_credentials":
            return json_response({"error": "unsupported_grant_type"}, status=400)
        if self.clients.get(str(form.get("client_id"))) != form.get("client_secret"):
            invalid = {"error": "invalid_client", "error_description": "Client auth failed"}
            return json_response(invalid, status=401)
        token = secrets.token_urlsafe(24)
        self.tokens[token] = time.time() + self.token_ttl
        answer = {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl}
        return json_response(answer | {"scope": "openid"})

    async def _admit(
        self, request: web.Request, route: str
    ) -> tuple[Any, web.StreamResponse | None]:
        """Record and authorise a call; (body, None) to go on, or (None, the answer to give)."""
        call = await self.record(request)
        fault = self.take_fault(route)
        if fault is not None and fault.kind != "slow":
            return None, await self._fault(request, fault)
        if fault is not None:
            await asyncio.sleep(fault.delay)
        auth = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if self.tokens.get(auth, 0.0) <= time.time():
            return None, json_response({"detail": "Unauthorized"}, status=401)
        return call.body, None

    async def _workspaces(self, request: web.Request) -> web.StreamResponse:
        _, refused = await self._admit(request, "workspaces")
        return refused or workspaces_listing(*sorted(self.workspaces))

    def _owned(self, request: web.Request, query: bool = True) -> web.Response | Conversation:
        """The addressed conversation, or 404, or 403 unless the workspace given owns it.

        GET/DELETE must name the workspace in the query (`query`); a header must match too.
        """
        conversation = self.conversations.get(request.match_info["id"])
        if conversation is None:
            return json_response({"detail": "Conversation not found"}, status=404)
        owner = conversation.workspace_id
        header = request.headers.get("x-workspace-id")
        if (query and request.query.get("workspace_id") != owner) or header not in (None, owner):
            return json_response({"detail": "Forbidden"}, status=403)
        return conversation

    async def _create(self, request: web.Request) -> web.StreamResponse:
        body, refused = await self._admit(request, "create")
        if refused is not None:
            return refused
        workspace = body.get("workspace_id") if isinstance(body, dict) else None
        if not isinstance(workspace, str):
            return json_response({"detail": "workspace_id is required"}, status=422)
        if workspace not in self.workspaces:
            return json_response({"detail": "Forbidden"}, status=403)
        conversation = Conversation(str(uuid.uuid4()), workspace)
        self.conversations[conversation.uuid] = conversation
        return json_response(conversation.public())

    async def _completion(self, request: web.Request) -> web.StreamResponse:
        body, refused = await self._admit(request, "completion")
        if refused is not None:
            return refused
        owned = self._owned(request, query=False)
        if isinstance(owned, web.Response):
            return owned
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list) or not messages:
            return json_response({"detail": "messages is required"}, status=422)
        question = str(messages[-1].get("content", ""))
        text = self.next_text(question)
        pieces = chunk_text(text, self.style.chunk_chars)
        if self.style.tokens_per_second > 0:
            await asyncio.sleep(len(pieces) / self.style.tokens_per_second)
        owned.messages += [*messages, {"role": "assistant", "content": text}]
        return json_response(_completion(question, text, len(pieces)))

    async def _get(self, request: web.Request) -> web.StreamResponse:
        _, refused = await self._admit(request, "get")
        if refused is not None:
            return refused
        owned = self._owned(request)
        return owned if isinstance(owned, web.Response) else json_response(owned.public())

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        _, refused = await self._admit(request, "messages")
        if refused is not None:
            return refused
        owned = self._owned(request)
        if isinstance(owned, web.Response):
            return owned
        return json_response({"messages": owned.messages, "next_cursor": None})

    async def _delete(self, request: web.Request) -> web.StreamResponse:
        _, refused = await self._admit(request, "delete")
        if refused is not None:
            return refused
        owned = self._owned(request)
        if isinstance(owned, web.Response):
            return owned
        del self.conversations[owned.uuid]
        return web.Response(status=204)

    async def _fault(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        """Misbehave as `fault` says, instead of answering."""
        if fault.kind == "status":
            return fault_response(fault)
        if fault.kind == "error_event":
            code, message = fault_code(fault, "upstream_error")
            return json_response({"error": {"message": message, "code": code}})
        if fault.kind == "malformed":
            broken = b'{"id": "gen-broken", "choices": [{"message": '
            return web.Response(body=broken, headers={"Content-Type": "application/json"})
        blob = json.dumps(_completion("?", "Partial answer that never ends", 5)).encode()
        response = web.StreamResponse(
            headers={"Content-Type": "application/json", "Content-Length": str(len(blob))}
        )
        await response.prepare(request)
        await response.write(blob[: len(blob) // 2])
        if request.transport is not None:
            request.transport.close()
        return response


def _completion(question: str, text: str, tokens: int) -> dict[str, Any]:
    """A chat.completion body as the seed shows it (with `words_used` in usage)."""
    prompt = len(question) // 4 + 1
    usage = {"prompt_tokens": prompt, "completion_tokens": tokens, "total_tokens": prompt + tokens}
    return {
        "id": f"gen-{int(time.time())}-{secrets.token_hex(4)}",
        "object": "chat.completion",
        "model": "openai/gpt-4.1-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": usage | {"words_used": len(text.split())},
    }
