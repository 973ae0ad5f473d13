"""SenseFlow (seed 004), Dify-compatible: agent chat-messages streams and conversations.

Streams are `data:` JSON events with an `event` (agent_thought, agent_message, message_replace,
message_end, error) and Dify's bare `event: ping` lines. Conversations belong to the end user
who started them (`user`); another user's id gets 404 "Conversation Not Exists." as in Dify.
`replace_next(text)` ends the next answer with a `message_replace`; a running task stops on
`POST /chat-messages/{task_id}/stop`. Routes for `fail_next`: "chat", "stop", "list",
"rename", "delete".
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from emulators.base import Call, Fault, fault_response, json_response
from emulators.chat import ChatEmulator, Plan, chunk_text, fault_code

API_KEY = "app-emulator"
AGENT = "emulated-agent"
NOT_FOUND = {"code": "not_found", "message": "Conversation Not Exists.", "status": 404}


@dataclass
class Admitted:
    """A recorded request: the fault to apply while answering, or the answer already decided."""

    call: Call
    fault: Fault | None
    refused: web.Response | None

    @property
    def body(self) -> dict[str, Any]:
        return self.call.body if isinstance(self.call.body, dict) else {}


@dataclass
class Conversation:
    id: str
    user: str
    name: str = "New chat"
    inputs: dict[str, Any] = field(default_factory=dict)
    created_at: int = field(default_factory=lambda: int(time.time()))
    updated_at: int = field(default_factory=lambda: int(time.time()))
    messages: list[dict[str, str]] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        fields = ("id", "name", "inputs", "created_at", "updated_at")
        return {k: getattr(self, k) for k in fields} | {"status": "normal", "introduction": ""}


class SenseflowEmulator(ChatEmulator):
    """The SenseFlow agent API under `/v1`; `api_url` is what `SENSEFLOW_API_URL` takes."""

    name = "senseflow"
    ping = "event: ping\n\n"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.api_key = API_KEY
        self.agents = {AGENT}
        self.conversations: dict[str, Conversation] = {}
        self.tasks: dict[str, tuple[str, asyncio.Event]] = {}
        self._replace: list[str] = []
        self.hold_delete: asyncio.Event | None = None
        """While set to an unset event, conversation deletes wait for it (a slow provider)."""
        super().__init__(host, port)

    @property
    def api_url(self) -> str:
        return f"{self.url}/v1"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/agent/chat-messages", self._chat)
        app.router.add_post("/v1/agent/chat-messages/{task}/stop", self._stop)
        app.router.add_get("/v1/agent/conversations", self._list)
        app.router.add_post("/v1/agent/conversations/{id}/name", self._rename)
        app.router.add_delete("/v1/agent/conversations/{id}", self._delete)

    def replace_next(self, text: str) -> None:
        """End the next answer with a `message_replace` carrying `text`."""
        self._replace.append(text)

    async def _admit(self, request: web.Request, route: str) -> Admitted:
        """Record the call; the answer to give at once for a status fault or a bad key, if any."""
        call = await self.record(request)
        fault = self.take_fault(route)
        if fault is not None and fault.kind == "status":
            return Admitted(call, None, fault_response(fault))
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            invalid = {"code": "unauthorized", "message": "Access token is invalid", "status": 401}
            return Admitted(call, None, json_response(invalid, status=401))
        return Admitted(call, fault, None)

    def _owned(self, conversation_id: str, user: Any) -> Conversation | None:
        conversation = self.conversations.get(conversation_id)
        return conversation if conversation is not None and conversation.user == user else None

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        admitted = await self._admit(request, "chat")
        if admitted.refused is not None:
            return admitted.refused
        body = admitted.body
        invalid = _invalid_chat(body, self.agents)
        if invalid:
            return json_response({"code": "invalid_param", "message": invalid, "status": 400}, 400)
        conversation = self._conversation(body)
        if conversation is None:
            return json_response(NOT_FOUND, status=404)
        text = self.next_text(body["query"])
        task, message = str(uuid.uuid4()), str(uuid.uuid4())
        stop = asyncio.Event()
        self.tasks[task] = (body["user"], stop)
        plan = self._plan(conversation, task, message, body["query"], text)
        if body.get("response_mode") == "blocking":
            return json_response(_blocking(plan, text))
        return await self.play(request, plan, admitted.fault, stop)

    def _conversation(self, body: dict[str, Any]) -> Conversation | None:
        if body.get("conversation_id"):
            return self._owned(str(body["conversation_id"]), body["user"])
        conversation = Conversation(str(uuid.uuid4()), body["user"], inputs=body["inputs"])
        self.conversations[conversation.id] = conversation
        return conversation

    def _plan(self, conv: Conversation, task: str, message: str, query: str, text: str) -> Plan:
        ids = {"task_id": task, "id": message, "message_id": message, "conversation_id": conv.id}
        now = int(time.time())

        def event(kind: str, **extra: Any) -> dict[str, Any]:
            return {"event": kind, **ids, "created_at": now, **extra}

        thought = event("agent_thought", position=1, thought="", observation="", tool="")
        tail: list[Any] = []
        final = text
        if self._replace:
            final = self.replies[-1] = self._replace.pop(0)
            tail.append(event("message_replace", answer=final))
        conv.messages += [
            {"role": "user", "content": query},
            {"role": "assistant", "content": final},
        ]
        conv.updated_at = now
        usage = {"prompt_tokens": len(query) // 4 + 1, "completion_tokens": len(final) // 4 + 1}
        tail.append(event("message_end", metadata={"usage": usage, "retriever_resources": []}))
        pieces = chunk_text(text, self.style.chunk_chars)
        return Plan(
            head=[thought],
            tokens=[event("agent_message", answer=piece) for piece in pieces],
            tail=tail,
            error=lambda fault: _error_event(ids, fault),
        )

    async def _stop(self, request: web.Request) -> web.Response:
        admitted = await self._admit(request, "stop")
        if admitted.refused is not None:
            return admitted.refused
        running = self.tasks.get(request.match_info["task"])
        if running is None or running[0] != admitted.body.get("user"):
            return json_response({"code": "not_found", "message": "Task not found"}, status=404)
        running[1].set()
        return json_response({"result": "success"})

    async def _list(self, request: web.Request) -> web.Response:
        admitted = await self._admit(request, "list")
        if admitted.refused is not None:
            return admitted.refused
        query = admitted.call.query
        missing = [name for name in ("model", "user") if not query.get(name)]
        if missing:  # seed 004 marks only last_id, limit and sort_by "(Optional)"
            message = f"{', '.join(missing)} is required"
            return json_response({"code": "invalid_param", "message": message}, status=400)
        sort = query.get("sort_by") or "-updated_at"
        mine = [c for c in self.conversations.values() if c.user == query.get("user")]
        mine.sort(key=lambda c: getattr(c, sort.lstrip("-")), reverse=sort.startswith("-"))
        if query.get("last_id"):
            ids = [c.id for c in mine]
            last = query["last_id"]
            mine = mine[ids.index(last) + 1 :] if last in ids else []
        limit = int(query.get("limit") or 20)
        page = [c.public() for c in mine[:limit]]
        return json_response({"limit": limit, "has_more": len(mine) > limit, "data": page})

    async def _rename(self, request: web.Request) -> web.Response:
        admitted = await self._admit(request, "rename")
        if admitted.refused is not None:
            return admitted.refused
        body = admitted.body
        conversation = self._owned(request.match_info["id"], body.get("user"))
        if conversation is None:
            return json_response(NOT_FOUND, status=404)
        if body.get("auto_generate"):
            first = next((m["content"] for m in conversation.messages), "New chat")
            conversation.name = " ".join(first.split()[:5])
        elif isinstance(body.get("name"), str) and body["name"].strip():
            conversation.name = body["name"]
        else:
            return json_response({"code": "invalid_param", "message": "name is required"}, 400)
        conversation.updated_at = int(time.time())
        return json_response(conversation.public())

    async def _delete(self, request: web.Request) -> web.Response:
        admitted = await self._admit(request, "delete")
        if admitted.refused is not None:
            return admitted.refused
        if admitted.fault is not None and admitted.fault.kind == "slow":
            await asyncio.sleep(admitted.fault.delay)  # a slow deletion, then the real answer
        if self.hold_delete is not None:
            await self.hold_delete.wait()
        body = admitted.body
        if self._owned(request.match_info["id"], body.get("user")) is None:
            return json_response(NOT_FOUND, status=404)
        del self.conversations[request.match_info["id"]]
        return json_response({"result": "success"})


def _invalid_chat(body: dict[str, Any], agents: set[str]) -> str:
    """Why a chat-messages body is refused, or "" if it is fine."""
    if body.get("model") not in agents:
        return f"unknown agent {body.get('model')!r}"
    for name, kind in (("query", str), ("user", str), ("inputs", dict)):
        if not isinstance(body.get(name), kind):
            return f"{name} is required"
    return ""


def _error_event(ids: dict[str, str], fault: Fault) -> dict[str, Any]:
    code, message = fault_code(fault, "completion_request_error")
    base = {"event": "error", "task_id": ids["task_id"], "message_id": ids["message_id"]}
    return {**base, "status": fault.status, "code": code, "message": message}


def _blocking(plan: Plan, text: str) -> dict[str, Any]:
    end = plan.tail[-1]
    keys = ("task_id", "id", "message_id", "conversation_id", "created_at", "metadata")
    return {"event": "message", "mode": "agent-chat", "answer": text} | {k: end[k] for k in keys}
