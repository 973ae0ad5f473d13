"""The messenger seam: what every adapter implements (they are found in `bridge.plugins`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from aiohttp import web
from pydantic_settings import BaseSettings

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


@runtime_checkable
class Connected(Protocol):
    """An adapter whose messenger connection can be down while the process runs (optional)."""

    async def connected(self) -> bool:
        """For /readyz: whether its connection is up; a process without one takes no work."""
        ...


@runtime_checkable
class Quiets(Protocol):
    """An adapter class whose SDK logs request bodies, tokens or payloads below WARNING."""

    quiet_loggers: tuple[str, ...]
    """Those loggers' names: the core holds them (and their children) at WARNING."""


class Finding(StrEnum):
    """How one `threadbridge doctor` row went."""

    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"
    SKIP = "skip"


class Findings(Protocol):
    """The doctor's report as a plugin's check writes it: one row per checked part."""

    def add(self, part: str, status: Finding, detail: str, fix: str = "") -> None: ...


@runtime_checkable
class Doctored(Protocol):
    """An adapter class that checks its settings against its service for `threadbridge doctor`
    with harmless calls, without building the adapter."""

    def describe(self, settings: Any) -> str:
        """How the doctor names this messenger as configured (`slack (many workspaces)`)."""
        ...

    async def doctor(self, settings: Any, findings: Findings) -> None:
        """Add a row per checked part; a service it cannot reach is a failed row, not a raise."""


class AdapterClass(Protocol):
    """The entry-point target: a class with its own settings (read by the loader from
    `settings_class`, whose env prefix is the entry point's name), that says whether those
    settings enable it and builds itself from them alone."""

    @property
    def settings_class(self) -> type[BaseSettings]: ...

    @property
    def enabling(self) -> tuple[str, ...]:
        """The variables any one of which turns it on (named when no messenger is)."""
        ...

    def __call__(self, settings: Any) -> Adapter: ...

    def enabled(self, settings: Any) -> bool: ...


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
