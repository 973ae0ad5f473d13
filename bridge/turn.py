"""One turn: a user's post in, the provider's reply out, shown on the messenger and recorded.

The reply record is written before streaming starts, so a retry or a takeover finds the
messages already posted and edits them instead of answering twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from redis.exceptions import RedisError

from bridge.metrics import Metrics
from bridge.models import (
    ConversationStarted,
    ReplyDone,
    ReplyEvent,
    ReplyFailed,
    TextDelta,
    UserPost,
)
from bridge.pacing import EditBudget
from bridge.provider import Conversation, Provider
from bridge.providers_set import ProviderSet
from bridge.render import Renderer
from bridge.sse import ProviderHTTPError, error_text
from bridge.store import ReplyRecord, Store
from bridge.surface import Surface

log = logging.getLogger(__name__)

SurfaceFactory = Callable[[UserPost, list[str]], Surface]


def notice(text: str, note: str) -> str:
    """The reply text with a short notice appended, as a quote both platforms render."""
    return f"{text.rstrip()}\n\n> {note}" if text.strip() else f"> {note}"


@dataclass(slots=True)
class Outcome:
    status: str
    text: str


class Turns:
    """Answers posts; shared by every thread of a process."""

    def __init__(
        self,
        store: Store,
        budget: EditBudget,
        providers: ProviderSet,
        surfaces: SurfaceFactory,
        metrics: Metrics,
    ) -> None:
        self._store = store
        self._budget = budget
        self._providers = providers
        self._surfaces = surfaces
        self._metrics = metrics

    async def answer(
        self,
        post: UserPost,
        stop: asyncio.Event | None = None,
        fence: Callable[[], None] | None = None,
    ) -> Outcome:
        """Answer `post` once; a post whose record is final is not answered again.

        `fence` raises when this process may no longer write to the thread (lease lost).
        """
        record = await self._store.record(post.thread, post.message_id) or ReplyRecord()
        if record.status in ("done", "failed", "stopped"):
            return Outcome(record.status, "")
        surface = self._surfaces(post, list(record.messages))
        surface.streaming.update(record.streaming)
        takeover = bool(record.messages)
        if not takeover:
            if fence is not None:
                fence()
            await surface.start()
        await self._store.save_record(
            post.thread, post.message_id, messages=list(surface.messages), status="streaming"
        )
        await self._store.index_replies(post.thread, surface.messages)

        async def on_messages(ids: list[str]) -> None:
            streaming = [i for i in ids if i in surface.streaming]
            await self._store.save_record(
                post.thread, post.message_id, messages=ids, streaming=streaming
            )
            await self._store.index_replies(post.thread, ids[-1:])

        renderer = Renderer(
            surface,
            self._budget,
            on_messages=on_messages,
            shown=[None] * len(surface.messages) if takeover else [],
            fence=fence,
        )
        try:
            outcome = await self._run(post, renderer, stop or asyncio.Event(), takeover)
        finally:
            await renderer.aclose()
            await surface.close()
        await self._store.save_record(post.thread, post.message_id, status=outcome.status)
        self._metrics.inc(f"replies_{outcome.status}_total")
        self._metrics.inc("messenger_writes_total", renderer.stats.writes)
        return outcome

    async def _run(
        self, post: UserPost, renderer: Renderer, stop: asyncio.Event, takeover: bool
    ) -> Outcome:
        try:
            conversation, provider = await self._conversation(post)
        except RedisError:
            raise
        except Exception as exc:
            message = _describe(exc)
            log.warning("could not open a conversation for %s: %s", post.thread, message)
            text = notice("", f"⚠️ I could not start the conversation: {message}")
            await renderer.finish(text)
            return Outcome("failed", text)
        renderer.start()
        return await self._stream(post, conversation, provider, renderer, stop, takeover)

    async def _stream(
        self,
        post: UserPost,
        conversation: Conversation,
        provider: Provider,
        renderer: Renderer,
        stop: asyncio.Event,
        takeover: bool,
    ) -> Outcome:
        """Feed the provider's events to the renderer until done, failed or stopped."""
        lead = ""
        if takeover and not provider.replays:
            lead = "> ⚠️ The previous answer was interrupted; here it is again.\n\n"
            renderer.append(lead)
        events = provider.reply(conversation, post)
        consume = asyncio.create_task(self._consume(conversation, events, renderer, lead))
        stopper = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait({consume, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            if not consume.done():
                consume.cancel()
                await asyncio.gather(consume, return_exceptions=True)
        if consume in done:
            outcome = consume.result()
        else:
            await provider.cancel(conversation)
            outcome = Outcome("stopped", notice(renderer.text, "⏹️ Stopped."))
        await renderer.finish(outcome.text)
        return outcome

    async def _consume(
        self,
        conversation: Conversation,
        events: AsyncIterator[ReplyEvent],
        renderer: Renderer,
        lead: str,
    ) -> Outcome:
        try:
            async for event in events:
                if isinstance(event, TextDelta):
                    renderer.append(event.text)
                elif isinstance(event, ConversationStarted):
                    note = await self._started(conversation, event.conversation_id)
                    lead += note
                    renderer.append(note)
                elif isinstance(event, ReplyDone):
                    final = lead + event.text if event.text is not None else renderer.text
                    if not final.strip():
                        return Outcome("done", notice("", "The provider sent an empty answer."))
                    return Outcome("done", final)
                elif isinstance(event, ReplyFailed):
                    return Outcome("failed", notice(renderer.text, f"⚠️ {event.message}"))
            return Outcome("failed", notice(renderer.text, "⚠️ The answer ended unexpectedly."))
        finally:
            close = getattr(events, "aclose", None)
            if close is not None:
                await close()

    async def _started(self, conversation: Conversation, new_id: str) -> str:
        """Store the id the provider just named; say so if it replaced an expired one."""
        await self._store.set_conversation_id(conversation.thread, new_id)
        if conversation.id and conversation.id != new_id:
            return "> ℹ️ The previous session had expired; this is a fresh one.\n\n"
        return ""

    async def _conversation(self, post: UserPost) -> tuple[Conversation, Provider]:
        """The thread's binding, created (exactly once) with the channel's provider if new."""
        binding = await self._store.binding(post.thread)
        if binding is not None:
            return binding, self._providers.get(binding.provider)
        settings = await self._store.channel_settings(post.thread.scope)
        name = settings.get("provider") or self._providers.default
        provider = self._providers.get(name)
        steering = _steering(settings)
        conversation_id = await provider.open(post.thread, steering)
        binding = await self._store.bind(Conversation(name, conversation_id, post.thread, steering))
        return binding, self._providers.get(binding.provider)


def _steering(settings: dict[str, str]) -> dict[str, str]:
    return {k[len("steering.") :]: v for k, v in settings.items() if k.startswith("steering.")}


def _describe(exc: Exception) -> str:
    if isinstance(exc, ProviderHTTPError):
        detail = error_text(exc.body)
        return f"the provider answered {exc.status}" + (f" ({detail})" if detail else "")
    return str(exc) or type(exc).__name__
