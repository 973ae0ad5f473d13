"""What a REST route is: method, discord.py's path template, a fault name and a handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request, Any], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Endpoint:
    """One route: `path` is discord.py's template, `name` the key for `fail_next`."""

    method: str
    path: str
    name: str
    handler: Handler
    auth: bool = True

    @property
    def key(self) -> str:
        """The route as discord.py's `Route.key` spells it ("PATCH /channels/...")."""
        return f"{self.method} {self.path}"
