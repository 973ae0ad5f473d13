"""SenseFlow (seed 004), a Dify-compatible agent API: the conversation id arrives in the stream.

Dify scopes a conversation to the end user who started it, so the first poster's `author_ref`
owns the thread's conversation: it is kept in the thread's state (`senseflow:user`) and sent
as `user` on every later reply, rename, stop and delete, whoever writes in the thread.
A running reply's task id is kept in memory per thread so `cancel` can stop it at the server
(Dify-style stop, not in the seed: a 404 there is fine).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Coroutine, Mapping
from dataclasses import replace
from typing import Any

import httpx

from bridge.contracts import (
    Conversation,
    ConversationStarted,
    ProviderContext,
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
from bridge.contracts.toolkit.replies import ProviderError, StreamCut, guarded, retry_when_busy
from bridge.contracts.toolkit.settings import no_system_prompt, present
from bridge.contracts.toolkit.sse import JsonEvents, ProviderHTTPError, open_sse, raise_for_status
from bridge.contracts.toolkit.text import first_words, segment
from providers.senseflow.settings import SenseflowSettings

LABEL = "SenseFlow"
CREDENTIALS = "SENSEFLOW_API_KEY and SENSEFLOW_AGENT"
CHAT = "agent/chat-messages"
CONVERSATIONS = "agent/conversations"
RETRYABLE_CODES = {"completion_request_error", "internal_server_error", "rate_limit_error"}
OWNER = "senseflow:user"
"""The thread-state field holding the conversation's end user."""

log = logging.getLogger(__name__)

NAME_LIMIT = 60


class SenseflowProvider:
    """One SenseFlow agent conversation per thread, streamed."""

    name = "senseflow"
    credentials = "SENSEFLOW_API_KEY"
    """What a refused (401/403) start-up check names."""
    streams = True
    replays = False
    settings_class = SenseflowSettings

    @staticmethod
    def configured(settings: SenseflowSettings) -> bool:
        return present(settings, "api_key", "agent")

    def __init__(self, settings: SenseflowSettings, context: ProviderContext) -> None:
        require(settings, "api_key", "agent")
        no_system_prompt(context.options, "senseflow", "the agent, SENSEFLOW_AGENT, carries it")
        self._agent = settings.agent
        self._state: ThreadState = context.state
        self._client = provider_client(
            context, settings.api_url, headers=bearer(secret(settings.api_key))
        )
        self._tasks: dict[ThreadKey, tuple[str, str]] = {}
        self._background: set[asyncio.Task[Any]] = set()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a cosmetic call (rename) beside the reply; `aclose` cancels what is left."""
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def open(self, thread: ThreadKey, steering: Mapping[str, str]) -> str | None:
        return None

    async def _owner(self, conversation: Conversation, fallback: str) -> str:
        """The end-user id that owns the conversation at SenseFlow (see the module docstring)."""
        if conversation.id is None:
            return fallback
        return await self._state.get(conversation.thread, OWNER) or fallback

    def reply(self, conversation: Conversation, post: UserPost) -> AsyncGenerator[ReplyEvent, None]:
        attempts = retry_when_busy(lambda: self._reply(conversation, post))
        return guarded(LABEL, attempts, CREDENTIALS)

    async def _reply(
        self, conversation: Conversation, post: UserPost
    ) -> AsyncGenerator[ReplyEvent, None]:
        user = await self._owner(conversation, post.author_ref)
        body = {
            "model": conversation.steering.get("agent") or self._agent,
            "query": post.text,
            "inputs": {},
            "response_mode": "streaming",
            "conversation_id": conversation.id or "",
            "user": user,
        }
        reply = _Reply(conversation.id)
        try:
            async with open_sse(self._client, "POST", CHAT, json=body) as source:
                async for data in JsonEvents(source, LABEL):
                    started = self._track(conversation.thread, user, reply, data)
                    if started is not None:
                        await self._state.set(conversation.thread, OWNER, user)
                        named = replace(conversation, id=started.conversation_id)
                        self._spawn(self.rename(named, first_words(post.text, NAME_LIMIT)))
                        yield started
                    event = reply.handle(data)
                    if isinstance(event, ReplyDone):
                        self._tasks.pop(conversation.thread, None)
                        yield event
                        return
                    if event is not None:
                        yield event
        except Exception:
            self._tasks.pop(conversation.thread, None)
            raise
        self._tasks.pop(conversation.thread, None)
        raise StreamCut()

    def _track(
        self, thread: ThreadKey, user: str, reply: _Reply, data: dict[str, Any]
    ) -> ConversationStarted | None:
        """Remember the running task (for `cancel`); note a newly named conversation."""
        task = data.get("task_id")
        if isinstance(task, str) and task:
            self._tasks[thread] = (task, user)
        return reply.started(data)

    async def cancel(self, conversation: Conversation) -> None:
        """Stop the thread's running task at SenseFlow; never raises for provider trouble."""
        running = self._tasks.pop(conversation.thread, None)
        if running is None:
            return
        task, user = running
        try:
            response = await self._client.post(f"{CHAT}/{segment(task)}/stop", json={"user": user})
            if response.status_code not in (200, 404):
                log.warning("SenseFlow stop of task %s answered %s", task, response.status_code)
        except httpx.HTTPError as exc:
            log.warning("SenseFlow stop of task %s failed: %s", task, exc)

    async def forget(self, conversation: Conversation) -> None:
        """Delete the conversation at SenseFlow (one already gone is fine), then its owner."""
        if conversation.id is None:
            return
        user = await self._owner(conversation, "")
        if not user:
            # SenseFlow deletes only for the owning end user, whom nobody recorded.
            log.warning(
                "SenseFlow conversation %s has no known owner; not deleted", conversation.id
            )
            await self._state.delete(conversation.thread, OWNER)
            return
        body = {"user": user, "model": conversation.steering.get("agent") or self._agent}
        response = await self._client.request(
            "DELETE", f"{CONVERSATIONS}/{segment(conversation.id)}", json=body
        )
        if response.status_code != 404:
            raise_for_status(response)
        await self._state.delete(conversation.thread, OWNER)

    async def rename(self, conversation: Conversation, name: str) -> bool:
        """Name the conversation at SenseFlow (cosmetic: failures are logged, never raised)."""
        if conversation.id is None:
            return False
        user = await self._owner(conversation, "")
        agent = conversation.steering.get("agent") or self._agent
        body = {"name": name, "auto_generate": False, "user": user, "model": agent}
        path = f"{CONVERSATIONS}/{segment(conversation.id)}/name"
        try:
            response = await self._client.post(path, json=body)
            raise_for_status(response)
        except (httpx.HTTPError, ProviderHTTPError) as exc:
            log.warning("SenseFlow rename of %s failed: %s", conversation.id, exc)
            return False
        return True

    async def check(self) -> str:
        """One harmless call for `threadbridge doctor`; raises when the provider refuses it."""
        params: dict[str, str | int] = {
            "user": "threadbridge-doctor",
            "model": self._agent,
            "limit": 1,
        }
        raise_for_status(await self._client.get("agent/conversations", params=params))
        return "API key accepted (conversations listed)"

    async def aclose(self) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self._client.aclose()


class _Reply:
    """One stream's progress: the conversation id, and the answer (replaceable) so far."""

    def __init__(self, conversation_id: str | None) -> None:
        self.conversation_id = conversation_id
        self.parts: list[str] = []

    def started(self, data: dict[str, Any]) -> ConversationStarted | None:
        """`ConversationStarted` on the first event that names a conversation we had none of."""
        new = data.get("conversation_id")
        if self.conversation_id is None and isinstance(new, str) and new:
            self.conversation_id = new
            return ConversationStarted(new)
        return None

    def handle(self, data: dict[str, Any]) -> ReplyEvent | None:
        kind = data.get("event")
        if kind in ("message", "agent_message"):
            answer = data.get("answer")
            if isinstance(answer, str) and answer:
                self.parts.append(answer)
                return TextDelta(answer)
        elif kind == "message_replace":
            answer = data.get("answer")
            self.parts = [answer] if isinstance(answer, str) else []
        elif kind == "message_end":
            metadata = data.get("metadata")
            usage = metadata.get("usage") if isinstance(metadata, dict) else None
            return ReplyDone(
                text="".join(self.parts),
                usage=usage if isinstance(usage, dict) else {},
                message_id=_text(data.get("message_id") or data.get("id")),
            )
        elif kind == "error":
            raise _error(data)
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _error(data: Mapping[str, Any]) -> ProviderError:
    status = data.get("status")
    code = _text(data.get("code"))
    detail = f"SenseFlow error {code} ({status}): {_text(data.get('message')) or 'no details'}"
    retryable = code in RETRYABLE_CODES or (
        isinstance(status, int) and (status == 429 or status >= 500)
    )
    message = "SenseFlow could not answer this message."
    return ProviderError(message, retryable=retryable, code=code, detail=detail)
