"""Slack's native text streaming: chat.startStream / appendStream / stopStream.

A stream is a bot message in a thread that grows by appends (≤ 12,000 markdown characters per
call). It stays open until stopped or until `stream_ttl` passes (Slack: about five minutes);
after that appends and stops answer `message_not_in_streaming_state`, and `chat.update` on the
same `ts` still works.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from emulators.slack.args import ApiError, json_list, required, stream_text
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


def start_stream(emu: SlackEmulator, args: dict[str, Any]) -> dict[str, Any]:
    channel = required(args, "channel", "channel_not_found")
    thread_ts = required(args, "thread_ts")
    text = stream_text(args)
    message = emu.workspace.add(
        Message(
            channel=channel,
            ts=emu.workspace.next_ts(),
            user=emu.bot_user_id,
            text=text,
            markdown_text=text,
            thread_ts=thread_ts,
            bot_id=emu.bot_id,
            stream_started=time.monotonic(),
        )
    )
    emu.echo_posted(message)
    return {"channel": channel, "ts": message.ts}


def _streaming_message(emu: SlackEmulator, args: dict[str, Any]) -> Message:
    message = own_message(emu, args, "message_not_owned_by_app")
    if not is_streaming(emu, message):
        raise ApiError("message_not_in_streaming_state")
    return message


def append_stream(emu: SlackEmulator, args: dict[str, Any]) -> dict[str, Any]:
    message = _streaming_message(emu, args)
    delta = stream_text(args)
    if not delta:
        raise ApiError("no_text")
    text = message.text + delta
    message.set_text(text, text, None)
    return {"channel": message.channel, "ts": message.ts}


def stop_stream(emu: SlackEmulator, args: dict[str, Any]) -> dict[str, Any]:
    message = _streaming_message(emu, args)
    previous = emu.message_object(message)
    delta = stream_text(args)
    blocks = json_list(args, "blocks")
    if delta or blocks is not None:
        text = message.text + delta
        message.set_text(text, text, blocks)
    message.stream_stopped = True
    emu.echo_changed(previous, message)
    return {"channel": message.channel, "ts": message.ts, "message": emu.message_object(message)}
