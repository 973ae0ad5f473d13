"""A per-thread lease: one replica answers a thread at a time, and knows when it stopped being
that replica, so it never writes to a reply after another one took it over."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from redis.exceptions import RedisError

from bridge.contracts import Fenced, ThreadKey
from bridge.store import Store

log = logging.getLogger(__name__)


class LeaseLost(Fenced):
    """The lease ran out or was taken; the holder must stop writing at once."""


class Lease:
    """Held while answering one thread; renewed in the background, valid until it lapses."""

    def __init__(self, store: Store, thread: ThreadKey, ttl: float) -> None:
        self._store = store
        self.thread = thread
        self.ttl = ttl
        self.token = uuid.uuid4().hex
        self._valid_until = 0.0
        self._renewer: asyncio.Task[None] | None = None

    async def try_acquire(self) -> bool:
        started = time.monotonic()
        if not await self._store.acquire_lease(self.thread, self.token, self.ttl):
            return False
        self._valid_until = started + self.ttl * 0.9
        self._renewer = asyncio.create_task(self._renew_loop(), name=f"lease:{self.thread}")
        return True

    @property
    def valid(self) -> bool:
        return time.monotonic() < self._valid_until

    def check(self) -> None:
        """Raise `LeaseLost` unless the lease is still ours (the fence before every write)."""
        if not self.valid:
            raise LeaseLost(str(self.thread))

    async def release(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            await asyncio.gather(self._renewer, return_exceptions=True)
            self._renewer = None
        if self.valid:
            try:
                await self._store.release_lease(self.thread, self.token)
            except RedisError as exc:
                log.warning("could not release lease on %s (it will lapse): %s", self.thread, exc)
        self._valid_until = 0.0

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            started = time.monotonic()
            try:
                ok = await self._store.renew_lease(self.thread, self.token, self.ttl)
            except RedisError as exc:
                log.warning("lease renewal on %s failed: %s", self.thread, exc)
                continue
            if not ok:
                log.warning("lease on %s was lost", self.thread)
                self._valid_until = 0.0
                return
            self._valid_until = started + self.ttl * 0.9
