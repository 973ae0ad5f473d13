"""One reply in a Slack thread: the first text is the message itself, then it grows.

Stream mode (default) opens a native stream (`chat.startStream`) with the first text and grows
it with `chat.appendStream`, finishing with `chat.stopStream`: the last piece goes with the stop
when its Tier 2 budget allows it at once, else by `chat.appendStream` at once (the whole answer
is visible) and the stop follows when its budget allows; when a stream cannot be opened
now (its Tier 2 budget is spent) the reply is posted instead and grows by `chat.update`. Every
error of the streaming methods (expiry's `message_not_in_streaming_state`, `missing_recipient_*`,
`unknown_method`, `stopped_by_user`, …) finishes the same message on the edit path: the stream
is stopped where it still runs, then `chat.update` writes the whole page. No placeholder: the
first text goes out on the cheapest path, never through the shared `chat.update` budget.
A message this reply posted but could not record (its lease was lost meanwhile) is deleted by
`chat.delete`, a stream stopped first: the replica that took over answers in its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.controls import with_stop_button
from adapters.slack.errors import classify
from adapters.slack.feedback import feedback_block
from adapters.slack.format import EDITS_PER_MESSAGE_INTERVAL, PAGE_LIMIT, defuse_mentions
from adapters.slack.limits import APPEND, DELETE, POST, START, STOP, UPDATE, SlackLimits
from adapters.slack.thread_status import ThreadStatus
from bridge.contracts import Allowance, Changes, Meter, Permits, Priority, Route, UserPost, Written
from bridge.contracts.toolkit.split import close_for_display
from bridge.contracts.toolkit.waits import capped_wait

log = logging.getLogger(__name__)

MAX_RATE_LIMIT_RETRIES = 5
MARKDOWN_LIMIT = 12_000
"""`markdown_text` holds at most 12,000 characters per call (chat.*Stream reference)."""
NOT_STREAMING = frozenset({"message_not_in_streaming_state", "stopped_by_user"})
UNSUPPORTED = frozenset({"unknown_method", "not_allowed_token_type", "missing_scope"})
"""Errors that say streaming is unavailable in the whole workspace, not just for this reply."""

ReplyMode = Literal["stream", "edit"]
NO_UNFURLS = {"unfurl_links": False, "unfurl_media": False}
"""chat.postMessage asks Slack to preview none of the reply's links: Slack's crawler would
fetch a model-chosen URL unclicked. chat.update and chat.startStream document no such
argument (their method references), so posting is where it is sent."""


class StreamAbandoned(Exception):
    """An interim write found its stream gone: the message continues on the edit path."""


class SlackSurface:
    """Posts, streams and edits one reply's messages in one Slack thread."""

    limit = PAGE_LIMIT
    min_interval = EDITS_PER_MESSAGE_INTERVAL

    def __init__(
        self,
        client: AsyncWebClient,
        post: UserPost,
        limits: SlackLimits,
        budget: Permits,
        mode: ReplyMode,
        messages: list[str],
        metrics: Meter,
        no_streams: set[str],
        stop: Callable[[], Awaitable[None]],
        *,
        previews: bool = False,
        status: ThreadStatus | None = None,
    ) -> None:
        """`no_streams`: the adapter's workspaces where streaming answered one of
        `UNSUPPORTED`; replies there stop trying it. `stop` stops this reply (a person
        pressed Slack's own stop on its stream). `previews`: BRIDGE_LINK_PREVIEWS=on.
        `status`: an AI-app thread's status line and title (`adapters.slack.thread_status`)."""
        self._client = client
        self._status = status
        self._unfurls: dict[str, Any] = {} if previews else NO_UNFURLS
        self._team = post.thread.tenant
        self._channel = post.thread.channel
        self._thread_ts = post.thread.thread
        self._recipient = post.author
        self._recipient_team = post.extra.get("user_team") or self._team
        self._limits = limits
        self._budget = budget
        self._metrics = metrics
        self._no_streams = no_streams
        self._stop_reply = stop
        self._controls: set[str] = set()
        """Messages showing the stop button (their final write takes it away)."""
        self._reply = post.message_id
        self._rated: int | None = None
        """The message whose final write carries the feedback buttons (`rate`)."""
        self._rated_shown: set[str] = set()
        self._stream = mode == "stream"
        self.messages = messages
        self.streaming: set[str] = set()
        self._sent: dict[str, str] = {}
        self._defused = ("", "")
        """What each message is known to show (exactly, for a stream's appends)."""
        self._changes = Changes()
        """What the write under way has posted, opened and ended."""

    def _allowance(self, method: str) -> Allowance:
        return self._limits.method(self._team, method)

    def _posting(self) -> tuple[Allowance, ...]:
        return self._limits.posting(self._team, self._channel)

    def needs_final(self, index: int) -> bool:
        if index >= len(self.messages):
            return False
        ts = self.messages[index]
        unrated = index == self._rated and ts not in self._rated_shown
        return ts in self.streaming or ts in self._controls or unrated

    def rate(self, index: int) -> None:
        """Message `index` is the reply's last: its final write carries the feedback buttons."""
        self._rated = index

    def _rates(self, index: int, *, final: bool) -> bool:
        return final and index == self._rated

    def _safe(self, text: str) -> str:
        """`text` with mentions defused; the renderer asks `routes` then `write` with the same
        text, so the last answer is kept rather than parsing the Markdown twice."""
        if self._defused[0] != text:
            self._defused = (text, defuse_mentions(text))
        return self._defused[1]

    def routes(self, index: int, text: str, *, final: bool) -> tuple[Route, ...]:
        text = self._safe(text)
        if index >= len(self.messages):
            post = Route(POST, self._posting())
            if self._stream and not final and self._team not in self._no_streams:
                return (Route(START, (self._allowance(START),), appends=True), post)
            return (post,)
        ts = self.messages[index]
        if ts not in self.streaming:
            return (Route(UPDATE, (self._allowance(UPDATE),)),)
        sent = self._sent.get(ts)
        if sent is not None and text.startswith(sent) and len(text) - len(sent) <= MARKDOWN_LIMIT:
            append = Route(APPEND, (self._allowance(APPEND),), appends=True)
            if not final:
                return (append,)
            stop = Route(STOP, (self._allowance(STOP),))
            return (stop, append) if len(text) > len(sent) else (stop,)
        return (Route("rewrite", (self._allowance(STOP), self._allowance(UPDATE))),)

    async def start(self) -> None:
        """No placeholder: the first text goes out as the message itself. An AI-app thread
        shows its status meanwhile, sent without waiting for it."""
        if self._status is not None:
            self._status.start()

    async def write(self, index: int, text: str, *, final: bool, route: Route) -> Written:
        """Nobody is pinged by the model's text; a failure leaves as the core's `WriteRejected`
        (classified by `adapters.slack.errors`), so the core chooses the outcome, carrying
        what the write changed before it (a stream ended on the way to an edit)."""
        if self._status is not None:
            self._status.before_text()
        changes = self._changes = Changes()
        try:
            await self._write(index, self._safe(text), final=final, route=route)
        except BaseException as exc:
            changes.left_on(exc)
            rejected = classify(exc) if isinstance(exc, Exception) else None
            if rejected is None:
                raise
            raise changes.left_on(rejected) from exc
        if self._status is not None:
            self._status.after_text()
        return changes.written()

    async def _write(self, index: int, text: str, *, final: bool, route: Route) -> None:
        if route.name == START:
            await self._start_stream(text)
        elif route.name == POST:
            await self._post(text, final=final, rated=self._rates(index, final=final))
        elif route.name == APPEND:
            await self._append(self.messages[index], text, final=final)
        elif route.name == STOP:
            await self._stop(self.messages[index], text, final=final)
        elif route.name == "rewrite":
            await self._rewrite(self.messages[index], text, final=final)
        else:
            await self._update(self.messages[index], text, final=final)

    async def close(self) -> None:
        """Clear an AI-app thread's status no text followed; nothing else is left behind."""
        if self._status is not None:
            await self._status.close()

    async def retract(self, message_id: str) -> None:
        """Delete a message of this reply (`chat.delete`: a bot token deletes its own); a
        stream still open is stopped first, so nothing keeps writing to it."""
        if message_id in self.streaming:
            await self._end_stream(message_id, quiet=False)
        await self._call(DELETE, channel=self._channel, ts=message_id)

    def _content(
        self, text: str, *, final: bool, edit: bool = False, rated: bool = False
    ) -> dict[str, Any]:
        """A final post is plain `markdown_text` (with the feedback buttons under the reply's
        last message: blocks then); an interim page carries the stop button.

        Every edit sends blocks plus a `text` fallback: chat.update keeps the previous blocks
        (a stale page and its button) when an edit names neither, and `markdown_text` may not
        be combined with them. A message may have had blocks on another replica too."""
        if not final:
            return {**with_stop_button(text), "text": text}
        if rated:
            blocks = [{"type": "markdown", "text": text}, feedback_block(self._reply)]
            return {"blocks": blocks, "text": text}
        if edit:
            return {"blocks": [{"type": "markdown", "text": text}], "text": text}
        return {"markdown_text": text}

    def _shown(self, ts: str, text: str, *, final: bool, rated: bool = False) -> None:
        self._sent[ts] = text
        if rated:
            self._rated_shown.add(ts)
        if final:
            self._controls.discard(ts)
        else:
            self._controls.add(ts)

    async def _post(self, text: str, *, final: bool, rated: bool = False) -> None:
        content = self._content(text, final=final, rated=rated)
        response = await self._call(
            POST, channel=self._channel, thread_ts=self._thread_ts, **content, **self._unfurls
        )
        ts = str(response["ts"])
        self.messages.append(ts)
        self._changes.posted(ts)
        self._shown(ts, text, final=final, rated=rated)

    async def _start_stream(self, text: str) -> None:
        try:
            response = await self._call(
                START,
                channel=self._channel,
                thread_ts=self._thread_ts,
                recipient_user_id=self._recipient,
                recipient_team_id=self._recipient_team,
                markdown_text=text,
            )
        except SlackApiError as exc:
            self._give_up_streams(exc)
            await self._budget.acquire(self._posting(), priority=Priority.FIRST)
            await self._post(close_for_display(text), final=False)
            return
        ts = str(response["ts"])
        self.messages.append(ts)
        self.streaming.add(ts)
        self._changes.posted(ts, stream=True)
        self._sent[ts] = text

    async def _append(self, ts: str, text: str, *, final: bool) -> None:
        sent = self._sent[ts]
        try:
            await self._call(APPEND, channel=self._channel, ts=ts, markdown_text=text[len(sent) :])
        except SlackApiError as exc:
            await self._abandon(ts, text, exc, final=final)
            return
        self._sent[ts] = text

    async def _stop(self, ts: str, text: str, *, final: bool) -> None:
        delta = text[len(self._sent[ts]) :]
        extra: dict[str, Any] = {"markdown_text": delta} if delta else {}
        rated = self._rates(self.messages.index(ts), final=final)
        if rated:
            extra["blocks"] = [feedback_block(self._reply)]
        try:
            await self._call(STOP, channel=self._channel, ts=ts, **extra)
        except SlackApiError as exc:
            await self._abandon(ts, text, exc, final=final)
            return
        self._ended(ts)
        self._shown(ts, text, final=True, rated=rated)

    async def _abandon(self, ts: str, text: str, exc: SlackApiError, *, final: bool) -> None:
        """A stream call failed: stop what may still run, then finish the message by editing.

        An interim write only hands the message over to the edit path (the next flush writes
        the whole page); a final write finishes it now, on the `chat.update` budget.
        """
        self._metrics.inc("slack_stream_fallbacks_total")
        log.info("Slack stream %s failed (%s); continuing by chat.update", ts, _code(exc))
        if _code(exc) == "stopped_by_user":
            await self._stop_reply()
        self._give_up_streams(exc)
        await self._end_stream(ts, quiet=_code(exc) in NOT_STREAMING)
        if not final:
            raise StreamAbandoned(_code(exc)) from exc
        await self._budget.acquire((self._allowance(UPDATE),), priority=Priority.FINAL)
        await self._update(ts, text, final=True)

    async def _rewrite(self, ts: str, text: str, *, final: bool) -> None:
        """A stream whose text is not an extension of what it shows: stop it, then edit."""
        await self._end_stream(ts, quiet=False)
        await self._update(ts, text, final=final)

    async def _end_stream(self, ts: str, *, quiet: bool) -> None:
        """Stop the stream at `ts` unless it is known to be over; it leaves the streaming set."""
        self._ended(ts)
        self._sent.pop(ts, None)
        if quiet:
            return
        try:
            await self._call(STOP, channel=self._channel, ts=ts)
        except SlackApiError as exc:
            log.debug("stopping stream %s: %s", ts, _code(exc))

    def _ended(self, ts: str) -> None:
        """The stream at `ts` is over: the message is an ordinary one from now on."""
        if ts in self.streaming:
            self.streaming.discard(ts)
            self._changes.closed(ts)

    async def _update(self, ts: str, text: str, *, final: bool) -> None:
        rated = self._rates(self.messages.index(ts), final=final)
        content = self._content(text, final=final, edit=True, rated=rated)
        try:
            await self._call(UPDATE, channel=self._channel, ts=ts, **content)
        except SlackApiError as exc:
            if _code(exc) != "streaming_state_conflict":
                raise
            await self._end_stream(ts, quiet=False)
            await self._call(UPDATE, channel=self._channel, ts=ts, **content)
        self._shown(ts, text, final=final, rated=rated)

    def _give_up_streams(self, exc: SlackApiError) -> None:
        """After an error that will repeat, this reply (or workspace) stops opening streams."""
        code = _code(exc)
        if code not in NOT_STREAMING:
            self._stream = False
        if code in UNSUPPORTED:
            self._no_streams.add(self._team)

    async def _call(self, method: str, **params: Any) -> Any:
        """Call the Web API, honouring 429 Retry-After a few times before giving up.

        A 429 pauses the scope it names (the method in this workspace, or posting in this
        channel) for every reply and replica, and is counted per method. A stream start is
        not retried: the first text goes by post at once instead.
        """
        retries = 0 if method == START else MAX_RATE_LIMIT_RETRIES
        for attempt in range(retries + 1):
            try:
                return await self._client.api_call(method, json=params)
            except SlackApiError as exc:
                if exc.response.status_code != 429:
                    raise
                wait = capped_wait(exc.response.headers.get("Retry-After"))
                await self._rate_limited(method, wait)
                if attempt == retries:
                    raise
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def _rate_limited(self, method: str, wait: float) -> None:
        log.warning("Slack rate-limited %s for %.1fs", method, wait)
        if method == DELETE:
            return
        scope = self._limits.channel_posts(self._team, self._channel)
        await self._budget.pause(scope if method == POST else self._allowance(method), wait)


def _code(exc: SlackApiError) -> str:
    try:
        return str(exc.response.get("error") or exc.response.status_code)
    except Exception:
        return "unknown"
