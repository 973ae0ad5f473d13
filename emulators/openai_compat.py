"""An OpenAI-compatible chat server, as Ollama, vLLM and llama.cpp serve it."""

from __future__ import annotations

import time
import uuid
from typing import Any

from aiohttp import web

from emulators.base import Fault, fault_response, json_response
from emulators.chat import (
    ChatEmulator,
    Plan,
    chunk_text,
    fault_code,
)


class OpenAIEmulator(ChatEmulator):
    """`POST /v1/chat/completions` (streaming or not) and `GET /v1/models`.

    Set `api_key` to require `Authorization: Bearer`. Routes for `fail_next`: "chat".
    An `error_event` fault sends an OpenAI-style `{"error": {...}}` payload mid-stream.
    """

    name = "openai"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.model = "emulated-model"
        super().__init__(host, port)

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)

    @property
    def sent(self) -> list[list[dict[str, str]]]:
        """The `messages` of every chat request, in order (to check history and trimming)."""
        return [c.body["messages"] for c in self.calls_to("/chat/completions")]

    def _unauthorized(self, request: web.Request) -> web.Response | None:
        if self.api_key is None or request.headers.get("Authorization") == f"Bearer {self.api_key}":
            return None
        error = {"message": "Incorrect API key provided.", "type": "invalid_request_error"}
        return json_response({"error": {**error, "code": "invalid_api_key"}}, status=401)

    async def _models(self, request: web.Request) -> web.Response:
        await self.record(request)
        return json_response({"object": "list", "data": [{"id": self.model, "object": "model"}]})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        call = await self.record(request)
        refused = self._unauthorized(request)
        if refused is not None:
            return refused
        fault = self.take_fault("chat")
        if fault is not None and fault.kind == "status":
            return fault_response(fault)
        body = call.body if isinstance(call.body, dict) else {}
        messages = body.get("messages") or []
        last = next(
            (m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), ""
        )
        text = self.next_text(str(last))
        model = str(body.get("model") or self.model)
        if not body.get("stream"):
            return json_response(_completion(model, text))
        return await self.play(request, self._plan(model, text), fault)

    def _plan(self, model: str, text: str) -> Plan:
        ident, created = f"chatcmpl-{uuid.uuid4().hex[:12]}", int(time.time())

        def chunk(delta: dict[str, str], finish: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            base = {"id": ident, "object": "chat.completion.chunk", "created": created}
            return {**base, "model": model, "choices": [choice]}

        tokens = [chunk({"content": piece}) for piece in chunk_text(text, self.style.chunk_chars)]
        usage = {
            "prompt_tokens": 10,
            "completion_tokens": len(tokens),
            "total_tokens": 10 + len(tokens),
        }
        return Plan(
            head=[chunk({"role": "assistant", "content": ""})],
            tokens=tokens,
            tail=[{**chunk({}, "stop"), "usage": usage}, "[DONE]"],
            error=_error_payload,
        )


def _error_payload(fault: Fault) -> dict[str, Any]:
    code, message = fault_code(fault, "server_error")
    return {"error": {"message": message, "type": code, "code": code}}


def _completion(model: str, text: str) -> dict[str, Any]:
    message = {"role": "assistant", "content": text}
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": len(text) // 4, "total_tokens": 10},
    }
