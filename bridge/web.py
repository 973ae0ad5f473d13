"""The process's HTTP server: health, metrics, and any routes adapters add (Slack HTTP mode)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web


def make_app(metrics: Callable[[], dict[str, float]]) -> web.Application:
    app = web.Application()

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def metrics_view(_: web.Request) -> web.Response:
        lines = [f"threadbridge_{name} {value}" for name, value in sorted(metrics().items())]
        return web.Response(text="\n".join(lines) + "\n")

    app.router.add_get("/healthz", healthz)
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
