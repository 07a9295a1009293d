"""The one place that builds serve: the Slack-facing process, which never imports docker.

An import-linter contract (and a test that imports this module in a fresh interpreter)
keeps docker-py out of everything this module reaches.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
from dataclasses import dataclass

from bot.bootstrap.supervisor import WorkerSupervisor, child_env
from bot.config import Config
from bot.core.redisconn import redis_client
from bot.errors import ConfigError
from bot.jobs.inbox import Inbox
from bot.jobs.queue import JobQueue, live_workers
from bot.jobs.queue.signing import Signer
from bot.jobs.watcher.reachability import HostWatch
from bot.ops.health import Check, Readiness, Status, redis_check
from bot.ops.metrics import Metrics
from bot.settings import Settings
from bot.slack import render
from bot.slack.health import auth_check
from bot.slack.http import SlackFront
from bot.slack.listeners import Handoff, build_bolt_app
from bot.slack.out import SlackOut, web_client
from bot.slack.paced import PacedSlack
from bot.slack.socket_link import LinkOpener

log = logging.getLogger(__name__)


@dataclass
class ServeProcess:
    front: SlackFront
    supervisor: WorkerSupervisor | None
    # Posts "host unreachable" when a host's workers stop heartbeating (bot/jobs/watcher/reachability.py).
    host_watch: HostWatch | None = None
    _host_watch_task: asyncio.Task[None] | None = None

    async def start(self, bind: str, port: int) -> int:
        try:
            bound = await self.front.start(bind, port)
        except BaseException:
            await self.front.stop()  # a refused app token: close what was opened, then say why
            raise
        if self.supervisor is not None:
            self.supervisor.start()
        if self.host_watch is not None:
            self._host_watch_task = asyncio.create_task(self.host_watch.run(), name="host reachability")
        return bound

    async def stop(self) -> None:
        if self._host_watch_task is not None:
            self._host_watch_task.cancel()
            await asyncio.gather(self._host_watch_task, return_exceptions=True)
            if self.host_watch is not None:
                await self.host_watch.redis.aclose()
        if self.supervisor is not None:
            await self.supervisor.stop()
        await self.front.stop()


def workers_check(queue: JobQueue, host: str) -> Check:
    async def run() -> Status:
        found = await live_workers(queue.redis, host)
        if not found:
            return Status(False, f"no live worker for host {host} (no heartbeat in the last 3 s)")
        return Status(True, f"{len(found)} live worker(s) for host {host}")

    return run


def build_front(settings: Settings, config: Config, queue_secret: str) -> SlackFront:
    client = web_client(settings.slack_bot_token, settings.slack_api_url)
    slack = SlackOut(client)
    redis = redis_client(settings.redis_url)
    queue = JobQueue(redis, signer=Signer.from_secret(queue_secret))
    metrics = Metrics()

    async def answer(response_url: str, text: str) -> None:
        try:
            await slack.respond(response_url, render.plain_notice(text))  # may quote what was typed
        except Exception:
            log.exception("could not answer through response_url")

    inbox = Inbox(config, queue, answer)
    handoff = Handoff()
    bolt = build_bolt_app(
        client=client,
        signing_secret=settings.slack_signing_secret,
        inbox=inbox,
        metrics=metrics,
        handoff=handoff,
        socket_mode=settings.socket_mode,
    )
    checks: dict[str, Check] = {"redis": redis_check(redis, settings.redis_url), "slack": auth_check(slack)}
    for host in config.hosts:
        checks[f"worker:{host.name}"] = workers_check(queue, host.name)
    opener = LinkOpener(settings.slack_app_token) if settings.slack_app_token else None
    if opener is not None:
        checks["slack_link"] = opener.check  # 503 once the link has been down past a short grace
    readiness = Readiness(checks, on_failure=lambda dep: metrics.health_failures.labels(dependency=dep).inc())
    front = SlackFront(
        bolt=bolt,
        readiness=readiness,
        metrics=metrics,
        socket_mode=settings.socket_mode,
        open_socket=opener.open if opener is not None else None,
    )
    front.closers += [handoff.drain, slack.close, redis.aclose]
    return front


def build_serve(settings: Settings, config: Config, *, embed_worker: bool) -> ServeProcess:
    settings.require_serving()
    secret = settings.queue_secret
    if not secret:
        if not embed_worker:
            raise ConfigError(
                "DOCKBELL_QUEUE_SECRET is required when workers run separately (--no-worker): "
                "serve and every worker must share it"
            )
        # Only serve and its own child need it: a fresh one per start is enough.
        secret = secrets.token_hex(32)
    supervisor = None
    if embed_worker:
        env = child_env(os.environ, {"DOCKBELL_QUEUE_SECRET": secret})
        supervisor = WorkerSupervisor(config.host, env)
    host_watch = None
    if config.notifications is not None:
        paced = PacedSlack(settings.slack_bot_token, settings.slack_api_url)
        host_watch = HostWatch(redis_client(settings.redis_url), paced, config)
    return ServeProcess(build_front(settings, config, secret), supervisor, host_watch)


async def run_serve(settings: Settings, config: Config, bind: str, port: int, *, embed_worker: bool) -> None:
    proc = build_serve(settings, config, embed_worker=embed_worker)
    await proc.start(bind, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await proc.stop()
