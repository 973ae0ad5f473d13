"""The messenger seam: what every adapter implements, and how the core finds them."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Protocol

from bridge.config import Settings
from bridge.models import UserPost
from bridge.surface import Surface

if TYPE_CHECKING:
    from bridge.hub import Hub


class Adapter(Protocol):
    """One messenger: it feeds accepted posts to the hub and shows replies through surfaces."""

    platform: str

    async def start(self, hub: Hub) -> None:
        """Connect and begin ingesting; return once connected (or raise a clear error)."""

    async def stop(self) -> None:
        """Stop ingesting and close connections."""

    def surface(self, post: UserPost, messages: list[str]) -> Surface:
        """The surface for the reply to `post`, restored with already posted `messages`."""
        ...


class AdapterClass(Protocol):
    """The entry-point target: a class that says whether it is configured and builds itself."""

    def __call__(self, settings: Settings) -> Adapter: ...

    def enabled(self, settings: Settings) -> bool: ...


def load_adapters(settings: Settings) -> list[Adapter]:
    """Every adapter registered under `threadbridge.adapters` whose settings are present."""
    adapters: list[Adapter] = []
    for ep in sorted(entry_points(group="threadbridge.adapters"), key=lambda e: e.name):
        cls: AdapterClass = ep.load()
        if cls.enabled(settings):
            adapters.append(cls(settings))
    return adapters
