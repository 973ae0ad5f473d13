"""The messenger seam: what every adapter implements (they are found in `bridge.plugins`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from aiohttp import web

from bridge.config import Settings
from bridge.contracts.core import Core
from bridge.contracts.data import UserPost
from bridge.contracts.surface import Surface


class Adapter(Protocol):
    """One messenger: it feeds accepted posts to the core and shows replies through surfaces."""

    platform: str

    async def start(self, core: Core) -> None:
        """Connect and begin ingesting; return once connected (or raise a clear error)."""

    async def stop(self) -> None:
        """Stop ingesting and close connections."""

    def surface(self, post: UserPost, messages: list[str]) -> Surface:
        """The surface for the reply to `post`, restored with already posted `messages`."""
        ...


@runtime_checkable
class Behind(Protocol):
    """An adapter whose events come over a connection that can fall behind (optional)."""

    def behind(self) -> float:
        """Seconds its event connection runs behind the platform (0 while it keeps up): a
        process that cannot keep up with its events stops taking new posts (`bridge.lag`)."""
        ...


class AdapterClass(Protocol):
    """The entry-point target: a class that says whether it is configured and builds itself."""

    def __call__(self, settings: Settings) -> Adapter: ...

    def enabled(self, settings: Settings) -> bool: ...


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
"""An aiohttp request handler."""


@dataclass(frozen=True, slots=True)
class WebRoute:
    """One HTTP route an adapter serves on BRIDGE_HTTP_PORT (Slack's events in HTTP mode, its
    OAuth install and redirect)."""

    method: str
    path: str
    handler: Handler


@runtime_checkable
class Serves(Protocol):
    """An adapter that serves HTTP routes (optional): asked once, after `start(core)`."""

    def routes(self) -> list[WebRoute]: ...
