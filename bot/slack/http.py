"""Serve's HTTP side: POST /slack/events (HTTP mode) or the Socket Mode link, plus /livez, /healthz, /metrics."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp

from bot.ops.health import Readiness
from bot.ops.http import add_ops_routes, start_site
from bot.ops.metrics import Metrics
from bot.slack.listeners import bolt_request

log = logging.getLogger(__name__)


@dataclass
class SlackFront:
    bolt: AsyncApp
    readiness: Readiness
    metrics: Metrics
    socket_mode: bool
    # Opens the Socket Mode link (raising ConfigError when Slack refuses the app token) and returns its closer.
    open_socket: Callable[[AsyncApp], Awaitable[Callable[[], Awaitable[None]]]] | None = None
    _runner: web.AppRunner | None = None
    _close_socket: Callable[[], Awaitable[None]] | None = None
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def web_app(self) -> web.Application:
        app = web.Application()
        if not self.socket_mode:
            # In Socket Mode requests are not signed; an open HTTP endpoint would be unauthenticated.
            app.router.add_post("/slack/events", self._slack_events)
        add_ops_routes(app, self.readiness, self.metrics)
        return app

    async def _slack_events(self, request: web.Request) -> web.Response:
        body = await request.text()
        bolt_req = bolt_request(body, request.query_string, dict(request.headers))
        bolt_resp = await self.bolt.async_dispatch(bolt_req)
        return await to_aiohttp_response(bolt_resp)

    async def start(self, host: str = "0.0.0.0", port: int = 3000) -> int:
        if self.socket_mode and self.open_socket is not None:
            # Before listening: a refused app token must stop serve at start, not loop forever.
            self._close_socket = await self.open_socket(self.bolt)
        self._runner, bound = await start_site(self.web_app(), host, port)
        log.info("dockbell serve listening on %s:%s (%s mode)", host, bound, "Socket" if self.socket_mode else "HTTP")
        return bound

    async def stop(self) -> None:
        if self._close_socket is not None:
            await self._close_socket()
        if self._runner is not None:
            await self._runner.cleanup()
        for close in reversed(self.closers):
            await close()
