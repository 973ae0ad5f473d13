"""Puts one threadbridge process together: Redis, providers, adapters, dispatcher, HTTP.

Adapters and providers are found by name through entry points; the core imports neither.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid

from aiohttp import web
from redis.exceptions import RedisError

from bridge import logs
from bridge.config import Settings
from bridge.contracts import Adapter, Behind, Connected, Quiets, Serves, WebRoute
from bridge.control import Control
from bridge.deadlines import ReplyLimits
from bridge.dispatch import Dispatcher
from bridge.hub import Hub
from bridge.inbox import Inbox
from bridge.keys import Keys
from bridge.lag import LagGate, sample
from bridge.metrics import REDIS_GAUGES_SECONDS, Cached, Metrics
from bridge.outage import Outage
from bridge.pacing import EditBudget
from bridge.plugins import adapter_plugins, messengers
from bridge.provider_check import confirm_credentials
from bridge.redis_conn import RedisHandle, connect
from bridge.registry import Providers, Surfaces
from bridge.store import Store
from bridge.turn import Turns
from bridge.web import make_app, serve

log = logging.getLogger(__name__)

READY_TIMEOUT = 2.0
"""A readiness probe or a scrape never waits longer than this on Redis."""


def _add_routes(app: web.Application, routes: list[WebRoute]) -> None:
    """An adapter's routes on the bridge's HTTP port (a GET answers HEAD too, as aiohttp's
    `add_get` does)."""
    for route in routes:
        if route.method.upper() == "GET":
            app.router.add_get(route.path, route.handler)
        else:
            app.router.add_route(route.method, route.path, route.handler)


class Runtime:
    """One process of the bridge; `start` brings it up, `stop` hands its work over cleanly."""

    def __init__(self, settings: Settings, adapters: list[Adapter] | None = None) -> None:
        """`adapters`: the messengers to run, else the installed ones their settings enable."""
        self.settings = settings
        if adapters is None:
            missing: list[str] = []
            adapters = messengers(adapter_plugins(missing), missing)
        self.adapters = adapters
        logs.hush(name for a in adapters if isinstance(a, Quiets) for name in a.quiet_loggers)
        self._surfaces = Surfaces(self.adapters)
        self.consumer = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.http_port = 0
        self._redis: RedisHandle | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.providers: Providers | None = None
        self.dispatcher: Dispatcher | None = None
        self.store: Store | None = None
        self.metrics = Metrics()
        self._inbox: Inbox | None = None
        self._backlog: Cached[tuple[int, float | None]] | None = None
        self.draining = False
        self.gate: LagGate | None = None

    async def start(self) -> None:
        s = self.settings
        self._redis = await connect(s)
        redis = self._redis.client
        keys = Keys(s.bridge_redis_prefix)
        self.store = store = Store(redis, keys, s.thread_ttl, self._redis.lease_client)
        self._inbox = inbox = Inbox(redis, keys, s.bridge_inbox_shards, s.thread_ttl)
        await inbox.ensure_groups()
        self._backlog = Cached(inbox.backlog, REDIS_GAUGES_SECONDS)
        idle_ms = int(s.bridge_consumer_idle_hours * 3600 * 1000)
        removed = await inbox.prune_consumers(idle_ms, keep=self.consumer)
        if removed:
            log.info("removed %d inbox consumers of stopped processes", removed)
        budget = EditBudget(redis, keys, self.metrics)
        waits = self.metrics.provider_connection_wait.observe
        self.providers = Providers(s, store.thread_state, waits)
        default = self.providers.default
        await confirm_credentials(default, self.providers.get(default))
        control = Control(redis, keys)
        limits = ReplyLimits.from_settings(s)
        turns = Turns(store, budget, self.providers, self._surfaces, self.metrics, limits)
        turns.locale = s.bridge_locale
        turns.show_reasoning = s.bridge_show_reasoning
        outage = Outage()
        self.gate = gate = LagGate(
            s.bridge_max_loop_lag_seconds, behind_limit=s.bridge_max_gateway_lag_seconds
        )
        behind = [a for a in self.adapters if isinstance(a, Behind)]
        self._tasks.append(asyncio.create_task(sample(gate, self.metrics, behind), name="loop-lag"))
        self.dispatcher = Dispatcher(
            store, inbox, turns, control, self.consumer, s, outage, self.metrics, gate
        )
        app = make_app(self.metrics, self.unready, self._refresh_metrics)
        hub = Hub(s, store, inbox, budget, self.providers, control, self.metrics, outage)
        for adapter in self.adapters:
            await adapter.start(hub.for_adapter(adapter.platform))
            if isinstance(adapter, Serves):
                _add_routes(app, adapter.routes())
        self._runner, self.http_port = await serve(app, s.bridge_http_port)
        self.dispatcher.start()
        dispatcher = self.dispatcher
        self._tasks.append(
            asyncio.create_task(control.listen(dispatcher.stop_reply), name="control")
        )
        platforms = ", ".join(self._surfaces.platforms)
        log.info("threadbridge is up: %s, provider %s", platforms, self.providers.default)

    async def stop(self, grace: float = 25.0) -> None:
        """Stop taking posts, let running replies finish for `grace` seconds, then close."""
        deadline = time.monotonic() + grace
        self.draining = True
        if self.dispatcher is not None:
            await self.dispatcher.shutdown(deadline)
        if self._inbox is not None:
            try:
                await self._inbox.leave(self.consumer)
            except RedisError as exc:
                log.warning("could not remove this process's inbox consumer: %s", exc)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for adapter in self.adapters:
            try:
                await adapter.stop()
            except Exception as exc:
                log.warning("stopping %s: %s", adapter.platform, exc)
        if self._runner is not None:
            await self._runner.cleanup()
        if self.providers is not None:
            await self.providers.aclose()
        if self._redis is not None:
            await self._redis.aclose()

    async def unready(self) -> str | None:
        """None when this process can take work; else why not (for /readyz)."""
        if self.draining:
            return "draining"
        for adapter in self.adapters:
            if isinstance(adapter, Connected) and not await adapter.connected():
                return f"{adapter.platform} is not connected"
        if self._redis is None:
            return "starting"
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                await self._redis.client.ping()
        except (RedisError, OSError, TimeoutError) as exc:
            return f"redis does not answer ({type(exc).__name__})"
        return None

    async def _refresh_metrics(self) -> None:
        """Gauges read at scrape time: busy threads, the inbox backlog, Redis up (the last two
        from Redis at most once per REDIS_GAUGES_SECONDS)."""
        self.metrics.busy_threads.set(self.dispatcher.busy if self.dispatcher else 0)
        if self._backlog is None:
            return
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                pending, oldest = await self._backlog.get()
        except (RedisError, OSError, TimeoutError):
            self.metrics.redis_up.set(0)
            return
        self.metrics.redis_up.set(1)
        self.metrics.inbox_pending.set(pending)
        age = max(0.0, time.time() - oldest) if oldest is not None else 0.0
        self.metrics.inbox_oldest_pending_age.set(age)
