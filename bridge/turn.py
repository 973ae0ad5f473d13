"""One turn: a user's post in, the provider's reply out, shown on the messenger and recorded.

The reply record is written before streaming starts, so a retry or a takeover finds the
messages already posted and edits them instead of answering twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from redis.exceptions import RedisError

from bridge import i18n, logs
from bridge.contracts import (
    Conversation,
    ConversationStarted,
    Provider,
    ReasoningDelta,
    ReplyDone,
    ReplyEvent,
    ReplyFailed,
    Surface,
    TextDelta,
    UserPost,
    WriteRejected,
)
from bridge.contracts.toolkit.reasoning import keep_apart
from bridge.contracts.toolkit.sse import ProviderHTTPError, error_text
from bridge.contracts.toolkit.waits import WaitBudget, use_budget
from bridge.deadlines import ReplyLimits, Watchdog
from bridge.lease import Lease, LeaseLost
from bridge.metrics import Metrics
from bridge.pacing import EditBudget
from bridge.recording import RecordedSurface
from bridge.redis_conn import outlast_failover
from bridge.refs import new_ref
from bridge.registry import Providers, Surfaces
from bridge.render import Renderer, RenderStats
from bridge.store import ReplyRecord, ReplyStatus, Store
from bridge.thinking import ShowReasoning, Thoughts

log = logging.getLogger(__name__)

CANCEL_TIMEOUT = 10.0
RATED = frozenset({ReplyStatus.DONE, ReplyStatus.LIMITED})
"""Replies whose last message carries feedback controls: answers, not errors or stops."""


def notice(text: str, note: str) -> str:
    """The reply text with a short notice appended, as a quote both platforms render."""
    return f"{text.rstrip()}\n\n> {note}" if text.strip() else f"> {note}"


@dataclass(slots=True)
class Outcome:
    status: ReplyStatus
    text: str


class Turns:
    """Answers posts; shared by every thread of a process."""

    def __init__(
        self,
        store: Store,
        budget: EditBudget,
        providers: Providers,
        surfaces: Surfaces,
        metrics: Metrics,
        limits: ReplyLimits | None = None,
    ) -> None:
        self._store = store
        self._budget = budget
        self._providers = providers
        self._surfaces = surfaces
        self._metrics = metrics
        self._limits = limits or ReplyLimits()
        self.locale = "en"
        self.show_reasoning: ShowReasoning = "off"

    @logs.in_reply
    async def answer(
        self,
        post: UserPost,
        stop: asyncio.Event | None = None,
        lease: Lease | None = None,
    ) -> Outcome:
        """Answer `post` once; a post whose record is final is not answered again.

        `lease`: this process's hold on the thread; once it is lost, nothing more is written
        (`LeaseLost`).
        A write the messenger refuses for good (no permission, channel gone) ends the turn as
        `undeliverable`, logged and counted; other errors propagate, so the post is retried.
        """
        try:
            return await self._answer(post, stop, lease)
        except WriteRejected as exc:
            if not exc.give_up:
                raise
            ref = new_ref()
            log.warning(
                "giving up on the reply to %s in %s (ref %s): the messenger refused it (%s)",
                post.message_id,
                post.thread,
                ref,
                exc,
            )
            self._metrics.inc("messenger_write_failures_total", platform=post.thread.platform)
            self._metrics.reply(ReplyStatus.UNDELIVERABLE)
            await self._store.save_record(
                post.thread, post.message_id, status=ReplyStatus.UNDELIVERABLE
            )
            return Outcome(ReplyStatus.UNDELIVERABLE, "")

    async def _answer(
        self, post: UserPost, stop: asyncio.Event | None, lease: Lease | None
    ) -> Outcome:
        record = await self._store.record(post.thread, post.message_id) or ReplyRecord()
        if record.status.final:
            return Outcome(record.status, "")
        surface = self._surface(post, record, lease)
        takeover = bool(record.messages)
        opening = None if takeover else asyncio.create_task(surface.start(), name="reply-start")
        holder = lease.token if lease is not None else None
        try:
            saved = await outlast_failover(
                lambda: self._store.save_record(
                    post.thread,
                    post.message_id,
                    messages=list(surface.messages),
                    status=ReplyStatus.STREAMING,
                    holder=holder,
                )
            )
        except BaseException:
            await _settle(opening)
            await surface.close()
            raise
        if not saved:
            await _settle(opening)
            await surface.close()
            raise LeaseLost(str(post.thread))
        await self._store.index_replies(post.thread, surface.messages)
        started = time.monotonic(), time.time()
        shown: list[str | None] = [None] * len(surface.messages) if takeover else []
        renderer = Renderer(surface, self._budget, shown=shown, opening=opening)
        self._metrics.active_streams.inc()
        try:
            outcome = await self._run(post, renderer, stop or asyncio.Event(), takeover, opening)
        finally:
            self._metrics.active_streams.dec()
            await _settle(opening)
            await renderer.aclose()
            await surface.close()
        await self._store.save_record(post.thread, post.message_id, status=outcome.status)
        self._metrics.reply(outcome.status)
        self._metrics.inc("messenger_writes", renderer.stats.writes, platform=post.thread.platform)
        _observe(self._metrics, post, renderer.stats, started)
        log.info("reply %s after %d writes", outcome.status, renderer.stats.writes)
        return outcome

    def _surface(self, post: UserPost, record: ReplyRecord, lease: Lease | None) -> Surface:
        """The adapter's surface for `post`, restored from `record`, fenced and recorded."""
        surface = self._surfaces.for_post(post, list(record.messages))
        surface.streaming.update(record.streaming)
        fence, holder = (lease.check, lease.token) if lease is not None else (None, None)
        return RecordedSurface(surface, self._store, post.thread, post.message_id, fence, holder)

    async def _run(
        self,
        post: UserPost,
        renderer: Renderer,
        stop: asyncio.Event,
        takeover: bool,
        opening: asyncio.Task[None] | None,
    ) -> Outcome:
        """Ask the provider while the surface opens (`opening`: the thread being created, say):
        the renderer writes only once it is open, and a surface that cannot open ends the
        reply with its error (the provider is asked to stop)."""
        try:
            conversation, provider = await self._conversation(post)
        except RedisError:
            raise
        except Exception as exc:
            code = str(exc.status) if isinstance(exc, ProviderHTTPError) else "open_failed"
            self._metrics.provider_error("unknown", code)
            ref = new_ref()
            log.warning(
                "could not open a conversation for %s (ref %s): %s",
                post.thread,
                ref,
                _describe(exc),
            )
            text = notice("", self._say(post, "start_failed", ref=ref))
            await renderer.finish(text)
            return Outcome(ReplyStatus.FAILED, text)
        logs.note_conversation(conversation.id)
        renderer.start()
        return await self._stream(post, conversation, provider, renderer, stop, takeover, opening)

    async def _stream(
        self,
        post: UserPost,
        conversation: Conversation,
        provider: Provider,
        renderer: Renderer,
        stop: asyncio.Event,
        takeover: bool,
        opening: asyncio.Task[None] | None = None,
    ) -> Outcome:
        """Feed the provider's events to the renderer until done, failed or stopped (or the
        surface failed to open: its error is raised)."""
        lead = ""
        if takeover and not provider.replays:
            lead = f"> {self._say(post, 'interrupted')}\n\n"
            renderer.append(lead)
        watchdog = Watchdog(self._limits)
        use_budget(WaitBudget(self._limits.wait_budget))
        events = keep_apart(provider.reply(conversation, post))
        renderer.stats.sent_at = time.monotonic()
        consume = asyncio.create_task(
            self._consume(conversation, events, renderer, lead, watchdog, post)
        )
        stopper = asyncio.create_task(stop.wait())
        watch = asyncio.create_task(watchdog.expired())
        failed = asyncio.create_task(_failure(opening))
        try:
            done, _ = await asyncio.wait(
                {consume, stopper, watch, failed}, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in (stopper, watch, failed, consume):
                task.cancel()
            await asyncio.gather(stopper, watch, failed, consume, return_exceptions=True)
        if failed in done:
            await self._cancel(provider, conversation)
            raise failed.result()
        if consume in done:
            outcome = consume.result()
        elif stopper in done:
            await self._cancel(provider, conversation)
            outcome = Outcome(
                ReplyStatus.STOPPED, notice(renderer.text, self._say(post, "stopped"))
            )
        else:
            reason = watch.result()
            log.warning("cutting the reply in %s: %s limit reached", post.thread, reason)
            self._metrics.inc("replies_cut_total", reason=reason)
            await self._cancel(provider, conversation)
            outcome = Outcome(
                ReplyStatus.LIMITED, notice(renderer.text, self._say(post, f"cut_{reason}"))
            )
        await renderer.finish(outcome.text, rate=outcome.status in RATED)
        return outcome

    async def _cancel(self, provider: Provider, conversation: Conversation) -> None:
        """Ask the provider to stop generating; a failure there never holds the thread."""
        try:
            await asyncio.wait_for(provider.cancel(conversation), timeout=CANCEL_TIMEOUT)
        except Exception as exc:
            log.warning("could not cancel at the provider in %s: %r", conversation.thread, exc)

    async def _consume(
        self,
        conversation: Conversation,
        events: AsyncGenerator[ReplyEvent, None],
        renderer: Renderer,
        lead: str,
        watchdog: Watchdog,
        post: UserPost,
    ) -> Outcome:
        thoughts = Thoughts(self.show_reasoning, lambda key: self._say(post, key))
        try:
            async for event in events:
                if isinstance(event, TextDelta):
                    if renderer.stats.first_token_at is None:
                        self._first_token(conversation, renderer.stats)
                    thoughts.answer(renderer)
                    renderer.append(event.text[: watchdog.room()])
                    watchdog.text(len(event.text))
                elif isinstance(event, ReasoningDelta):
                    thoughts.reasoning(event.text, renderer)
                    watchdog.text(0)
                elif isinstance(event, ConversationStarted):
                    note = await self._started(conversation, event.conversation_id, post)
                    lead += note
                    renderer.append(note)
                elif isinstance(event, ReplyDone):
                    renderer.stats.done_at = time.monotonic()
                    shown = lead + thoughts.block()
                    final = shown + event.text if event.text is not None else renderer.text
                    if not final[len(shown) :].strip():
                        return Outcome(
                            ReplyStatus.DONE, notice(shown, self._say(post, "empty_answer"))
                        )
                    if len(final) > self._limits.max_chars:
                        clipped = final[: self._limits.max_chars]
                        return Outcome(
                            ReplyStatus.LIMITED, notice(clipped, self._say(post, "cut_size"))
                        )
                    return Outcome(ReplyStatus.DONE, final)
                elif isinstance(event, ReplyFailed):
                    return Outcome(
                        ReplyStatus.FAILED, notice(renderer.text, self._failed(conversation, event))
                    )
            return Outcome(
                ReplyStatus.FAILED, notice(renderer.text, self._say(post, "ended_early"))
            )
        finally:
            await events.aclose()

    def _first_token(self, conversation: Conversation, stats: RenderStats) -> None:
        """Note the first token's arrival, and the provider's time to it, by provider."""
        stats.first_token_at = time.monotonic()
        if stats.sent_at is not None:
            waited = stats.first_token_at - stats.sent_at
            self._metrics.provider_first_token.labels(provider=conversation.provider).observe(
                waited
            )

    def _failed(self, conversation: Conversation, event: ReplyFailed) -> str:
        """The user's notice for a failed reply; its details go to the log under the same ref."""
        self._metrics.provider_error(conversation.provider, event.code or "failed")
        ref = new_ref()
        log.warning(
            "reply in %s failed (ref %s): code=%s %s",
            conversation.thread,
            ref,
            event.code,
            event.detail or event.message,
        )
        return f"⚠️ {event.message} (ref {ref})"

    def _say(self, post: UserPost, key: str, **values: object) -> str:
        """A bot text in the post author's language (their locale, else BRIDGE_LOCALE)."""
        return i18n.text(key, post.extra.get("locale"), self.locale, **values)

    async def _started(self, conversation: Conversation, new_id: str, post: UserPost) -> str:
        """Store the id the provider just named; say so if it replaced an expired one."""
        expected = conversation.id or ""
        if not await self._store.set_conversation_id(conversation.thread, new_id, expected):
            log.info(
                "%s was reset while its reply streamed; %s is not kept", conversation.thread, new_id
            )
        logs.note_conversation(new_id)
        if conversation.id and conversation.id != new_id:
            return f"> {self._say(post, 'session_expired')}\n\n"
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


async def _settle(opening: asyncio.Task[None] | None) -> None:
    """Let a surface's `start` end before the surface is closed (else typing it started after
    the close would go on): cancelled if it still runs; its error was raised elsewhere."""
    if opening is None:
        return
    opening.cancel()
    await asyncio.wait({opening})
    if not opening.cancelled():
        opening.exception()


async def _failure(opening: asyncio.Task[None] | None) -> BaseException:
    """The error the surface's `start` ended with; never returns while it succeeds."""
    if opening is not None:
        await asyncio.wait({opening})
        error = None if opening.cancelled() else opening.exception()
        if error is not None:
            return error
    await asyncio.get_running_loop().create_future()
    raise AssertionError("unreachable")


def _steering(settings: dict[str, str]) -> dict[str, str]:
    return {k[len("steering.") :]: v for k, v in settings.items() if k.startswith("steering.")}


def _describe(exc: Exception) -> str:
    if isinstance(exc, ProviderHTTPError):
        detail = error_text(exc.body)
        return f"the provider answered {exc.status}" + (f" ({detail})" if detail else "")
    return str(exc) or type(exc).__name__


def _observe(
    metrics: Metrics, post: UserPost, stats: RenderStats, started: tuple[float, float]
) -> None:
    """Record the reply's latencies, by platform, from the moments the renderer and the turn
    noted."""
    mono, wall = started
    platform = post.thread.platform
    metrics.reply_duration.labels(platform=platform).observe(time.monotonic() - mono)
    if stats.first_text_at is not None:
        queued = max(0.0, wall - post.ts) if post.ts > 0 else 0.0
        first_text = queued + stats.first_text_at - mono
        metrics.post_to_first_text.labels(platform=platform).observe(first_text)
        if stats.first_token_at is not None:
            shown = max(0.0, stats.first_text_at - stats.first_token_at)
            metrics.first_token_to_first_text.labels(platform=platform).observe(shown)
    if stats.done_at is not None and stats.final_at is not None:
        final_lag = max(0.0, stats.final_at - stats.done_at)
        metrics.final_lag.labels(platform=platform).observe(final_lag)
