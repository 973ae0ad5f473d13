"""Any OpenAI-compatible chat server (Ollama, vLLM, llama.cpp): the bridge keeps the history.

History is a JSON list of `{role, content}` in the thread's state (`openai:history`, kept and
expired by the core with the thread). Each reply sends the system prompt (steering
`system_prompt`, else `personality`, else BRIDGE_SYSTEM_PROMPT) with the model (steering
`model`, else OPENAI_MODEL), as many recent turns as fit `OPENAI_HISTORY_TOKENS` (approximated
as len(text)//4 + 4 per message) and the new message; the user message and the final answer
are appended only when the reply completes, and the stored list is trimmed to what was sent so
it never grows without bound.

Reasoning comes either in its own delta field — `reasoning_content` (DeepSeek's API,
api-docs.deepseek.com/guides/reasoning_model; vLLM before 0.11) or `reasoning` (vLLM from 0.11,
docs.vllm.ai/en/latest/features/reasoning_outputs; Ollama's /v1) — or as `<think>…</think>` in
the content (a model served without a reasoning parser). Both become `ReasoningDelta`s, and the
history keeps only the answer: DeepSeek documents that earlier reasoning is not to be sent again
(it refuses `reasoning_content` in the input messages).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any

from bridge.contracts import (
    Conversation,
    ProviderContext,
    ReasoningDelta,
    ReplyDone,
    ReplyEvent,
    TextDelta,
    ThreadKey,
    ThreadState,
    UserPost,
)
from bridge.contracts.settings import require, secret
from bridge.contracts.toolkit.auth import bearer
from bridge.contracts.toolkit.http import provider_client
from bridge.contracts.toolkit.reasoning import ThinkSplitter, split_think
from bridge.contracts.toolkit.replies import ProviderError, StreamCut, guarded, retry_when_busy
from bridge.contracts.toolkit.settings import present
from bridge.contracts.toolkit.sse import JsonEvents, ProviderHTTPError, open_sse
from providers.openai_compat.settings import OpenAISettings

LABEL = "The model server"
CREDENTIALS = "OPENAI_BASE_URL, OPENAI_API_KEY and OPENAI_MODEL"
AZURE_API_VERSION = "2024-10-21"
"""Azure OpenAI's GA data-plane version, used when OPENAI_API_STYLE=azure names none."""
RETRYABLE_TYPES = {"server_error", "rate_limit_exceeded", "overloaded_error", "timeout"}
HISTORY = "openai:history"
"""The thread-state field holding the history."""
REASONING_FIELDS = ("reasoning_content", "reasoning")
"""Where OpenAI-compatible servers put reasoning in a chunk's delta (first found wins)."""

Message = dict[str, str]


def estimate_tokens(message: Mapping[str, str]) -> int:
    """A tokenizer-free estimate, good enough to keep under a context budget."""
    return len(message.get("content", "")) // 4 + 4


def fit_history(fixed: Sequence[Message], history: Sequence[Message], budget: int) -> int:
    """How many of the newest `history` messages fit `budget` beside the `fixed` ones.

    The kept part never starts with an assistant message, so the oldest turn goes whole.
    """
    used = sum(estimate_tokens(m) for m in fixed)
    kept = 0
    for message in reversed(history):
        used += estimate_tokens(message)
        if used > budget:
            break
        kept += 1
    while kept and history[len(history) - kept].get("role") == "assistant":
        kept -= 1
    return kept


class OpenAICompatProvider:
    """Chat completions with a bridge-kept history; the conversation id is ours."""

    name = "openai"
    credentials = "OPENAI_API_KEY"
    """What a refused (401/403) start-up check names."""
    streams = True
    replays = False
    settings_class = OpenAISettings

    @staticmethod
    def configured(settings: OpenAISettings) -> bool:
        return present(settings, "base_url", "model")

    def __init__(self, settings: OpenAISettings, context: ProviderContext) -> None:
        require(settings, "base_url", "model")
        self._model = str(settings.model)
        self._budget = settings.history_tokens
        self._max_tokens = context.options.max_reply_tokens
        self._system = context.options.system_prompt
        self._state: ThreadState = context.state
        key = secret(settings.api_key)
        headers: dict[str, str] = bearer(key) if key else {}
        params: dict[str, str] = {}
        if settings.api_style == "azure" or settings.azure_api_version:
            headers = {"api-key": key} if key else {}
            params = {"api-version": settings.azure_api_version or AZURE_API_VERSION}
        self._client = provider_client(
            context, str(settings.base_url), headers=headers, params=params
        )

    async def open(self, thread: ThreadKey, steering: Mapping[str, str]) -> str | None:
        return str(uuid.uuid4())

    async def history(self, thread: ThreadKey) -> list[Message]:
        """The stored turns, oldest first; entries that are not `{role, content}` are skipped,
        and an answer stored with its `<think>` block goes back without it."""
        raw = await self._state.get(thread, HISTORY)
        try:
            items = json.loads(raw) if raw else []
        except ValueError:
            items = []
        messages: list[Message] = []
        for value in items if isinstance(items, list) else []:
            if isinstance(value, dict) and {"role", "content"} <= value.keys():
                role, content = str(value["role"]), str(value["content"])
                if role == "assistant":
                    content = split_think(content)[1]
                messages.append({"role": role, "content": content})
        return messages

    def reply(self, conversation: Conversation, post: UserPost) -> AsyncGenerator[ReplyEvent, None]:
        attempts = retry_when_busy(lambda: self._reply(conversation, post))
        return guarded(LABEL, attempts, CREDENTIALS)

    async def _reply(
        self, conversation: Conversation, post: UserPost
    ) -> AsyncGenerator[ReplyEvent, None]:
        history = await self.history(conversation.thread)
        user: Message = {"role": "user", "content": post.text}
        fixed = [user]
        steering = conversation.steering
        system = steering.get("system_prompt") or steering.get("personality") or self._system
        if system:
            fixed.insert(0, {"role": "system", "content": system})
        kept = fit_history(fixed, history, self._budget)
        messages: list[dict[str, Any]] = [*fixed[:-1], *history[len(history) - kept :]]
        messages.append({"role": "user", "content": user_content(post)})
        model = steering.get("model") or self._model
        body: dict[str, Any] = {"model": model, "messages": messages, "stream": True}
        if self._max_tokens:
            body["max_tokens"] = self._max_tokens
        stream = _Stream()
        async with open_sse(self._client, "POST", "chat/completions", json=body) as source:
            events = JsonEvents(source, LABEL)
            async for data in events:
                for event in stream.handle(data):
                    yield event
            if not (events.saw_done or stream.finish_reason):
                raise StreamCut()
        for event in stream.end():
            yield event
        text = "".join(stream.parts)
        await self._remember(conversation.thread, kept, user, text)
        yield ReplyDone(text=text, usage=stream.usage, finish_reason=stream.finish_reason)

    async def _remember(self, thread: ThreadKey, kept: int, user: Message, text: str) -> None:
        """Append the finished turn and drop what no longer fits (it would not be sent again).

        Read again rather than reuse the request's copy, so a history dropped meanwhile stays
        dropped; a thread's replies run one at a time, so read-then-write loses no turn.
        """
        answer = {"role": "assistant", "content": text}
        turns = [*await self.history(thread), user, answer][-(kept + 2) :]
        await self._state.set(thread, HISTORY, json.dumps(turns, ensure_ascii=False))

    async def steer(self, conversation: Conversation, changes: Mapping[str, str]) -> bool:
        """Nothing at the server: each request carries the model and system prompt."""
        return bool({"model", "system_prompt", "personality"} & changes.keys())

    async def cancel(self, conversation: Conversation) -> None:
        """Nothing at the server: closing the stream stops generation."""

    async def forget(self, conversation: Conversation) -> None:
        await self._state.delete(conversation.thread, HISTORY)

    async def check(self) -> str:
        """One harmless call for `threadbridge doctor`; raises when the provider refuses it."""
        response = await self._client.get("models")
        if response.status_code >= 400:
            raise ProviderHTTPError.from_response(response)
        return "models listed"

    async def aclose(self) -> None:
        await self._client.aclose()


def user_content(post: UserPost) -> str | list[dict[str, Any]]:
    """The user message's content: its text, plus an `image_url` part per image a model can
    fetch (the history keeps the text only; the text already names and links every file; a
    private link — a Slack image not inlined — would only make the model server fail)."""
    images = [f.image_source for f in post.files if f.image_source]
    if not images:
        return post.text
    parts: list[dict[str, Any]] = [{"type": "text", "text": post.text}]
    parts += [{"type": "image_url", "image_url": {"url": url}} for url in images]
    return parts


class _Stream:
    """The chunks of one completion: the answer's parts (reasoning set apart), usage and
    finish reason."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.usage: dict[str, Any] = {}
        self.finish_reason: str | None = None
        self._think = ThinkSplitter()

    def handle(self, data: dict[str, Any]) -> list[TextDelta | ReasoningDelta]:
        """What this chunk adds; raises `ProviderError` for an `error` payload."""
        if "error" in data:
            raise _error(data["error"])
        usage = data.get("usage")
        if isinstance(usage, dict):
            self.usage = usage
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return []
        choice = choices[0]
        if isinstance(choice.get("finish_reason"), str):
            self.finish_reason = choice["finish_reason"]
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            return []
        events: list[TextDelta | ReasoningDelta] = []
        reasoning = next((delta[k] for k in REASONING_FIELDS if delta.get(k)), None)
        if isinstance(reasoning, str):
            events.append(ReasoningDelta(reasoning))
        content = delta.get("content")
        if isinstance(content, str) and content:
            events += self._kept(self._think.feed(content))
        return events

    def end(self) -> list[TextDelta | ReasoningDelta]:
        """What the splitter held back for a tag that never came whole."""
        return self._kept(self._think.end())

    def _kept(self, pieces: list[TextDelta | ReasoningDelta]) -> list[TextDelta | ReasoningDelta]:
        self.parts += [p.text for p in pieces if isinstance(p, TextDelta)]
        return pieces


def _error(detail: Any) -> ProviderError:
    """An OpenAI-style error payload (`{"error": {message, type, code}}` or a plain string)."""
    if isinstance(detail, dict):
        message = detail.get("message") or detail.get("code") or "no details"
        kinds = {str(detail.get("type")), str(detail.get("code"))}
    else:
        message, kinds = str(detail or "no details"), set()
    return ProviderError(
        "The model server could not answer this message.",
        retryable=bool(kinds & RETRYABLE_TYPES),
        code="error_payload",
        detail=f"error payload: {message}",
    )
