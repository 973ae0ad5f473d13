"""The messenger seam: what every adapter implements (they are found in `bridge.plugins`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bridge.contracts.core import Core
from bridge.contracts.data import UserPost
from bridge.contracts.surface import Surface

if TYPE_CHECKING:
    from bridge.config import Settings


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
