"""The process's HTTP server: liveness, readiness, metrics, and any routes adapters add
(Slack HTTP mode)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from bridge.metrics import CONTENT_TYPE, Metrics

Readiness = Callable[[], Awaitable[str | None]]
"""None when the process can take work, else a short reason it cannot."""
Refresh = Callable[[], Awaitable[None]]


def make_app(metrics: Metrics, ready: Readiness, refresh: Refresh) -> web.Application:
    app = web.Application()

    async def healthz(_: web.Request) -> web.Response:
        """Alive: the event loop answers. Nothing external is asked."""
        return web.json_response({"ok": True})

    async def readyz(_: web.Request) -> web.Response:
        reason = await ready()
        if reason is None:
            return web.json_response({"ready": True})
        return web.json_response({"ready": False, "reason": reason}, status=503)

    async def metrics_view(_: web.Request) -> web.Response:
        await refresh()
        return web.Response(body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_view)
    return app


async def serve(app: web.Application, port: int) -> tuple[web.AppRunner, int]:
    """Serve `app` on all interfaces at `port` (0 picks a free one); return the bound port."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, "0.0.0.0", port)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, int(bound)
