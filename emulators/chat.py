"""What every streaming chat-provider emulator shares: the SSE writer, reply plans and faults.

Streams are written the way real servers misbehave on the wire: CRLF line ends, comment and
ping lines, empty data events, and writes that cut a multibyte character in two.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from emulators.base import Emulator, Fault

BREAKING = ("cut", "error_event", "disconnect")
ENDLESS = ("forever", "keepalive")
"""Streams that never end on their own: `forever` repeats the reply's tokens without end,
`keepalive` sends only SSE comments; both stop when the client goes away. `Fault.delay` is the
seconds between two writes (default 0.05)."""


@dataclass
class StreamStyle:
    """How a stream is written: pace (0 = no delay), chunk size in characters, and the noise."""

    tokens_per_second: float = 0.0
    chunk_chars: int = 3
    crlf: bool = True
    noise: bool = True
    split_multibyte: bool = True


@dataclass
class Plan:
    """One stream's payloads: before the first token, one per token, after the last token."""

    head: list[Any] = field(default_factory=list)
    tokens: list[Any] = field(default_factory=list)
    tail: list[Any] = field(default_factory=list)
    error: Callable[[Fault], Any] = lambda fault: {"error": fault.body}
    event: str | None = None


def chunk_text(text: str, size: int) -> list[str]:
    """Fixed-size pieces by code point, so ZWJ emoji and combining marks get split."""
    return [text[i : i + size] for i in range(0, len(text), max(1, size))]


def default_reply(message: str, n: int) -> str:
    """The deterministic answer when nothing is scripted: multibyte text on purpose."""
    words = " ".join(message.split()[:6])
    return f"Answer {n} to «{words}»: grüße, naïve café — 👩‍💻 ready 🚀✓\n\nDone."


def fault_code(fault: Fault, default: str) -> tuple[str, str]:
    """(code, message) for an error_event fault; `Fault.body` is a code or {code, message}."""
    body = fault.body
    if isinstance(body, dict):
        return str(body.get("code") or default), str(body.get("message") or "injected error")
    return (str(body) if body else default), "injected error"


class EventStream:
    """One SSE response, written in `style`."""

    def __init__(self, request: web.Request, style: StreamStyle) -> None:
        self._request = request
        self._style = style
        self._eol = "\r\n" if style.crlf else "\n"
        self.response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )

    async def start(self) -> None:
        await self.response.prepare(self._request)

    async def send(self, payload: Any, event: str | None = None) -> None:
        data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
        lines = ([f"event: {event}"] if event else []) + [f"data: {data}"]
        await self.raw(self._eol.join(lines) + self._eol * 2)

    async def raw(self, text: str) -> None:
        """Write `text`, cutting the bytes inside its first multibyte character if asked."""
        blob = text.encode()
        cut = next((i + 1 for i, b in enumerate(blob) if b >= 0xC0), 0)
        if self._style.split_multibyte and cut:
            await self.response.write(blob[:cut])
            await asyncio.sleep(0.001)
            blob = blob[cut:]
        await self.response.write(blob)

    async def noise(self, index: int, ping: str | None) -> None:
        """Between tokens, what real servers add: comments, empty data, pings."""
        if not self._style.noise or index % 4:
            return
        eol = self._eol
        await self.raw(f": keep-alive{eol}{eol}data:{eol}{eol}" + (ping or ""))

    async def pace(self) -> None:
        if self._style.tokens_per_second > 0:
            await asyncio.sleep(1.0 / self._style.tokens_per_second)

    async def end(self) -> None:
        await self.response.write_eof()

    def drop(self) -> None:
        """Close the connection mid-body, as a crashing server would."""
        if self._request.transport is not None:
            self._request.transport.close()


class ChatEmulator(Emulator):
    """An emulator that answers chat messages: scripted texts, stream style, how streams ended."""

    ping: str | None = None

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.style = StreamStyle()
        self.replies: list[str] = []
        self.outcomes: list[str] = []
        self._script: deque[str] = deque()
        super().__init__(host, port)

    def script(self, *texts: str) -> None:
        """Answer the next replies with exactly `texts`, in order."""
        self._script.extend(texts)

    def next_text(self, message: str) -> str:
        text = (
            self._script.popleft()
            if self._script
            else default_reply(message, len(self.replies) + 1)
        )
        self.replies.append(text)
        return text

    @property
    def aborted(self) -> int:
        """Streams the client closed before the end."""
        return self.outcomes.count("aborted")

    async def play(
        self,
        request: web.Request,
        plan: Plan,
        fault: Fault | None,
        stop: asyncio.Event | None = None,
    ) -> web.StreamResponse:
        """Stream `plan`, applying `fault` at token `fault.after`; record how it ended."""
        stream = EventStream(request, self.style)
        await stream.start()
        try:
            outcome = await self._play(stream, plan, fault, stop)
        except asyncio.CancelledError:
            self.outcomes.append("aborted")
            raise
        except ConnectionError:
            outcome = "aborted"
        self.outcomes.append(outcome)
        return stream.response

    async def _play(
        self, stream: EventStream, plan: Plan, fault: Fault | None, stop: asyncio.Event | None
    ) -> str:
        if fault is not None and fault.kind == "slow_start":
            await asyncio.sleep(fault.delay)
        await stream.noise(0, self.ping)
        for payload in plan.head:
            await stream.send(payload, plan.event)
        if fault is not None and fault.kind in ENDLESS:
            return await self._endless(stream, plan, fault, stop)
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.delay)
        for index in range(len(plan.tokens) + 1):
            if fault is not None and index == fault.after:
                if fault.kind == "malformed":
                    await stream.raw('data: {"broken": ' + "\n\n")
                elif fault.kind in BREAKING:
                    return await self._break(stream, plan, fault)
            if index == len(plan.tokens) or (stop is not None and stop.is_set()):
                break
            await stream.send(plan.tokens[index], plan.event)
            await stream.pace()
            await stream.noise(index + 1, self.ping)
        for payload in plan.tail:
            await stream.send(payload, plan.event)
        await stream.end()
        return "stopped" if stop is not None and stop.is_set() else "done"

    async def _endless(
        self, stream: EventStream, plan: Plan, fault: Fault, stop: asyncio.Event | None
    ) -> str:
        """Write tokens (or only keep-alive comments) until the client leaves or a stop."""
        index = 0
        while stop is None or not stop.is_set():
            if fault.kind == "forever" and plan.tokens:
                await stream.send(plan.tokens[index % len(plan.tokens)], plan.event)
                index += 1
            else:
                await stream.raw(": keep-alive\n\n")
            await asyncio.sleep(fault.delay or 0.05)
        await stream.end()
        return "stopped"

    async def _break(self, stream: EventStream, plan: Plan, fault: Fault) -> str:
        if fault.kind == "disconnect":
            stream.drop()
            return "disconnect"
        if fault.kind == "error_event":
            await stream.send(plan.error(fault), plan.event)
        await stream.end()
        return fault.kind
