"""NeuroflashProvider: one neuroflash v1 conversation (seed 002) per thread, replies over SSE.

The client message id is the post's UUIDv5, so every retry or takeover of a post replays the
stored answer instead of running the LLM again; that is what makes re-opening a stream safe.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import AsyncExitStack, aclosing
from typing import Any
from urllib.parse import quote

import httpx
from httpx_sse import EventSource

from bridge.contracts import (
    Conversation,
    ProviderContext,
    ReplyDone,
    ReplyEvent,
    ReplyFailed,
    ThreadKey,
    UserPost,
)
from bridge.contracts.settings import require, secret
from bridge.contracts.toolkit.auth import (
    TokenCache,
    bearer,
    oauth_client_credentials,
    request_authed,
)
from bridge.contracts.toolkit.http import provider_client
from bridge.contracts.toolkit.replies import closing
from bridge.contracts.toolkit.settings import present
from bridge.contracts.toolkit.sse import ProviderHTTPError, open_sse, raise_for_status
from bridge.contracts.toolkit.waits import asked_wait
from providers.neuroflash.events import MalformedEvent, parse_event, reply_after
from providers.neuroflash.policy import (
    NeuroflashError,
    OpenRetry,
    failure,
    message_body,
    patch_body,
    steering_body,
)
from providers.neuroflash.settings import NeuroflashSettings
from providers.neuroflash.workspace import Workspace

log = logging.getLogger("providers.neuroflash")

RECONCILE_PAUSES = (0.0, 0.4, 1.0)
"""Waits before each look at the history when a stream ended without its final payload."""
PAGE_SIZE = 100
MAX_PAGES = 50
CANCEL_TIMEOUT = 5.0
CUT_OFF = "The answer was cut off before it was complete. Please try again."


class NeuroflashProvider:
    """The neuroflash v1 conversation API, authorised by OAuth client credentials."""

    name = "neuroflash"
    credentials = "NEUROFLASH_CLIENT_ID/NEUROFLASH_CLIENT_SECRET"
    """What a refused (401/403) start-up check names."""
    streams = True
    replays = True
    settings_class = NeuroflashSettings

    @staticmethod
    def configured(settings: NeuroflashSettings) -> bool:
        return present(settings, "client_id", "client_secret")

    def __init__(self, settings: NeuroflashSettings, context: ProviderContext) -> None:
        require(settings, "client_id", "client_secret")
        self._settings = settings
        self._system_prompt = context.options.system_prompt
        self._client = provider_client(context, settings.api_url)
        self._tokens = TokenCache(self._fetch_token, margin=0.0)
        self._workspace = Workspace(settings.workspace_id, self._client, self._tokens)

    async def open(self, thread: ThreadKey, steering: Mapping[str, str]) -> str:
        """Create the thread's conversation and return its id.

        Raises `ProviderHTTPError` (or `NeuroflashError`), which the core shows in the thread.
        Not retried: creating is not idempotent, and the thread's next post tries again.
        """
        body = steering_body(self._settings, self._system_prompt, steering)
        response = await self._request("POST", await self._conversations(), json=body)
        data = response.json()
        conversation_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(conversation_id, str | int) or conversation_id == "":
            raise NeuroflashError("neuroflash created a conversation but sent no id.")
        log.info("neuroflash conversation %s opened for %s", conversation_id, thread)
        return str(conversation_id)

    async def reply(
        self, conversation: Conversation, post: UserPost
    ) -> AsyncGenerator[ReplyEvent, None]:
        """Stream the answer to `post`; never raises for provider trouble (yields ReplyFailed)."""
        if not conversation.id:
            yield ReplyFailed("This thread has no neuroflash conversation yet.", retryable=True)
            return
        body = message_body(post, self._settings.context_size)
        try:
            path = f"{await self._path(conversation.id)}/message-streams"
            async with AsyncExitStack() as stack:
                source = await self._open_stream(stack, path, body)
                async for event in self._read(source, conversation.id, body["id"]):
                    yield event
        except Exception as exc:
            if closing(exc):
                return
            failed = failure(exc)
            log.warning("neuroflash reply to %s failed: %s (%r)", post.thread, failed.message, exc)
            yield failed

    async def steer(self, conversation: Conversation, changes: Mapping[str, str]) -> bool:
        """Apply changed steering to the live conversation (PATCH, seed 002); the model is
        fixed at creation, so a model change alone applies to new threads only."""
        body = patch_body(self._settings, self._system_prompt, conversation.steering, changes)
        if not conversation.id or not body:
            return False
        await self._request("PATCH", await self._path(conversation.id), json=body)
        return True

    async def cancel(self, conversation: Conversation) -> None:
        """Ask neuroflash to stop the running stream; errors are logged and ignored."""
        if not conversation.id:
            return
        try:
            path = f"{await self._path(conversation.id)}/message-streams"
            await self._request("DELETE", path, timeout=CANCEL_TIMEOUT)
        except Exception as exc:
            log.info("neuroflash cancel of %s failed (ignored): %r", conversation.id, exc)

    async def forget(self, conversation: Conversation) -> None:
        """Nothing to do: the v1 API cannot delete a conversation."""

    async def check(self) -> str:
        """One harmless call for `threadbridge doctor`; raises when the provider refuses it."""
        await self._request("GET", await self._conversations(), params={"page": 1})
        return f"token issued, conversations of workspace {await self._workspace.id()} listed"

    async def aclose(self) -> None:
        await self._client.aclose()

    # Internals ------------------------------------------------------------------------

    async def _conversations(self) -> str:
        return f"v1/workspaces/{quote(await self._workspace.id(), safe='')}/conversations"

    async def _path(self, conversation_id: str) -> str:
        return f"{await self._conversations()}/{quote(conversation_id, safe='')}"

    async def _fetch_token(self) -> tuple[str, float]:
        settings = self._settings
        return await oauth_client_credentials(
            self._client,
            settings.token_url,
            settings.client_id or "",
            secret(settings.client_secret),
        )

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """An authorised request; one token refresh when neuroflash answers 401."""
        response = await request_authed(self._client, method, path, self._tokens, bearer, **kwargs)
        raise_for_status(response)
        return response

    async def _open_stream(
        self, stack: AsyncExitStack, path: str, body: dict[str, Any]
    ) -> EventSource:
        """Open the stream, waiting out locks, rate limits and transient failures."""
        retry = OpenRetry()
        refreshed = False
        while True:
            token: str | None = None
            try:
                token = await self._tokens.get()
                headers = bearer(token)
                sse = open_sse(self._client, "POST", path, json=body, headers=headers)
                return await stack.enter_async_context(sse)
            except (ProviderHTTPError, httpx.TransportError) as exc:
                if isinstance(exc, ProviderHTTPError) and exc.status == 401:
                    if token is None or refreshed:
                        raise
                    refreshed = True
                    await self._tokens.refresh(token)
                    continue
                delay = retry.delay(exc)
                if delay is None:
                    raise
                log.info("neuroflash stream not open yet (%r); retrying in %.2fs", exc, delay)
            await asked_wait(delay)

    async def _read(
        self, source: EventSource, conversation_id: str, message_id: str
    ) -> AsyncIterator[ReplyEvent]:
        """Relay the stream's events; when it ends without a final payload, ask the history."""
        ended = False
        try:
            async with aclosing(source.aiter_sse()) as events:
                async for sse in events:
                    try:
                        event = parse_event(sse.event, sse.data)
                    except MalformedEvent:
                        log.warning("neuroflash sent a malformed event, skipped: %.200r", sse.data)
                        continue
                    if isinstance(event, ReplyDone) and event.text is None:
                        ended = True
                        break
                    if event is not None:
                        yield event
                    if isinstance(event, ReplyDone | ReplyFailed):
                        return
        except httpx.TransportError as exc:
            log.warning("neuroflash stream in %s broke off: %r", conversation_id, exc)
        await source.response.aclose()
        found = await self._reconcile(conversation_id, message_id)
        if found is not None:
            yield found
        elif ended:
            yield ReplyDone()
        else:
            yield ReplyFailed(CUT_OFF, retryable=True, code="cut")

    async def _reconcile(self, conversation_id: str, message_id: str) -> ReplyDone | None:
        """The stored answer to `message_id`, looked up a few times as it may still be saved."""
        for pause in RECONCILE_PAUSES:
            await asyncio.sleep(pause)
            try:
                found = reply_after(await self._history(conversation_id, message_id), message_id)
            except (ProviderHTTPError, httpx.HTTPError, ValueError, TypeError) as exc:
                log.warning("neuroflash history of %s unreadable: %r", conversation_id, exc)
                continue
            if found is not None:
                return found
        return None

    async def _history(self, conversation_id: str, message_id: str) -> list[Mapping[str, Any]]:
        """The conversation's last messages, pages read backwards until `message_id` is in them."""
        path = f"{await self._path(conversation_id)}/messages"
        first, pages = await self._page(path, 1)
        tail: list[Mapping[str, Any]] = []
        for number in range(pages, max(1, pages - MAX_PAGES), -1):
            data, _ = await self._page(path, number)
            tail = data + tail
            if any(message.get("id") == message_id for message in data):
                return tail
        return first + tail

    async def _page(self, path: str, number: int) -> tuple[list[Mapping[str, Any]], int]:
        """One page of the 1-based pagination envelope: its elements and the page count."""
        params = {"page": number, "size": PAGE_SIZE}
        envelope = (await self._request("GET", path, params=params)).json()
        if not isinstance(envelope, dict):
            raise ValueError(f"not a pagination envelope: {envelope!r:.200}")
        data = [m for m in envelope.get("data") or [] if isinstance(m, Mapping)]
        page = envelope.get("page") or {}
        return data, int(page.get("totalPages") or 1)
