"""One reply in Teams: the first text is the message itself, then it grows in place.

Channels and group chats: the first text is posted (in a channel into the thread of the
mention, `19:…@thread.tacv2;messageid=<root>`), then edited by PUT of the whole activity, with
the stop card while it runs. Personal chats use Teams' streaming protocol (…/bots/streaming-ux):
a `typing` activity with a `streaminfo` entity opens the stream with the first text (its answer
is the stream id, which is also the message's id), each update carries the whole text so far
with the next `streamSequence`, at most about one a second, and a `message` with `streamType:
final` ends it. Every error of the protocol falls back to post + edit: a stream that cannot
start is posted instead (and the chat stops trying streams when Teams says they are not
allowed there); one that ended under us (completed, the two-minute limit) is finished by PUT;
a stream nears its two-minute limit (`STREAM_SECONDS`) is ended with the text so far and
continues by edit. A message restored after a takeover may be a stream its old owner left
open: its next write ends it (a final needs no sequence) before editing.

The reply's last message carries Teams' feedback loop on its final write (`feedback`).

Every write counts on the conversation's windows and the app's (`adapters.teams.limits`); a
stream update also on its stream's scope. The write's requests carry its priority to the
session's arrival window (`adapters.teams.pace`). Nobody is pinged (`format`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from adapters.teams import limits
from adapters.teams.connector import Connector, ConnectorError
from adapters.teams.controls import STOP_CARD
from adapters.teams.errors import STREAM_NOT_ALLOWED, classify, too_large
from adapters.teams.feedback import FEEDBACK_LOOP
from adapters.teams.format import EDIT_INTERVAL, PAGE_LIMIT, STREAM_INTERVAL, defuse_mentions
from bridge.contracts import (
    Allowance,
    Changes,
    Permits,
    Priority,
    Route,
    UserPost,
    Written,
    write_grant,
    writing,
)

log = logging.getLogger(__name__)

POST, EDIT = "post", "edit"
START, UPDATE, FINAL = "stream-start", "stream-update", "stream-final"
STREAM_SECONDS = 100.0
"""A stream is ended by the bridge this long after it opened, before Teams' two minutes."""


class StreamAbandoned(Exception):
    """An interim stream update found the stream over: the message continues by edit."""


class TeamsSurface:
    limit = PAGE_LIMIT

    def __init__(
        self,
        connector: Connector,
        post: UserPost,
        budget: Permits,
        app: Allowance,
        messages: list[str],
        no_streams: set[str],
        *,
        streaming: bool,
    ) -> None:
        extra = post.extra
        self._connector = connector
        self._service = extra["service_url"]
        self._conversation = extra["reply_to"]
        self._kind = extra.get("conversation_type", "")
        self._tenant = post.thread.tenant
        self._scopes = (*limits.conversation(self._tenant, post.thread.channel), app)
        self._interim = (*limits.interim(self._tenant, post.thread.channel), *self._scopes)
        self._budget = budget
        self._no_streams = no_streams
        personal = self._kind == "personal"
        self._stream = streaming and personal and extra["reply_to"] not in no_streams
        self.min_interval = STREAM_INTERVAL if self._stream else EDIT_INTERVAL
        self.messages = messages
        self.streaming: set[str] = set()
        self._maybe_open: set[str] = set(messages) if personal else set()
        self._controls: set[str] = set()
        self._sent: dict[str, str] = {}
        self._sequence = 0
        self._opened = 0.0
        self._changes = Changes()
        """What the write under way has posted, opened and ended."""
        self._rated: int | None = None
        """The message whose final write carries the feedback loop (`rate`)."""
        self._rated_shown: set[str] = set()

    def needs_final(self, index: int) -> bool:
        if index >= len(self.messages):
            return False
        message = self.messages[index]
        unrated = index == self._rated and message not in self._rated_shown
        shown = message in self.streaming or message in self._controls
        return shown or message in self._maybe_open or unrated

    def rate(self, index: int) -> None:
        """Message `index` is the reply's last: its final write carries the feedback loop."""
        self._rated = index

    def routes(self, index: int, text: str, *, final: bool) -> tuple[Route, ...]:
        if index >= len(self.messages):
            if self._stream and not final and not self.streaming:
                return (Route(START, self._scopes, appends=True),)
            return (Route(POST, self._scopes),)
        message = self.messages[index]
        if message in self._maybe_open:
            return (Route(FINAL, self._scopes),)
        if message not in self.streaming:
            return (Route(EDIT, self._scopes if final else self._interim),)
        sent = self._sent.get(message, "")
        aged = time.monotonic() - self._opened > STREAM_SECONDS
        if final or aged or not defuse_mentions(text).startswith(sent):
            return (Route(FINAL, self._scopes),)
        scopes = (limits.stream(self._tenant, message), *self._interim)
        return (Route(UPDATE, scopes, appends=True),)

    async def start(self) -> None:
        """Nothing before the first text: it goes out as the message (or stream) itself."""

    async def close(self) -> None:
        """Nothing to clear."""

    async def write(self, index: int, text: str, *, final: bool, route: Route) -> Written:
        """A refusal leaves as `WriteRejected`, carrying what the write changed before it (a
        stream that ended under us)."""
        changes = self._changes = Changes()
        try:
            await self._write(index, defuse_mentions(text), final=final, route=route)
        except BaseException as exc:
            changes.left_on(exc)
            rejected = classify(exc) if isinstance(exc, Exception) else None
            if rejected is None:
                raise
            raise changes.left_on(rejected) from exc
        return changes.written()

    async def retract(self, message_id: str) -> None:
        """Delete a message of this reply (a bot may delete its own), on the conversation's
        windows and the app's like a first text: what is left of a lost lease goes first."""
        async with writing(Priority.FIRST) as grant:
            await self._budget.acquire(self._scopes, priority=Priority.FIRST, grant=grant)
            await self._connector.delete(self._service, self._conversation, message_id)

    async def _write(self, index: int, text: str, *, final: bool, route: Route) -> None:
        if route.name == START:
            await self._start_stream(text)
        elif route.name == UPDATE:
            await self._update_stream(self.messages[index], text)
        elif route.name == FINAL:
            await self._end_stream(self.messages[index], text, final=final)
        elif route.name == POST:
            await self._post(text, final=final)
        else:
            await self._edit(self.messages[index], text, final=final)

    def _activity(self, text: str, *, final: bool, rated: bool = False) -> dict[str, Any]:
        """A message; in a channel or group chat the stop card rides along until the end, and
        the rated message's final write carries the feedback loop."""
        activity: dict[str, Any] = {"type": "message", "text": text, "textFormat": "markdown"}
        card = not final and self._kind != "personal"
        activity["attachments"] = [STOP_CARD] if card else []
        if rated:
            activity["channelData"] = FEEDBACK_LOOP
        return activity

    def _rates(self, index: int, *, final: bool) -> bool:
        return final and index == self._rated

    def _shown(self, message: str, text: str, *, final: bool, rated: bool = False) -> None:
        self._sent[message] = text
        if rated:
            self._rated_shown.add(message)
        if final or self._kind == "personal":
            self._controls.discard(message)
        else:
            self._controls.add(message)

    async def _throttled(self, seconds: float) -> None:
        for scope in self._scopes[:-1]:
            await self._budget.pause(scope, seconds)

    async def _post(self, text: str, *, final: bool) -> None:
        rated = self._rates(len(self.messages), final=final)
        activity = self._activity(text, final=final, rated=rated)
        answer = await self._connector.send(
            self._service, self._conversation, activity, self._throttled
        )
        message = str(answer["id"])
        self.messages.append(message)
        self._changes.posted(message)
        self._shown(message, text, final=final, rated=rated)

    async def _edit(self, message: str, text: str, *, final: bool) -> None:
        rated = self._rates(self.messages.index(message), final=final)
        activity = self._activity(text, final=final, rated=rated)
        await self._connector.update(
            self._service, self._conversation, message, activity, self._throttled
        )
        self._shown(message, text, final=final, rated=rated)

    def _stream_activity(self, kind: str, text: str, info: dict[str, Any]) -> dict[str, Any]:
        entity = {"type": "streaminfo", **info}
        return {"type": kind, "text": text, "textFormat": "markdown", "entities": [entity]}

    async def _start_stream(self, text: str) -> None:
        info = {"streamType": "streaming", "streamSequence": 1}
        activity = self._stream_activity("typing", text, info)
        try:
            answer = await self._connector.send(
                self._service, self._conversation, activity, self._throttled
            )
        except ConnectorError as exc:
            if too_large(exc) or exc.status not in (400, 403):
                raise
            self._give_up_streams(exc)
            await self._budget.acquire(self._scopes, priority=Priority.FIRST, grant=write_grant())
            await self._post(text, final=False)
            return
        stream = str(answer["id"])
        self.messages.append(stream)
        self.streaming.add(stream)
        self._changes.posted(stream, stream=True)
        self._sent[stream] = text
        self._sequence, self._opened = 1, time.monotonic()

    async def _update_stream(self, stream: str, text: str) -> None:
        self._sequence += 1
        info = {"streamId": stream, "streamType": "streaming", "streamSequence": self._sequence}
        activity = self._stream_activity("typing", text, info)
        try:
            await self._connector.send(self._service, self._conversation, activity, self._throttled)
        except ConnectorError as exc:
            if exc.status == 202:
                return  # dropped as out of order; the next update carries the whole text
            if too_large(exc) or exc.status not in (400, 403):
                raise
            log.info("Teams stream %s ended under us (%s); continuing by edit", stream, exc.code)
            self._ended(stream)
            raise StreamAbandoned(exc.code) from exc
        self._sent[stream] = text

    async def _end_stream(self, stream: str, text: str, *, final: bool) -> None:
        """Send the stream's final message; a stream already over is finished by PUT."""
        self._maybe_open.discard(stream)
        info = {"streamId": stream, "streamType": "final"}
        activity = {**self._stream_activity("message", text, info), "attachments": []}
        rated = self._rates(self.messages.index(stream), final=final)
        if rated:
            activity["channelData"] = FEEDBACK_LOOP
        try:
            await self._connector.send(self._service, self._conversation, activity, self._throttled)
        except ConnectorError as exc:
            if too_large(exc) or exc.status not in (400, 403, 404):
                raise
            self._ended(stream)
            log.info("Teams stream %s could not be ended (%s); editing it", stream, exc.code)
            await self._budget.acquire(self._scopes, priority=Priority.FINAL, grant=write_grant())
            await self._edit(stream, text, final=final)
            return
        self._ended(stream)
        self._shown(stream, text, final=True, rated=rated)
        if not final:
            self._sent[stream] = text

    def _ended(self, stream: str) -> None:
        """The stream is over: the message is an ordinary one from now on."""
        if stream in self.streaming:
            self.streaming.discard(stream)
            self._changes.closed(stream)

    def _give_up_streams(self, exc: ConnectorError) -> None:
        """Streaming refused: this reply posts instead, and a chat where Teams does not allow
        streams (`ContentStreamNotAllowed` at the start) stops trying them."""
        self._stream = False
        self.min_interval = EDIT_INTERVAL
        if exc.code == STREAM_NOT_ALLOWED:
            self._no_streams.add(self._conversation)
