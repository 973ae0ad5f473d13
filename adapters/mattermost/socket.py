"""The WebSocket API (`/api/v4/websocket`): authenticated by the Bearer header of the upgrade
request, a `hello` event first, then every event of the bot's channels.

The socket reconnects with exponential backoff (jittered, capped) whenever it drops; after
every `hello` the adapter fetches what arrived meanwhile by REST (`on_hello`), in a task of its
own so events keep flowing. aiohttp's heartbeat pings the server and notices a dead link.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from adapters.mattermost.api import ApiError
from bridge.contracts.backoff import backoff

log = logging.getLogger(__name__)

HEARTBEAT = 30.0
HELLO_TIMEOUT = 15.0
Handler = Callable[[dict[str, Any]], Awaitable[None]]


class Socket:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        token: str,
        on_event: Handler,
        on_hello: Callable[[], Awaitable[None]],
    ) -> None:
        self._session = session
        self._url = base_url.rstrip("/").replace("http", "ws", 1) + "/api/v4/websocket"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._on_event = on_event
        self._on_hello = on_hello
        self.connected = asyncio.Event()
        self.connects = 0
        self.first_error: Exception | None = None
        self._recovery: asyncio.Task[None] | None = None

    async def run(self) -> None:
        """Connect, read, reconnect: until cancelled."""
        attempt = 0
        try:
            while True:
                try:
                    await self._session_once()
                    attempt = 0
                except (aiohttp.ClientError, OSError, TimeoutError, ApiError) as exc:
                    if self.first_error is None and not self.connects:
                        self.first_error = exc
                    log.warning("Mattermost WebSocket: %s", exc or type(exc).__name__)
                self.connected.clear()
                attempt += 1
                await asyncio.sleep(backoff(attempt, base=0.5, cap=30.0))
        finally:
            await self._stop_recovery()

    async def _session_once(self) -> None:
        async with self._session.ws_connect(
            self._url, headers=self._headers, heartbeat=HEARTBEAT, autoping=True
        ) as ws:
            await self._hello(ws)
            self.connects += 1
            self.connected.set()
            log.info("Mattermost WebSocket connected")
            await self._stop_recovery()
            self._recovery = asyncio.create_task(self._recover(), name="mattermost-recovery")
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    await self._dispatch(message.data)
                elif message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    break
            log.warning("Mattermost WebSocket closed (%s); reconnecting", ws.close_code)

    async def _hello(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async with asyncio.timeout(HELLO_TIMEOUT):
            while True:
                message = await ws.receive()
                if message.type != aiohttp.WSMsgType.TEXT:
                    raise aiohttp.ClientError(f"closed before hello ({message.type.name})")
                if json.loads(message.data).get("event") == "hello":
                    return

    async def _dispatch(self, raw: str) -> None:
        try:
            event = json.loads(raw)
        except ValueError:
            log.info("Mattermost WebSocket: a frame that is not JSON was skipped")
            return
        if not isinstance(event, dict) or "event" not in event:
            return
        try:
            await self._on_event(event)
        except Exception:
            log.exception("Mattermost event %s failed", event.get("event"))

    async def _recover(self) -> None:
        try:
            await self._on_hello()
        except Exception:
            log.exception("Mattermost: recovering missed posts failed")

    async def _stop_recovery(self) -> None:
        task, self._recovery = self._recovery, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
