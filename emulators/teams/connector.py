"""The Bot Connector REST API the bot writes to (`{serviceUrl}v3/conversations/…`).

Routes (https://learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-api-reference):
`POST /v3/conversations/{conversationId}/activities` (send; 201 `{id}`), `PUT
…/activities/{activityId}` (update: the whole activity replaces the old one; 200 `{id}`),
`DELETE …/activities/{activityId}` (200). Errors are `ErrorResponse` bodies `{"error": {"code",
"message"}}`; a missing or unknown bearer token is 401.
Message size (…/bots/how-to/format/format-your-bot-messages): "approximately 100 KB", over it
`413 RequestEntityTooLarge` with `MessageSizeTooBig`; the emulator measures the text in UTF-16
plus the attachments' JSON.
Streaming in personal chats (…/bots/streaming-ux, "Stream message through REST API" and
"Response codes"): a `typing` activity with a `streaminfo` entity starts a stream (201, the id
is the stream id and the message's id; `streamSequence` must be 1 and text is required), later
ones name `streamId` with increasing `streamSequence` (202; an out-of-order one is dropped:
202 `ContentStreamSequenceOrderPreConditionFailed`), each carrying the whole text so far; the
final is a `message` with `streamType: final` and no sequence. 403 `ContentStreamNotAllowed`:
outside personal chats, on a completed stream, after the two-minute limit, and for a message
that is too large. What a stream that ran out of time shows is not documented: the emulator
keeps its last text as an ordinary message that PUT can edit, and refuses PUT on a stream still
open (403 `ContentStreamNotAllowed`).
Feedback buttons (…/bots/how-to/bot-messages-ai-generated-content; Teams SDK `FeedbackLoop`):
`channelData.feedbackLoop: {"type": "default"|"custom"}` or the older `feedbackLoopEnabled:
true`; an activity with both is refused (400), as the SDK documents Teams doing.
"""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from emulators.base import Call, Fault, fault_response, json_response
from emulators.teams.state import Message, TeamsState, split_conversation

STREAM_SECONDS = 120.0
MAX_MESSAGE_BYTES = 100 * 1024
COMPLETED = "Content stream is not allowed on an already completed streamed message"


def error(status: int, code: str, message: str) -> web.Response:
    return json_response({"error": {"code": code, "message": message}}, status=status)


def not_allowed(message: str) -> web.Response:
    return error(403, "ContentStreamNotAllowed", message)


def stream_info(activity: dict[str, Any]) -> dict[str, Any] | None:
    for entity in activity.get("entities") or []:
        if isinstance(entity, dict) and str(entity.get("type", "")).lower() == "streaminfo":
            return entity
    return None


def feedback_of(activity: dict[str, Any]) -> str | None:
    """The feedback loop type an activity asks for ("" none), or None if it sets both forms."""
    data = activity.get("channelData") or {}
    loop, enabled = data.get("feedbackLoop"), data.get("feedbackLoopEnabled")
    if loop is not None and enabled is not None:
        return None
    if isinstance(loop, dict):
        return str(loop.get("type") or "")
    return "default" if enabled is True else ""


def size_of(activity: dict[str, Any]) -> int:
    text = str(activity.get("text") or "")
    attachments = json.dumps(activity.get("attachments") or [])
    return len(text.encode("utf-16-le")) + len(attachments.encode())


class Connector:
    """Applies one REST call to the state; the emulator checks auth, faults and limits first."""

    def __init__(self, state: TeamsState, bot_id: str) -> None:
        self.state = state
        self.bot_id = bot_id
        self.max_message_bytes = MAX_MESSAGE_BYTES
        self.stream_seconds = STREAM_SECONDS
        self.typing = 0
        self.mentions_sent = 0
        self.stream_errors: list[str] = []

    def fault(self, fault: Fault) -> web.Response:
        if fault.kind == "too_large":
            return error(413, "MessageSizeTooBig", "Message size too large")
        return fault_response(fault)

    def check_create(self, conversation_id: str, body: Any) -> web.Response | None:
        """The refusal of a send that fails before any limit is counted, or None."""
        base, _ = split_conversation(conversation_id)
        if not isinstance(body, dict) or body.get("type") not in ("message", "typing"):
            return error(400, "BadRequest", "Activity type must be message or typing")
        if base not in self.state.conversations:
            return error(404, "ConversationNotFound", "Conversation not found.")
        info = stream_info(body)
        if info is not None and self.state.conversations[base].kind != "personal":
            return not_allowed("Content stream is not allowed")
        if size_of(body) > self.max_message_bytes:
            if info is not None:
                return not_allowed("Message size too large")
            return error(413, "MessageSizeTooBig", "Message size too large")
        if feedback_of(body) is None:
            return error(400, "BadRequest", "Set feedbackLoop or feedbackLoopEnabled, not both")
        if any(e.get("type") == "mention" for e in body.get("entities") or []):
            self.mentions_sent += 1
        return None

    def stream_check(self, body: dict[str, Any]) -> web.Response | None:
        """The refusal of a stream update or final by the protocol's rules, or None."""
        info = stream_info(body) or {}
        stream_id = info.get("streamId")
        sequence = info.get("streamSequence")
        final = body.get("type") == "message"
        if not stream_id:
            if final or sequence != 1 or not body.get("text"):
                return self._bad("Start streaming activities should include text and sequence 1")
            return None
        message = self.state.messages.get(str(stream_id))
        if message is None or not (message.streaming or message.stream_done):
            return self._bad("Unknown streamId")
        if message.stream_done:
            return not_allowed(
                "Content stream is not allowed on an already completed streamed message"
            )
        if time.monotonic() - message.stream_started > self.stream_seconds:
            message.streaming, message.stream_done = False, True
            return not_allowed("Content stream finished due to exceeded streaming time.")
        if final and sequence is not None:
            return self._bad("Final streaming activities must not set streamSequence")
        if not final and not isinstance(sequence, int):
            return self._bad("streamSequence is required")
        if not final and not str(body.get("text", "")).startswith(message.text):
            return self._bad("Streaming content must include the previously streamed content")
        return None

    def _bad(self, message: str) -> web.Response:
        self.stream_errors.append(message)
        return error(400, "BadRequest", message)

    def create(self, call: Call, conversation_id: str, body: dict[str, Any]) -> web.Response:
        info = stream_info(body)
        if info is None and body.get("type") == "typing":
            self.typing += 1
            return json_response({}, status=200)
        if info is not None and info.get("streamId"):
            return self._stream_update(str(info["streamId"]), body, info)
        message = self.state.post(
            conversation_id, str(body.get("text") or ""), from_bot=True, author=self.bot_id
        )
        message.attachments = list(body.get("attachments") or [])
        message.entities = list(body.get("entities") or [])
        message.feedback = feedback_of(body) or ""
        if info is not None:
            message.streaming, message.stream_sequence = True, 1
            message.stream_started = time.monotonic()
        return json_response({"id": message.id}, status=201)

    def _stream_update(
        self, stream_id: str, body: dict[str, Any], info: dict[str, Any]
    ) -> web.Response:
        message = self.state.messages[stream_id]
        if body.get("type") == "message":
            message.streaming, message.stream_done = False, True
            message.attachments = list(body.get("attachments") or [])
            message.feedback = feedback_of(body) or ""
            self._show(message, str(body.get("text") or ""))
            return json_response({}, status=202)
        sequence = int(info["streamSequence"])
        if sequence <= message.stream_sequence:
            return error(
                202,
                "ContentStreamSequenceOrderPreConditionFailed",
                "PreCondition failed exception when processing streaming activity.",
            )
        message.stream_sequence = sequence
        self._show(message, str(body.get("text") or ""))
        return json_response({}, status=202)

    def update(self, message_id: str, body: Any) -> web.Response:
        message = self.state.messages.get(message_id)
        if message is None or message.deleted:
            return error(404, "ActivityNotFoundInConversation", "Activity not found.")
        if not message.from_bot:
            return error(403, "Forbidden", "The bot can only update its own messages.")
        if message.streaming:
            return not_allowed("Content stream is not allowed")
        if not isinstance(body, dict) or body.get("type") != "message":
            return error(400, "BadRequest", "Activity type must be message")
        if size_of(body) > self.max_message_bytes:
            return error(413, "MessageSizeTooBig", "Message size too large")
        if feedback_of(body) is None:
            return error(400, "BadRequest", "Set feedbackLoop or feedbackLoopEnabled, not both")
        message.attachments = list(body.get("attachments") or [])
        message.feedback = feedback_of(body) or ""
        self._show(message, str(body.get("text") or ""))
        return json_response({"id": message_id}, status=200)

    def delete(self, message_id: str) -> web.Response:
        message = self.state.messages.get(message_id)
        if message is None or message.deleted:
            return error(404, "ActivityNotFoundInConversation", "Activity not found.")
        message.deleted = True
        return json_response({}, status=200)

    def _show(self, message: Message, text: str) -> None:
        message.text = text
        message.history.append(text)
        message.times.append(time.time())
