"""POST …/message-streams: one assistant reply as Server-Sent Events, with injectable faults.

A generation runs to its end even when the client goes away or the stream is cut (the service
keeps what it produced); only DELETE …/message-streams stops it early, keeping the partial text.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulators.base import Fault, json_response
from emulators.neuroflash.state import ActiveStream, Conversation, split_tokens
from emulators.neuroflash.wire import Wire, pieces

if TYPE_CHECKING:
    from emulators.neuroflash.emulator import NeuroflashEmulator

STREAM_FAULTS = ("cut", "error_event", "slow", "malformed", "forever", "keepalive")
ENDLESS = ("forever", "keepalive")
"""Streams that never end on their own: `forever` sends text without end, `keepalive` only
SSE comments. Both stop when the client cancels (DELETE …/message-streams) or goes away;
`Fault.delay` is the seconds between two writes (default 0.05)."""


async def open_stream(
    emu: NeuroflashEmulator,
    request: web.Request,
    conversation: Conversation,
    body: dict[str, Any],
    fault: Fault | None,
) -> web.StreamResponse:
    """Answer 409 while another stream runs; otherwise replay or generate, holding the lock."""
    if conversation.stream is not None:
        message = "Another reply is streaming in this conversation; wait for it or cancel it."
        return json_response({"code": "conversationLocked", "message": message}, status=409)
    stored = conversation.reply_to(body["id"])
    if stored is None:
        conversation.add_user(body["id"], body["text"], body["createdAt"])
        text = emu.generate(body["text"])
    else:
        text = stored.text
    active = ActiveStream(body["id"])
    conversation.stream = active
    emu.streams += 1
    run = StreamRun(emu, conversation, active, text, replay=stored is not None, fault=fault)
    try:
        return await run.serve(request)
    finally:
        conversation.stream = None


@dataclass
class StreamRun:
    """One stream being served: writes events, notices disconnects and cancels."""

    emu: NeuroflashEmulator
    conversation: Conversation
    active: ActiveStream
    text: str
    replay: bool
    fault: Fault | None = None
    sent: list[str] = field(default_factory=list)
    connected: bool = True
    response: web.StreamResponse | None = None

    @property
    def wire(self) -> Wire:
        return Wire(self.emu.variant)

    def _fault(self, kind: str, index: int) -> bool:
        return self.fault is not None and self.fault.kind == kind and self.fault.after == index

    async def serve(self, request: web.Request) -> web.StreamResponse:
        headers = {"Content-Type": self.wire.content_type, "Cache-Control": "no-cache"}
        self.response = web.StreamResponse(headers=headers)
        await self.response.prepare(request)
        if self.fault is not None and self.fault.kind == "slow":
            await self._pause(self.fault.delay)
        await self._write(self.wire.opening())
        if self.fault is not None and self.fault.kind in ENDLESS:
            await self._endless(self.fault)
            self._finish_generation()
            return self.response
        for index, token in enumerate(split_tokens(self.text)):
            if self.active.cancelled.is_set():
                break
            if self._fault("cut", index):
                self._finish_generation()
                if request.transport is not None:
                    request.transport.close()
                return self.response
            if self._fault("error_event", index):
                await self._write(self._error_event())
                return self.response
            if self._fault("malformed", index):
                await self._write(self.wire.malformed())
            await self._write(self.wire.delta(token) + self.wire.between(index))
            self.sent.append(token)
            await self._pause(self.emu.token_interval)
        await self._held(request)
        reply = self._finish_generation()
        if not self.active.cancelled.is_set():
            await self._write(self.wire.final(reply))
        return self.response

    async def _endless(self, fault: Fault) -> None:
        """Write text (or only keep-alive comments) until cancelled or disconnected."""
        eol = self.wire.eol
        while self.connected and not self.active.cancelled.is_set():
            if fault.kind == "forever":
                await self._write(self.wire.delta("more "))
                self.sent.append("more ")
            else:
                await self._write(f": keep-alive{eol}{eol}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.active.cancelled.wait(), timeout=fault.delay or 0.05)

    def _error_event(self) -> str:
        """The error the "error_event" fault sends; its body may set `message` and `code`."""
        body = self.fault.body if self.fault is not None and self.fault.body else {}
        message = str(body.get("message") or "The model stopped unexpectedly.")
        return self.wire.error(message, str(body.get("code") or "generationFailed"))

    def _finish_generation(self) -> dict[str, Any]:
        """Store the reply (partial when cancelled) unless replaying; return its payload."""
        if self.replay:
            stored = self.conversation.reply_to(self.active.user_message_id)
            assert stored is not None
            return stored.wire()
        text = "".join(self.sent) if self.active.cancelled.is_set() else self.text
        return self.conversation.add_reply(self.active.user_message_id, text).wire()

    async def _pause(self, seconds: float) -> None:
        """Sleep, unless the client has gone (then generate at full speed) or a cancel arrives."""
        if seconds <= 0 or not self.connected:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.active.cancelled.wait(), timeout=seconds)

    async def _held(self, request: web.Request) -> None:
        """Wait while the test holds replies (`emu.hold`), unless cancelled or disconnected."""
        hold = self.emu.hold
        while hold is not None and not hold.is_set() and not self.active.cancelled.is_set():
            if request.transport is None or request.transport.is_closing():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(hold.wait(), timeout=0.05)

    async def _write(self, text: str) -> None:
        if not text or not self.connected or self.response is None:
            return
        try:
            for piece in pieces(text):
                await self.response.write(piece)
        except ConnectionError:
            self.connected = False
            self.emu.disconnects += 1
