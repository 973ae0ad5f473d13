"""What every emulator shares: an aiohttp server on loopback that records each call.

Tests and the benchmark start an emulator, point the real client library at `url`, and assert
on `calls`. Faults are queued per route with `fail_next` and consumed by the route handler.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Call:
    """One request the emulator received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    at: float = field(default_factory=time.monotonic)


@dataclass
class Fault:
    """A misbehaviour to apply to the next matching request.

    kind: "status" (answer `status` with `body`), "disconnect" (drop the connection),
    or a route-specific kind (e.g. "cut", "slow", "error_event") that the route interprets.
    """

    kind: str
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    after: int = 0


class Emulator:
    """Base class: subclasses add routes in `routes()` and call `record()` in handlers."""

    name = "emulator"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.calls: list[Call] = []
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._runner: web.AppRunner | None = None
        self.app = web.Application(client_max_size=16 * 1024 * 1024)
        self.routes(self.app)

    def routes(self, app: web.Application) -> None:
        """Register the emulated API's routes on `app`."""

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> Emulator:
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def record(self, request: web.Request) -> Call:
        """Record `request` (its JSON or form body parsed where possible) and return the call."""
        raw = await request.read()
        body: Any = None
        if raw:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
            elif ctype == "application/x-www-form-urlencoded":
                body = dict((await request.post()).items())
            else:
                body = raw.decode("utf-8", "replace")
        call = Call(request.method, request.path, dict(request.query), dict(request.headers), body)
        self.calls.append(call)
        return call

    def calls_to(self, path_part: str, method: str | None = None) -> list[Call]:
        """The recorded calls whose path contains `path_part` (and match `method`, if given)."""
        return [
            c for c in self.calls if path_part in c.path and (method is None or c.method == method)
        ]

    def fail_next(self, route: str, fault: Fault, times: int = 1) -> None:
        """Queue `fault` for the next `times` requests to `route` (a route-specific name)."""
        for _ in range(times):
            self._faults[route].append(fault)

    def clear_faults(self, route: str) -> None:
        """Forget the faults still queued for `route` (the service recovered)."""
        self._faults.pop(route, None)

    def take_fault(self, route: str) -> Fault | None:
        queue = self._faults.get(route)
        return queue.popleft() if queue else None

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        """Poll `predicate()` until true; raise TimeoutError with the emulator's name if not."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: condition not met within {timeout}s")
            await asyncio.sleep(0.02)


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON answer with `Content-Type: application/json` exactly (discord.py insists)."""
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def fault_response(fault: Fault) -> web.Response:
    body = fault.body if fault.body is not None else {"error": "injected", "status": fault.status}
    return json_response(body, status=fault.status, headers=fault.headers)


WORKSPACES_PATH = "/api/workspace-service/v1/workspaces"
"""neuroflash's workspace listing (seed 001, step 2), served by both neuroflash emulators."""


def workspaces_listing(*workspace_ids: str) -> web.Response:
    """The listing in the seed's HAL shape: `_embedded.workspaces[].id`."""
    items = [{"id": wid, "name": f"Workspace {n + 1}"} for n, wid in enumerate(workspace_ids)]
    return json_response(
        {"_embedded": {"workspaces": items}, "page": {"totalElements": len(items)}}
    )
