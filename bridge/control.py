"""Commands that must reach whichever replica is streaming a thread (stop), over pub/sub."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bridge.models import ThreadKey

log = logging.getLogger(__name__)


class Control:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._channel = f"{prefix}control"

    async def publish_stop(self, thread: ThreadKey) -> None:
        await self._redis.publish(self._channel, json.dumps({"stop": str(thread)}))

    async def listen(self, on_stop: Callable[[ThreadKey], object]) -> None:
        """Call `on_stop` for every stop published by any replica; survives Redis outages."""
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel)
                    async for message in pubsub.listen():
                        self._handle(message, on_stop)
            except RedisError as exc:
                log.debug("control channel interrupted: %s", exc)
                await asyncio.sleep(1.0)

    @staticmethod
    def _handle(message: dict[str, object], on_stop: Callable[[ThreadKey], object]) -> None:
        try:
            data = json.loads(message["data"])  # type: ignore[arg-type]
            on_stop(ThreadKey.parse(data["stop"]))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring a malformed control message: %s", exc)
