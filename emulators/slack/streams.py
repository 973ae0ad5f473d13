"""Slack's native text streaming: chat.startStream / appendStream / stopStream.

A stream is a bot message in a thread that grows by appends (≤ 12,000 markdown characters per
call). It stays open until stopped or until `stream_ttl` passes (Slack: about five minutes);
after that appends and stops answer `message_not_in_streaming_state`, and `chat.update` on the
same `ts` still works.

Arguments and error codes follow Slack's method reference (docs.slack.dev/reference/methods/
chat.startStream, chat.appendStream, chat.stopStream, as mirrored in the method specs shipped
by slack_kit, priv/docs/methods/chat.*Stream.json): `thread_ts` is required; in a channel (not a
DM) `recipient_user_id` and `recipient_team_id` are required ("Required when streaming to
channels"); `markdown_text` and `chunks` are exclusive, and a stream keeps the mode it was
opened with (`streaming_mode_mismatch`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from emulators.slack.args import ApiError, json_list, required, stream_text, text_arg
from emulators.slack.oauth import caller
from emulators.slack.state import Message

if TYPE_CHECKING:
    from emulators.slack.emulator import SlackEmulator


def own_message(emu: SlackEmulator, args: dict[str, Any], not_ours: str) -> Message:
    """The bot's message at (`channel`, `ts`): message_not_found, or `not_ours` if not the bot's."""
    channel = required(args, "channel", "channel_not_found")
    message = emu.workspace.find(channel, required(args, "ts", "message_not_found"))
    if message is None:
        raise ApiError("message_not_found")
    if message.bot_id != caller(emu, args).bot_id:
        raise ApiError(not_ours)
    return message


def is_streaming(emu: SlackEmulator, message: Message) -> bool:
    started = message.stream_started
    return (
        started is not None
        and not message.stream_stopped
        and time.monotonic() - started < emu.stream_ttl
    )


def _mode(args: dict[str, Any]) -> str:
    """Which field carries the text: `markdown_text` or `chunks`, never both."""
    has_chunks = json_list(args, "chunks") is not None
    if has_chunks and text_arg(args, "markdown_text") is not None:
        raise ApiError("cannot_provide_both_markdown_text_and_chunks")
    return "chunks" if has_chunks else "markdown_text"


def start_stream(emu: SlackEmulator, args: dict[str, Any]) -> dict[str, Any]:
    channel = required(args, "channel", "channel_not_found")
    thread_ts = required(args, "thread_ts")
    if emu.workspace.channel_type(channel) != "im":
        if text_arg(args, "recipient_user_id") is None:
            raise ApiError("missing_recipient_user_id")
        if text_arg(args, "recipient_team_id") is None:
            raise ApiError("missing_recipient_team_id")
    mode = _mode(args)
    text = stream_text(args)
    team = caller(emu, args)
    message = emu.workspace.add(
        Message(
            channel=channel,
            ts=emu.workspace.next_ts(),
            user=team.bot_user_id,
            text=text,
            markdown_text=text,
            thread_ts=thread_ts,
            bot_id=team.bot_id,
            stream_started=time.monotonic(),
            stream_mode=mode,
        )
    )
    emu.echo_posted(message)
    return {"channel": channel, "ts": message.ts}


def _streaming_message(emu: SlackEmulator, args: dict[str, Any]) -> Message:
    message = own_message(emu, args, "message_not_owned_by_app")
    if message.stream_stopped_by_user:
        raise ApiError("stopped_by_user")
    if not is_streaming(emu, message):
        raise ApiError("message_not_in_streaming_state")
    return message


def _check_mode(message: Message, args: dict[str, Any], *, optional: bool) -> None:
    mode = _mode(args)
    given = json_list(args, "chunks") is not None or text_arg(args, "markdown_text") is not None
    if not given:
        if not optional:
            raise ApiError("markdown_text_or_chunks_required")
        return
    if message.stream_mode is not None and mode != message.stream_mode:
        raise ApiError("streaming_mode_mismatch")


def append_stream(emu: SlackEmulator, args: dict[str, Any]) -> dict[str, Any]:
    message = _streaming_message(emu, args)
    _check_mode(message, args, optional=False)
    delta = stream_text(args)
    text = message.text + delta
    message.set_text(text, text, None)
    return {"channel": message.channel, "ts": message.ts}


def stop_stream(emu: SlackEmulator, args: dict[str, Any]) -> dict[str, Any]:
    message = _streaming_message(emu, args)
    _check_mode(message, args, optional=True)
    previous = emu.message_object(message)
    delta = stream_text(args)
    blocks = json_list(args, "blocks")
    if delta or blocks is not None:
        text = message.text + delta
        # "A list of blocks that will be rendered at the bottom of the finalized message"
        # (chat.stopStream reference): the streamed markdown stays above them.
        shown = None if blocks is None else [{"type": "markdown", "text": text}, *blocks]
        message.set_text(text, text, shown)
    message.stream_stopped = True
    emu.echo_changed(previous, message)
    return {"channel": message.channel, "ts": message.ts, "message": emu.message_object(message)}


def refuse_update_while_streaming(emu: SlackEmulator, message: Message) -> None:
    """`chat.update` on a message still streaming answers `streaming_state_conflict`.

    Not in Slack's reference; measured against the live API and reported by several public
    projects (e.g. chat SDK adapters handling `streaming_state_conflict` on chat.update):
    a streamed message is edited only after chat.stopStream, or once the stream has expired.
    """
    if is_streaming(emu, message):
        raise ApiError("streaming_state_conflict")
