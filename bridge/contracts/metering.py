"""Every request a plugin's HTTP client makes, counted, and its 429 answers: an aiohttp trace
(`http_trace`) or httpx event hooks (`httpx_trace`), reporting to a `Meter`."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, Protocol

import httpx
from aiohttp import ClientSession, TraceConfig, TraceRequestEndParams
from yarl import URL


class Meter(Protocol):
    """The counters a plugin reports (`bridge.metrics.Metrics` is the one): labels come from
    small fixed sets (a request's route with ids taken out), never a user, channel or thread."""

    def inc(self, name: str, by: float = 1.0, **labels: str) -> None:
        """Add `by` to the counter `name` (`_total` optional), declared on first use."""

    def call(self, platform: str, name: str) -> None:
        """One request of the plugin's HTTP client, named by its method or route."""

    def rate_limited(self, platform: str, name: str) -> None:
        """One 429 answer to such a request."""


def http_trace(meter: Meter, platform: str, route: Callable[[str, URL], str]) -> TraceConfig:
    """An aiohttp trace that counts every request the session makes, and its 429s.

    `route` names a request by its method and URL with ids taken out.
    """
    trace = TraceConfig()

    async def on_end(_: ClientSession, __: SimpleNamespace, params: TraceRequestEndParams) -> None:
        name = route(params.method, params.url)
        meter.call(platform, name)
        if params.response.status == 429:
            meter.rate_limited(platform, name)

    trace.on_request_end.append(on_end)
    return trace


def httpx_trace(
    meter: Meter, platform: str, route: Callable[[str, httpx.URL], str]
) -> dict[str, list[Callable[[httpx.Response], Any]]]:
    """Event hooks for an `httpx.AsyncClient` (`event_hooks=`) that count every response the
    client receives, and its 429s; `route` names a request by its method and URL."""

    async def on_response(response: httpx.Response) -> None:
        request = response.request
        name = route(request.method, request.url)
        meter.call(platform, name)
        if response.status_code == 429:
            meter.rate_limited(platform, name)

    return {"response": [on_response]}
