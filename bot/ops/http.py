"""/livez, /healthz and /metrics on an aiohttp app: the same three routes on serve and on every worker."""

from __future__ import annotations

from aiohttp import web

from bot.ops.health import Readiness
from bot.ops.metrics import CONTENT_TYPE, Metrics


def add_ops_routes(app: web.Application, readiness: Readiness, metrics: Metrics) -> None:
    async def livez(request: web.Request) -> web.Response:
        # Answering at all is the proof: the event loop is not stuck.
        return web.json_response({"ok": True})

    async def healthz(request: web.Request) -> web.Response:
        report = await readiness.report()
        return web.json_response(report, status=200 if report["ok"] else 503)

    async def metrics_route(request: web.Request) -> web.Response:
        return web.Response(
            body=metrics.expose(),
            headers={"Content-Type": CONTENT_TYPE, "X-Content-Type-Options": "nosniff"},
        )

    app.router.add_get("/livez", livez)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_route)


async def start_site(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start serving ``app``; the bound port (``port`` 0 picks a free one)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = getattr(site, "_server", None)
    bound = server.sockets[0].getsockname()[1] if server is not None and server.sockets else port
    return runner, int(bound)
