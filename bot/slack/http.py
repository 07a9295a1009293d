"""The dockbell process: wiring, the HTTP server (/slack/events, /healthz, /metrics), Socket Mode."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp

from bot.bootstrap import build_services
from bot.config import Config
from bot.core.redisconn import redis_client
from bot.engine.hosts import DockerHosts
from bot.jobs.host_worker import HostWorker
from bot.jobs.runner import CommandService, Services
from bot.ops.health import HealthChecker
from bot.settings import Settings
from bot.slack.listeners import bolt_request, build_bolt_app
from bot.slack.out import SlackOut, web_client
from bot.workloop import WorkLoop

log = logging.getLogger(__name__)


@dataclass
class Dockbell:
    settings: Settings
    config: Config
    services: Services
    bolt: AsyncApp
    health: HealthChecker
    redis: aioredis.Redis
    work: WorkLoop
    work_redis: aioredis.Redis
    embedded: HostWorker | None = None
    _runner: web.AppRunner | None = None
    _socket_handler: Any = None

    @classmethod
    def build(
        cls,
        settings: Settings,
        config: Config,
        *,
        embed_worker: bool = False,
        worker_heartbeat: float = 1.0,
        worker_claim_idle: float = 5.0,
    ) -> Dockbell:
        client = web_client(settings.slack_bot_token, settings.slack_api_url)
        redis = redis_client(settings.redis_url)
        # Used only on the work loop: a redis.asyncio pool belongs to the loop that first uses it.
        work_redis = redis_client(settings.redis_url)
        work = WorkLoop()
        hosts = DockerHosts(config, settings.docker_host)
        docker = hosts.gateway()
        slack = SlackOut(client)
        services = build_services(config, hosts, slack, work_redis)
        bolt = build_bolt_app(
            client=client,
            signing_secret=settings.slack_signing_secret,
            service=CommandService(services),
            work=work,
            socket_mode=settings.socket_mode,
        )
        health = HealthChecker(docker, redis, slack, settings.redis_url)
        embedded = (
            HostWorker(
                config,
                config.host,
                redis_url=settings.redis_url,
                docker_host_env=settings.docker_host,
                heartbeat=worker_heartbeat,
                claim_idle=worker_claim_idle,
            )
            if embed_worker
            else None
        )
        return cls(settings, config, services, bolt, health, redis, work, work_redis, embedded)

    def web_app(self) -> web.Application:
        app = web.Application()
        if not self.settings.socket_mode:
            # In Socket Mode requests are not signed; an open HTTP endpoint would be unauthenticated.
            app.router.add_post("/slack/events", self._slack_events)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        return app

    async def _slack_events(self, request: web.Request) -> web.Response:
        body = await request.text()
        bolt_req = bolt_request(body, request.query_string, dict(request.headers))
        bolt_resp = await self.bolt.async_dispatch(bolt_req)
        return await to_aiohttp_response(bolt_resp)

    async def _healthz(self, request: web.Request) -> web.Response:
        report = await self.health.report()
        if not report["ok"]:
            self.services.metrics.down.inc(
                component=",".join(k for k, v in report.items() if k != "ok" and not v["ok"])
            )
        return web.json_response(report, status=200 if report["ok"] else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            text=self.services.metrics.expose(),
            content_type="text/plain",
            charset="utf-8",
            headers={"X-Content-Type-Options": "nosniff"},
        )

    async def start(self, host: str = "0.0.0.0", port: int = 3000) -> int:
        self.work.start()
        if self.embedded is not None:
            # On the work loop: its Redis and Docker clients belong there, away from the acks.
            self._embedded_run = self.work.submit(self.embedded.run())
        self._runner = web.AppRunner(self.web_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = port
        server = getattr(site, "_server", None)
        if server is not None and server.sockets:
            bound = server.sockets[0].getsockname()[1]
        if self.settings.socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            self._socket_handler = AsyncSocketModeHandler(self.bolt, self.settings.slack_app_token)
            await self._socket_handler.connect_async()
        log.info(
            "dockbell listening on %s:%s (%s mode)", host, bound, "Socket" if self.settings.socket_mode else "HTTP"
        )
        return int(bound)

    async def stop(self) -> None:
        if self._socket_handler is not None:
            await self._socket_handler.close_async()
        if self._runner is not None:
            await self._runner.cleanup()
        if self.work.started:
            if self.embedded is not None:
                await self.work.call(self.embedded.stop(drain_timeout=10.0))
                await self.work.call(self.embedded.close())
            await self.work.call(self.services.jobs.close())
            await self.work.call(self.work_redis.aclose())
        await self.work.stop()
        await self.services.hosts.close()
        await self.redis.aclose()
