"""converzen (seed 003): streamed chat sessions whose id arrives in the first stream.

Auth is the token flow: `POST /chat/get_token {user_id, persona?}` with the API key gives a
Bearer token per end user (`user_id` = the post's `author_ref`), cached per user and refreshed
before `expires_at`, and once when a stream answers 401/403 or an `auth_failed` error event.
The token already selects the persona, so stream bodies carry only the message (and session).
The seed does not say whether a session is bound to the user whose token started it, so the
safe reading is kept: the poster who started the session is its owner (thread state
`converzen:user`), and every continuation in the thread uses the owner's token.

Before any text has been shown, `rate_limited` (event or HTTP 429) is retried after a backoff
and `auth_failed` once with a fresh token; once text is out, trouble ends the reply instead,
so the final text is never a mix of two attempts.

Session expiry: when a continuation answers `session_expired` before any text, the provider
starts a fresh session with the same message and yields `ConversationStarted(new id)`; the core
stores the new id and shows a notice because the thread already had a conversation. If the
session expires after text was shown, the reply fails (retryable) and the next message takes
the same fresh-session path.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from typing import Any

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
from bridge.contracts.toolkit.auth import TokenCache, bearer, open_sse_authed, renew_at
from bridge.contracts.toolkit.http import provider_client
from bridge.contracts.toolkit.replies import ProviderError, StreamCut, guarded
from bridge.contracts.toolkit.settings import no_system_prompt, present
from bridge.contracts.toolkit.sse import JsonEvents, ProviderHTTPError
from bridge.contracts.toolkit.waits import asked_wait, capped_wait
from providers.converzen.settings import ConverzenSettings

LABEL = "converzen"
CREDENTIALS = "CONVERZEN_API_KEY and CONVERZEN_PERSONA"
MAX_USERS = 10_000
_PERSONA_ID = re.compile(r"^(\d+):(\S+)$")

ERRORS: dict[str, tuple[str, bool]] = {
    "content_filtered": ("The provider's content filter blocked this answer.", False),
    "rate_limited": ("converzen is rate limiting requests; please try again in a moment.", True),
    "unavailable": ("converzen is unavailable right now; please try again in a moment.", True),
    "internal": ("converzen had an internal error; please try again in a moment.", True),
    "auth_failed": (
        "converzen did not accept the bridge's credentials; please tell the operator.",
        False,
    ),
    "session_expired": (
        "The converzen session expired during this answer; your next message starts a fresh one.",
        True,
    ),
}


def persona_selector(value: str) -> dict[str, Any] | None:
    """`CONVERZEN_PERSONA` as the API wants it: "" → key default, "47:next" → id, else alias."""
    value = value.strip()
    if not value:
        return None
    match = _PERSONA_ID.match(value)
    if match:
        return {"persona_id": int(match.group(1)), "version_type": match.group(2)}
    return {"alias": value}


DOCTOR_USER = "threadbridge-doctor"
OWNER = "converzen:user"
"""The thread-state field holding the end user whose token started the session."""


class ConverzenProvider:
    """One converzen session per thread, streamed; `open` has nothing to create."""

    name = "converzen"
    credentials = "CONVERZEN_API_KEY"
    """What a refused (401/403) start-up check names."""
    streams = True
    replays = False
    rate_limit_delays: tuple[float, ...] = (1.0, 2.0, 4.0)
    settings_class = ConverzenSettings

    @staticmethod
    def configured(settings: ConverzenSettings) -> bool:
        return present(settings, "api_key")

    def __init__(self, settings: ConverzenSettings, context: ProviderContext) -> None:
        require(settings, "api_key")
        no_system_prompt(context.options, "converzen", "the persona, CONVERZEN_PERSONA, carries it")
        self._api_key = secret(settings.api_key)
        self._persona = settings.persona
        self._client = provider_client(context, settings.api_url)
        self._state: ThreadState = context.state
        self._tokens: OrderedDict[str, TokenCache] = OrderedDict()

    def tokens(self, user: str, persona: str | None = None) -> TokenCache:
        """The token cache of one end user and persona (the token selects the persona; a
        channel may set its own); least recently used ones are dropped."""
        chosen = persona or self._persona
        key = f"{user}\n{chosen}"
        cache = self._tokens.get(key)
        if cache is None:
            cache = TokenCache(lambda: self._fetch_token(user, chosen), margin=0.0)
            self._tokens[key] = cache
            while len(self._tokens) > MAX_USERS:
                self._tokens.popitem(last=False)
        else:
            self._tokens.move_to_end(key)
        return cache

    async def _fetch_token(self, user: str, persona: str) -> tuple[str, float]:
        body: dict[str, Any] = {"user_id": user}
        selector = persona_selector(persona)
        if selector is not None:
            body["persona"] = selector
        response = await self._client.post(
            "chat/get_token", json=body, headers={"X-API-Key": self._api_key}
        )
        if response.status_code >= 400:
            raise ProviderHTTPError.from_response(response)
        data = response.json()
        return str(data["token"]), renew_at(float(data["expires_at"]))

    async def open(self, thread: ThreadKey, steering: Mapping[str, str]) -> str | None:
        return None

    def reply(self, conversation: Conversation, post: UserPost) -> AsyncGenerator[ReplyEvent, None]:
        return guarded(LABEL, self._reply(conversation, post), CREDENTIALS)

    async def _reply(
        self, conversation: Conversation, post: UserPost
    ) -> AsyncGenerator[ReplyEvent, None]:
        """Run attempts until one completes; retry only while no text has been yielded."""
        session = conversation.id
        owner = await self._owner(conversation, post.author_ref)
        tokens = self.tokens(owner, conversation.steering.get("persona"))
        delays = iter(self.rate_limit_delays)
        refreshed = restarted = False
        while True:
            state = _Attempt(session)
            try:
                async with aclosing(self._attempt(state, post.text, tokens)) as events:
                    async for event in events:
                        if isinstance(event, ConversationStarted):
                            await self._state.set(conversation.thread, OWNER, owner)
                        yield event
                return
            except ConverzenError as exc:
                if state.text or exc.code is None:
                    raise
                session = state.session
                if exc.code == "session_expired" and session is not None and not restarted:
                    session, restarted = None, True
                elif exc.code == "auth_failed" and not refreshed:
                    refreshed = True
                    await tokens.refresh(state.token)
                elif exc.code == "rate_limited" and (delay := next(delays, None)) is not None:
                    await asked_wait(exc.retry_after(delay))
                else:
                    raise

    async def _owner(self, conversation: Conversation, poster: str) -> str:
        """Whose token continues the session: its starter's, else (a new session) the poster's."""
        if conversation.id is None:
            return poster
        return await self._state.get(conversation.thread, OWNER) or poster

    async def _attempt(
        self, state: _Attempt, message: str, tokens: TokenCache
    ) -> AsyncGenerator[ReplyEvent, None]:
        if state.session is None:
            path, body = "chat/completion/stream", {"message": message}
        else:
            path, body = "chat/continuation/stream", {"message": message, "session": state.session}
        try:
            async with open_sse_authed(
                self._client, path, tokens, bearer, json=body, rejected=(401, 403)
            ) as (source, state.token):
                async for data in JsonEvents(source, LABEL):
                    event = state.handle(data)
                    if event is not None:
                        yield event
                        if isinstance(event, ReplyDone):
                            return
        except ProviderHTTPError as exc:
            if exc.status == 429:
                raise _error({"code": "rate_limited", "retry_after": exc.retry_after}) from exc
            if exc.status in (404, 410) and state.session is not None:
                # The session is unknown or gone: the same as a `session_expired` event.
                raise _error({"code": "session_expired", "message": str(exc)}) from exc
            raise
        raise StreamCut()

    async def cancel(self, conversation: Conversation) -> None:
        """converzen has no stop call: closing the stream is all there is."""

    async def forget(self, conversation: Conversation) -> None:
        """converzen has no delete call; an unused session simply expires."""

    async def check(self) -> str:
        """One harmless call for `threadbridge doctor`; raises when the provider refuses it."""
        await self._fetch_token(DOCTOR_USER, self._persona)
        return "API key accepted (token issued)"

    async def aclose(self) -> None:
        await self._client.aclose()


class _Attempt:
    """One stream's progress: the session it is on, and the text so far."""

    def __init__(self, session: str | None) -> None:
        self.session = session
        self.parts: list[str] = []
        self.token = ""

    @property
    def text(self) -> bool:
        return bool(self.parts)

    def handle(self, data: dict[str, Any]) -> ReplyEvent | None:
        kind = data.get("type")
        if kind in ("session_created", "session_continued"):
            new = data.get("session_id")
            if isinstance(new, str) and new and new != self.session:
                self.session = new
                return ConversationStarted(new)
        elif kind == "token":
            content = data.get("content")
            if isinstance(content, str) and content:
                self.parts.append(content)
                return TextDelta(content)
        elif kind == "done":
            usage = data.get("usage")
            return ReplyDone(
                text="".join(self.parts),
                usage=usage if isinstance(usage, dict) else {},
                finish_reason=data.get("finish_reason"),
            )
        elif kind == "error":
            raise _error(data)
        return None


class ConverzenError(ProviderError):
    """An `error` event, with the retry hint it may carry."""

    def __init__(
        self, message: str, *, retryable: bool, code: str | None, hint: Any, detail: str
    ) -> None:
        super().__init__(message, retryable=retryable, code=code, detail=detail)
        self._hint = hint

    def retry_after(self, default: float) -> float:
        """The wait the error asks for, capped to 0–30 s (`inf`, NaN, negatives included)."""
        if isinstance(self._hint, int | float | str) and not isinstance(self._hint, bool):
            return capped_wait(self._hint, default)
        return default


def _error(data: Mapping[str, Any]) -> ConverzenError:
    code = error_code(data)
    detail = f"converzen error {code}: {data.get('message') or 'no details'}"
    message, retryable = ERRORS.get(code or "", ("converzen could not answer this message.", False))
    return ConverzenError(
        message, retryable=retryable, code=code, hint=data.get("retry_after"), detail=detail
    )


def error_code(data: Mapping[str, Any]) -> str | None:
    """The error's code: `code`, else an `error` string or object's code, else a `message`
    that is itself one of the known codes (the seed's error event has only `message`)."""
    nested = data.get("error")
    for value in (data.get("code"), nested.get("code") if isinstance(nested, Mapping) else nested):
        if isinstance(value, str) and value:
            return value
    message = data.get("message")
    return message if isinstance(message, str) and message in ERRORS else None
