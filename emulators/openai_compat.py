"""An OpenAI-compatible chat server, as Ollama, vLLM and llama.cpp serve it."""

from __future__ import annotations

import time
import uuid
from collections import deque
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
    Set `azure_api_version` to act as Azure OpenAI instead (learn.microsoft.com/azure/ai-services/
    openai/reference): the key comes in an `api-key` header, every call needs `?api-version=`,
    and chat lives at `/openai/deployments/{deployment}/chat/completions`.
    A user message's `content` may be a string or a list of content parts (`text`,
    `image_url`), as OpenAI's chat API accepts.
    An `error_event` fault sends an OpenAI-style `{"error": {...}}` payload mid-stream.

    Reasoning (`think`: the reasoning of the next replies, in order) streams before the answer,
    in the delta field `reasoning_field` names: `reasoning_content` as DeepSeek's API sends it
    (api-docs.deepseek.com/guides/reasoning_model), `reasoning` as vLLM from 0.11 and Ollama's
    /v1 do (docs.vllm.ai/en/latest/features/reasoning_outputs). With `reasoning_field` None it
    goes into the content as `<think>…</think>` before the answer, as a model served without a
    reasoning parser writes it; chunks of `style.chunk_chars` cut the tags apart. A request whose
    messages carry `reasoning_content` is refused with 400, as DeepSeek's API refuses it.
    """

    name = "openai"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.azure_api_version: str | None = None
        self.model = "emulated-model"
        self.reasoning_field: str | None = "reasoning_content"
        self._thoughts: deque[str] = deque()
        super().__init__(host, port)

    def think(self, *reasonings: str) -> None:
        """Stream `reasonings` before the next replies' answers, one each, in order."""
        self._thoughts.extend(reasonings)

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/openai/deployments/{deployment}/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)

    @property
    def sent(self) -> list[list[dict[str, str]]]:
        """The `messages` of every chat request, in order (to check history and trimming)."""
        return [c.body["messages"] for c in self.calls_to("/chat/completions")]

    def azure_url(self, deployment: str) -> str:
        return f"{self.url}/openai/deployments/{deployment}"

    def _unauthorized(self, request: web.Request) -> web.Response | None:
        if self.azure_api_version is not None:
            return self._azure_refusal(request)
        if self.api_key is None or request.headers.get("Authorization") == f"Bearer {self.api_key}":
            return None
        error = {"message": "Incorrect API key provided.", "type": "invalid_request_error"}
        return json_response({"error": {**error, "code": "invalid_api_key"}}, status=401)

    def _azure_refusal(self, request: web.Request) -> web.Response | None:
        if request.query.get("api-version") != self.azure_api_version:
            error = {"code": "404", "message": "Resource not found"}
            return json_response({"error": error}, status=404)
        if self.api_key is not None and request.headers.get("api-key") != self.api_key:
            error = {"code": "401", "message": "Access denied due to invalid subscription key."}
            return json_response({"error": error}, status=401)
        return None

    async def _models(self, request: web.Request) -> web.Response:
        """GET /v1/models needs the key like every call (OpenAI's API reference, "List models":
        `Authorization: Bearer $OPENAI_API_KEY`; a wrong key gets 401 `invalid_api_key`)."""
        await self.record(request)
        refused = self._unauthorized(request)
        if refused is not None:
            return refused
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
        if any(isinstance(m, dict) and "reasoning_content" in m for m in messages):
            error = {"message": "reasoning_content is not allowed in input messages"}
            return json_response({"error": {**error, "type": "invalid_request_error"}}, 400)
        last = next(
            (m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), ""
        )
        text = self.next_text(content_text(last))
        thought = self._thoughts.popleft() if self._thoughts else ""
        model = str(body.get("model") or self.model)
        if not body.get("stream"):
            return json_response(_completion(model, text))
        return await self.play(request, self._plan(model, text, thought), fault)

    def _plan(self, model: str, text: str, thought: str = "") -> Plan:
        ident, created = f"chatcmpl-{uuid.uuid4().hex[:12]}", int(time.time())

        def chunk(delta: dict[str, str], finish: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            base = {"id": ident, "object": "chat.completion.chunk", "created": created}
            return {**base, "model": model, "choices": [choice]}

        size = self.style.chunk_chars
        field = self.reasoning_field
        if thought and field is None:
            text = f"<think>\n{thought}\n</think>\n\n{text}"
        reasoning = [chunk({field: p}) for p in chunk_text(thought, size)] if field else []
        tokens = reasoning + [chunk({"content": piece}) for piece in chunk_text(text, size)]
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


def content_text(content: Any) -> str:
    """The text of a message's content: a string, or the `text` parts of a part list."""
    if isinstance(content, list):
        return "".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, dict) and p.get("type") == "text"
        )
    return str(content)


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
