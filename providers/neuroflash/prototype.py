"""neuroflash's prototype conversations API (seeds 000/001): the server keeps the history.

Each reply sends only the new user message and gets the whole answer in one JSON response
(no streaming is documented), so the reply is rendered in one edit. Conversations are owned by
a workspace: the id goes in the POST body and the `x-workspace-id` header, and in
`?workspace_id=` on GET/DELETE; a wrong workspace answers 403.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any

from bridge.contracts import (
    Conversation,
    ConversationStarted,
    ProviderContext,
    ReplyDone,
    ReplyEvent,
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
from bridge.contracts.toolkit.replies import ProviderError, guarded, retry_when_busy
from bridge.contracts.toolkit.settings import no_system_prompt, present
from bridge.contracts.toolkit.sse import ProviderHTTPError
from bridge.contracts.toolkit.text import segment
from providers.neuroflash.settings import NeuroflashSettings
from providers.neuroflash.workspace import Workspace

LABEL = "neuroflash"
CREDENTIALS = "NEUROFLASH_CLIENT_ID and NEUROFLASH_CLIENT_SECRET"
BASE = "ds-prototypes/conversations"


class NeuroflashPrototypeProvider:
    """One neuroflash prototype conversation per thread; OAuth client-credentials auth."""

    name = "neuroflash-prototype"
    credentials = "NEUROFLASH_CLIENT_ID/NEUROFLASH_CLIENT_SECRET"
    """What a refused (401/403) start-up check names."""
    streams = False
    replays = False
    variant_of = "neuroflash"
    """Same credentials as the v1 API: chosen only by BRIDGE_PROVIDER, never on its own."""
    settings_class = NeuroflashSettings

    @staticmethod
    def configured(settings: NeuroflashSettings) -> bool:
        return present(settings, "client_id", "client_secret")

    def __init__(self, settings: NeuroflashSettings, context: ProviderContext) -> None:
        require(settings, "client_id", "client_secret")
        no_system_prompt(
            context.options, "neuroflash-prototype", "its messages are user messages only"
        )
        self._client_id = str(settings.client_id)
        self._client_secret = secret(settings.client_secret)
        self._token_url = settings.token_url
        self._client = provider_client(context, settings.api_url)
        self.tokens = TokenCache(self._fetch_token, margin=0.0)
        self._workspace = Workspace(settings.workspace_id, self._client, self.tokens)

    async def _fetch_token(self) -> tuple[str, float]:
        return await oauth_client_credentials(
            self._client, self._token_url, self._client_id, self._client_secret
        )

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call with one token refresh on 401; the JSON answer, or ProviderHTTPError."""
        workspace = await self._workspace.id()

        def auth(token: str) -> dict[str, str]:
            return {**bearer(token), "x-workspace-id": workspace}

        response = await request_authed(self._client, method, path, self.tokens, auth, **kwargs)
        if response.status_code >= 400:
            raise ProviderHTTPError.from_response(response)
        return response.json() if response.content else None

    async def open(self, thread: ThreadKey, steering: Mapping[str, str]) -> str | None:
        data = await self._call("POST", BASE, json={"workspace_id": await self._workspace.id()})
        return str(data["uuid"])

    def reply(self, conversation: Conversation, post: UserPost) -> AsyncGenerator[ReplyEvent, None]:
        attempts = retry_when_busy(lambda: self._reply(conversation, post))
        return guarded(LABEL, attempts, CREDENTIALS)

    async def _reply(
        self, conversation: Conversation, post: UserPost
    ) -> AsyncGenerator[ReplyEvent, None]:
        conversation_id = conversation.id
        if conversation_id is None:
            conversation_id = await self.open(conversation.thread, conversation.steering)
            assert conversation_id is not None
            yield ConversationStarted(conversation_id)
        body = {"messages": [{"role": "user", "content": post.text}]}
        path = f"{BASE}/{segment(conversation_id)}/chat/completions"
        try:
            data = await self._call("POST", path, json=body)
        except ProviderHTTPError as exc:
            if exc.status == 403:
                raise ProviderError(
                    "neuroflash says this workspace does not own this conversation; "
                    "check NEUROFLASH_WORKSPACE_ID.",
                    retryable=False,
                    code="forbidden",
                ) from exc
            raise
        yield _done(data)

    async def cancel(self, conversation: Conversation) -> None:
        """Nothing to stop: a request that is not awaited any more is simply dropped."""

    async def forget(self, conversation: Conversation) -> None:
        """Delete the conversation at neuroflash; one already gone is fine."""
        if conversation.id is None:
            return
        query = {"workspace_id": await self._workspace.id()}
        try:
            await self._call("DELETE", f"{BASE}/{segment(conversation.id)}", params=query)
        except ProviderHTTPError as exc:
            if exc.status != 404:
                raise

    async def check(self) -> str:
        """One harmless call for `threadbridge doctor`; raises when the provider refuses it."""
        await self.tokens.get()
        return f"token issued, workspace {await self._workspace.id()}"

    async def aclose(self) -> None:
        await self._client.aclose()


def _done(data: Any) -> ReplyDone:
    """The answer in an OpenAI-style completion; its error, if the body carries one instead."""
    if not isinstance(data, dict):
        raise ValueError("completion is not a JSON object")
    choices = data.get("choices")
    if not choices:
        detail = data.get("error")
        message = detail.get("message") if isinstance(detail, dict) else detail
        raise ProviderError(
            "neuroflash could not answer this message.",
            retryable=True,
            code="no_choices",
            detail=f"no choices: {message or 'the reply had no answer'}",
        )
    choice = choices[0]
    content = choice["message"]["content"]
    if not isinstance(content, str):
        raise ValueError("completion content is not text")
    usage = data.get("usage")
    return ReplyDone(
        text=content,
        usage=usage if isinstance(usage, dict) else {},
        finish_reason=choice.get("finish_reason"),
        message_id=data.get("id"),
    )
