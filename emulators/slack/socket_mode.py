"""Slack's Socket Mode side: WebSocket links, `hello`, envelopes out, acks back.

`apps.connections.open` issues a one-time ticket; the client connects to `/link/?ticket=…`,
gets `{"type": "hello"}`, and answers each envelope with `{"envelope_id": …}`. Closing a link
(or sending a `disconnect` envelope, as Slack does before a refresh) makes slack_sdk reconnect.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web


@dataclass
class Ack:
    """One acknowledgement a client sent back."""

    envelope_id: str
    payload: Any
    at: float = field(default_factory=time.monotonic)


class SocketModeServer:
    """Links, tickets and pending acks of one emulated app."""

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self.links: list[web.WebSocketResponse] = []
        self.acks: list[Ack] = []
        self.connects = 0
        self._tickets: set[str] = set()
        self._pending: dict[str, asyncio.Future[Ack]] = {}
        self._changed = asyncio.Event()
        self._turn = itertools.count()

    def issue_url(self, base_url: str) -> str:
        """A fresh `ws://` URL with a one-time ticket, like `apps.connections.open` returns."""
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        ws_base = base_url.replace("http://", "ws://", 1)
        return f"{ws_base}/link/?ticket={ticket}&app_id={self.app_id}"

    @property
    def open_links(self) -> list[web.WebSocketResponse]:
        return [ws for ws in self.links if not ws.closed]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The `/link/` endpoint: check the ticket, say hello, read acks until the link closes."""
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.links.append(ws)
        self.connects += 1
        self._signal()
        try:
            await ws.send_str(json.dumps(self._hello()))
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_text(msg.data)
        finally:
            if ws in self.links:
                self.links.remove(ws)
            self._signal()
        return ws

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": len(self.open_links),
            "debug_info": {
                "host": "applink-emulator",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.app_id},
        }

    def _on_text(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            return
        if not isinstance(message, dict) or "envelope_id" not in message:
            return
        ack = Ack(str(message["envelope_id"]), message.get("payload"))
        self.acks.append(ack)
        future = self._pending.get(ack.envelope_id)
        if future is not None and not future.done():
            future.set_result(ack)

    def _signal(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for_link(self, deadline: float) -> web.WebSocketResponse | None:
        """An open link (round-robin over several, as Slack spreads events), waiting if none
        until the monotonic `deadline`."""
        while True:
            links = self.open_links
            if links:
                return links[next(self._turn) % len(links)]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return None

    async def send_envelope(
        self, envelope: dict[str, Any], deadline: float, link: int | None = None
    ) -> bool:
        """Send `envelope` on an open link (the `link`-th open one, if given); True once its ack
        arrives before the monotonic `deadline` (Slack waits 3 s, then retries)."""
        envelope_id = str(envelope["envelope_id"])
        future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        self._pending[envelope_id] = future
        try:
            while True:
                ws = await self.wait_for_link(deadline)
                if ws is not None and link is not None:
                    ws = self.open_links[link]
                if ws is None:
                    return False
                try:
                    await ws.send_str(json.dumps(envelope))
                    break
                except ConnectionError:
                    await asyncio.sleep(0.01)
            remaining = max(0.0, deadline - time.monotonic())
            await asyncio.wait_for(asyncio.shield(future), remaining)
            return True
        except TimeoutError:
            return False
        finally:
            self._pending.pop(envelope_id, None)

    async def close_links(self, code: int = WSCloseCode.GOING_AWAY) -> int:
        """Close every open link with a close frame; slack_sdk reconnects on its own."""
        links = self.open_links
        for ws in links:
            await ws.close(code=code, message=b"emulator disconnect")
        return len(links)

    async def request_refresh(self, reason: str = "refresh_requested") -> int:
        """Send Slack's `disconnect` envelope on every open link; the client fetches a new URL."""
        links = self.open_links
        body = json.dumps(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-emulator"}}
        )
        for ws in links:
            try:
                await ws.send_str(body)
            except ConnectionError:
                continue
        return len(links)


def new_envelope_id() -> str:
    return str(uuid.uuid4())


def new_event_id() -> str:
    return "Ev" + secrets.token_hex(5).upper()
