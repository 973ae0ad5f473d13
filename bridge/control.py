"""Commands that must reach whichever replica is streaming a thread (stop), over pub/sub."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bridge.contracts import ThreadKey
from bridge.keys import Keys

log = logging.getLogger(__name__)

StopHandler = Callable[[ThreadKey, int | None], object]


class Control:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._channel = keys.control()

    async def publish_stop(self, thread: ThreadKey, before: int | None = None) -> None:
        """Stop the reply running in `thread`; with `before`, only one for an earlier post."""
        message = {"stop": str(thread), "before": before}
        await self._redis.publish(self._channel, json.dumps(message))

    async def listen(self, on_stop: StopHandler) -> None:
        """Call `on_stop` for every stop published by any replica; survives Redis outages.

        The ping first makes a cluster client learn (or relearn, after a failover) which node
        owns the channel's slot before it subscribes there.
        """
        while True:
            try:
                await self._redis.ping()
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel)
                    async for message in pubsub.listen():
                        self._handle(message, on_stop)
            except RedisError as exc:
                log.debug("control channel interrupted: %s", exc)
                await asyncio.sleep(1.0)

    @staticmethod
    def _handle(message: dict[str, object], on_stop: StopHandler) -> None:
        try:
            data = json.loads(message["data"])  # type: ignore[arg-type]
            before = data.get("before")
            on_stop(ThreadKey.parse(data["stop"]), int(before) if before is not None else None)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring a malformed control message: %s", exc)
