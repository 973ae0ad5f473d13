"""Server-Sent Events as every provider reads them, with the httpx-sse traps handled once.

The status is checked before iterating (an error body must be read with `aread()`), `[DONE]`
and empty data are recognised before JSON parsing, and HTTP errors become `ProviderHTTPError`
so a 4xx is never retried as if it were a transport hiccup. `JsonEvents` reads a stream's JSON
events tolerantly.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from typing import Any

import httpx
from httpx_sse import EventSource, aconnect_sse

from bridge.contracts.toolkit.waits import capped_wait

log = logging.getLogger(__name__)


class ProviderHTTPError(Exception):
    """The provider answered with an HTTP error status."""

    def __init__(self, status: int, body: Any, retry_after: float | None = None) -> None:
        self.status = status
        self.body = body
        self.retry_after = retry_after
        super().__init__(f"HTTP {status}: {error_text(body) or 'no details'}")

    @classmethod
    def from_response(cls, response: httpx.Response) -> ProviderHTTPError:
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text[:500]
        return cls(response.status_code, body, retry_after_seconds(response))

    @property
    def retryable(self) -> bool:
        return self.status == 429 or self.status >= 500


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The Retry-After header in seconds, capped to 0–30 (`inf`, NaN, negatives, dates too)."""
    value = response.headers.get("retry-after")
    return None if value is None else capped_wait(value)


def error_text(body: Any) -> str:
    """The human part of a JSON error body, whatever key the provider used."""
    if isinstance(body, dict):
        for key in ("message", "error_description", "detail", "error", "code"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, dict):
                nested = error_text(value)
                if nested:
                    return nested
        return ""
    return str(body or "")[:300]


def raise_for_status(response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise ProviderHTTPError.from_response(response)


@asynccontextmanager
async def open_sse(
    client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
) -> AsyncIterator[EventSource]:
    """Open an SSE stream; raise `ProviderHTTPError` (with the body read) on an error status."""
    async with aconnect_sse(client, method, url, **kwargs) as source:
        response = source.response
        if response.status_code >= 400:
            await response.aread()
            raise ProviderHTTPError.from_response(response)
        yield source


def parse_data(data: str) -> dict[str, Any] | None:
    """The JSON object in an event's data, or None for empty data, `[DONE]` or non-objects."""
    data = data.strip()
    if not data or data == "[DONE]":
        return None
    value = json.loads(data)
    return value if isinstance(value, dict) else None


def is_done_marker(data: str) -> bool:
    return data.strip() == "[DONE]"


class JsonEvents:
    """The JSON objects of an SSE stream, skipping what carries none.

    Comment lines never reach us (httpx-sse drops them); `event: ping`, empty data and non-object
    data are skipped; one malformed event is logged and skipped; `[DONE]` ends the iteration and
    sets `saw_done`.
    """

    def __init__(self, source: EventSource, label: str) -> None:
        self._source = source
        self._label = label
        self.saw_done = False

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        async with aclosing(self._source.aiter_sse()) as events:
            async for sse in events:
                if sse.event == "ping" or not sse.data.strip():
                    continue
                if is_done_marker(sse.data):
                    self.saw_done = True
                    return
                try:
                    value = parse_data(sse.data)
                except ValueError:
                    log.warning("%s sent a malformed event, skipped: %.200r", self._label, sse.data)
                    continue
                if value is not None:
                    yield value
