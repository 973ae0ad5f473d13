"""One reply in a Slack thread: a placeholder at once, then pages as `markdown_text` edits."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.errors import classify
from adapters.slack.format import (
    EDITS_PER_MESSAGE_INTERVAL,
    PAGE_LIMIT,
    PLACEHOLDER,
    defuse_mentions,
)
from bridge.metrics import Metrics
from bridge.surface import Allowance, EditRate
from bridge.waits import capped_wait

log = logging.getLogger(__name__)

MAX_RATE_LIMIT_RETRIES = 5


class SlackSurface:
    """Posts and edits one reply's messages in one Slack thread."""

    limit = PAGE_LIMIT
    min_interval = EDITS_PER_MESSAGE_INTERVAL

    def __init__(
        self,
        client: AsyncWebClient,
        channel: str,
        thread_ts: str,
        team: str,
        rate: EditRate,
        messages: list[str],
        metrics: Metrics,
    ) -> None:
        self._client = client
        self._channel = channel
        self._thread_ts = thread_ts
        self._metrics = metrics
        self.allowances: tuple[Allowance, ...] = (Allowance(f"slack:{team}", rate),)
        self.messages = messages

    async def start(self) -> None:
        response = await self._call(
            "chat.postMessage", channel=self._channel, thread_ts=self._thread_ts, text=PLACEHOLDER
        )
        self.messages.append(str(response["ts"]))

    async def write(self, index: int, text: str, *, final: bool) -> None:
        text = defuse_mentions(text)
        if index < len(self.messages):
            await self._call(
                "chat.update", channel=self._channel, ts=self.messages[index], markdown_text=text
            )
            return
        response = await self._call(
            "chat.postMessage",
            channel=self._channel,
            thread_ts=self._thread_ts,
            markdown_text=text,
        )
        self.messages.append(str(response["ts"]))

    async def close(self) -> None:
        """Nothing to clear: the placeholder was replaced by the first page."""

    async def _call(self, method: str, **params: Any) -> Any:
        """Call the Web API, honouring 429 Retry-After (capped) a few times before giving up.

        A failure leaves as the core's `WriteRejected`, classified by `adapters.slack.errors`.
        """
        for attempt in range(MAX_RATE_LIMIT_RETRIES + 1):
            try:
                return await self._client.api_call(method, json=params)
            except SlackApiError as exc:
                if exc.response.status_code != 429 or attempt == MAX_RATE_LIMIT_RETRIES:
                    raise classify(exc) or exc from exc
                self._metrics.inc("slack_rate_limited_total")
                wait = capped_wait(exc.response.headers.get("Retry-After"))
                log.warning("Slack rate-limited %s; retrying in %.1fs", method, wait)
                await asyncio.sleep(wait)
            except Exception as exc:
                rejected = classify(exc)
                if rejected is None:
                    raise
                raise rejected from exc
        raise AssertionError("unreachable")
