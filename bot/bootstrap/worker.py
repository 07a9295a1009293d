"""The one place that builds a worker: `dockbell worker --host NAME`, and tests that run one in-process."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass

from aiohttp import web

import handlers.access
import handlers.approvals
import handlers.compose
import handlers.containers
import handlers.containers_ops
import handlers.images
import handlers.images_ops
import handlers.jobs
import handlers.lifecycle
import handlers.networks
import handlers.notifications
import handlers.run
import handlers.streams
import handlers.system
import handlers.transfer
import handlers.volumes
from bot.config import Config
from bot.core.redisconn import redis_client
from bot.core.registry import Registry
from bot.core.shares import ShareStore
from bot.engine.hosts import DockerHosts
from bot.jobs.approval_flow import ApprovalFlow
from bot.jobs.approvals import ApprovalStore, Seal
from bot.jobs.desk import JobDesk
from bot.jobs.gate import Gate, GroupDirectory
from bot.jobs.host_worker import HostWorker
from bot.jobs.image_jobs import image_job_handlers
from bot.jobs.inbox import Inbox
from bot.jobs.queue import JobQueue
from bot.jobs.queue.signing import Signer
from bot.jobs.run_jobs import run_handlers
from bot.jobs.runner import CommandRunner, Services
from bot.jobs.streams.desk import StreamDesk
from bot.jobs.verbs import handlers_for
from bot.jobs.watcher.watcher import Watcher
from bot.ops.audit import AuditLog
from bot.ops.health import Readiness, redis_check
from bot.ops.http import add_ops_routes, start_site
from bot.ops.metrics import Metrics
from bot.settings import Settings
from bot.slack import render
from bot.slack.out import SlackOut, web_client
from bot.slack.paced import PacedSlack

log = logging.getLogger(__name__)

HANDLER_MODULES = (
    handlers.containers,
    handlers.containers_ops,
    handlers.images,
    handlers.images_ops,
    handlers.transfer,
    handlers.system,
    handlers.access,
    handlers.lifecycle,
    handlers.run,
    handlers.jobs,
    handlers.volumes,
    handlers.networks,
    handlers.compose,
    handlers.notifications,
    handlers.approvals,
    handlers.streams,
)


def build_registry() -> Registry:
    return Registry.from_modules(HANDLER_MODULES)


@dataclass
class WorkerProcess:
    worker: HostWorker
    readiness: Readiness
    metrics: Metrics
    _runner: web.AppRunner | None = None

    async def serve_ops(self, bind: str, port: int) -> int:
        """The worker's own /livez, /healthz and /metrics."""
        app = web.Application()
        add_ops_routes(app, self.readiness, self.metrics)
        self._runner, bound = await start_site(app, bind, port)
        return bound

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        await self.worker.close()


def build_worker(
    settings: Settings,
    config: Config,
    host: str,
    *,
    heartbeat: float = 1.0,
    claim_idle: float = 5.0,
    concurrency: int = 16,
) -> WorkerProcess:
    """Raises UserError for an unknown host, ConfigError for missing settings."""
    settings.require_working()
    hosts = DockerHosts(config, settings.docker_host, served=host)
    hosts.check(host, operator=True)  # the operator typed it: name the configured hosts
    redis = redis_client(settings.redis_url)
    slack = SlackOut(web_client(settings.slack_bot_token, settings.slack_api_url))
    signer = Signer.from_secret(settings.queue_secret)
    queue = JobQueue(redis, signer=signer)
    metrics = Metrics()
    audit = AuditLog(redis, max_entries=config.audit.max_entries, max_age_seconds=config.audit.max_age_seconds)
    docker = hosts.gateway(host)

    async def answer(response_url: str, text: str) -> None:
        await slack.respond(response_url, render.plain_notice(text))  # may quote what was typed

    groups = GroupDirectory(slack)
    desk = JobDesk(queue, redis, slack, audit)
    approvals = ApprovalFlow(ApprovalStore(redis, Seal(signer.key)), slack, audit, queue, groups)
    desk.on_approved_final.append(approvals.on_job_final)
    streams = StreamDesk(host=host, redis=redis, slack=slack, config=config.streams)
    services = Services(
        registry=build_registry(),
        hosts=hosts,
        slack=slack,
        shares=ShareStore(
            redis,
            config.output.share_ttl_seconds,
            host,
            max_bytes=config.output.share_max_bytes,
            store_bytes=config.output.share_store_bytes,
        ),
        config=config,
        metrics=metrics,
        gate=Gate(config.policy, hosts, groups),
        audit=audit,
        jobs=desk,
        inbox=Inbox(config, queue, answer),
        approvals=approvals,
        streams=streams,
    )
    watcher = None
    if config.notifications is not None:  # crash notifications: this host's watcher (bot/jobs/watcher)
        paced = PacedSlack(settings.slack_bot_token, settings.slack_api_url)
        watcher = Watcher(host=host, docker=docker, redis=redis, slack=paced, config=config.notifications)
    worker = HostWorker(
        host=host,
        redis=redis,
        docker=docker,
        runner=CommandRunner(services),
        verbs={
            **handlers_for(docker),
            **image_job_handlers(docker, slack, config.transfer, host),
            **run_handlers(docker, slack, config.run),
        },
        signer=signer,
        audit=audit,
        metrics=metrics,
        heartbeat=heartbeat,
        claim_idle=claim_idle,
        concurrency=concurrency,
        closers=(services.jobs.close, slack.close, hosts.close, redis.aclose),
        watcher=watcher,
        streams=streams,
    )
    readiness = Readiness(
        {"redis": redis_check(redis, settings.redis_url), "docker": docker.health},
        on_failure=lambda dep: metrics.health_failures.labels(dependency=dep).inc(),
    )
    return WorkerProcess(worker, readiness, metrics)


async def run_worker(settings: Settings, config: Config, host: str, *, bind: str, port: int | None) -> None:
    """Until SIGTERM or SIGINT: then stop claiming, drain, hand back (see bot.jobs.queue.worker)."""
    proc = build_worker(settings, config, host)
    try:
        if port is not None:
            bound = await proc.serve_ops(bind, port)
            log.info("worker for host %s: /livez, /healthz, /metrics on %s:%s", host, bind, bound)
        run = asyncio.create_task(proc.worker.run(), name=f"worker {host}")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        done, _ = await asyncio.wait({run, asyncio.create_task(stop.wait())}, return_when=asyncio.FIRST_COMPLETED)
        if run not in done:
            await proc.worker.stop()
        await run
    finally:
        await proc.close()
