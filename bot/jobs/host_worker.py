"""One host's worker: the queue's Worker, the Docker handlers for that host, and its heartbeat info.

`dockbell worker --host NAME` runs one next to each engine; `dockbell serve` embeds one for
the default host unless told `--no-worker`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.bootstrap import build_services
from bot.config import Config
from bot.core.redisconn import redis_client
from bot.core.types import Requester
from bot.engine.hosts import DockerHosts
from bot.jobs.desk import COMMAND_VERB
from bot.jobs.queue import JobContext, Worker
from bot.jobs.runner import CommandService
from bot.jobs.verbs import engine_info, handlers_for
from bot.slack.out import SlackOut

log = logging.getLogger(__name__)

INFO_EVERY = 10.0


class HostWorker:
    def __init__(
        self,
        config: Config,
        host: str,
        *,
        redis_url: str,
        docker_host_env: str | None = None,
        heartbeat: float = 1.0,
        claim_idle: float = 5.0,
        concurrency: int = 4,
        slack: SlackOut | None = None,
    ) -> None:
        self.hosts = DockerHosts(config, docker_host_env, served=host)
        self.hosts.check(host)
        self.host = host
        self.redis = redis_client(redis_url)
        self.docker = self.hosts.gateway(host)
        handlers = handlers_for(self.docker)
        self.service: CommandService | None = None
        if slack is not None:
            # Whole commands for this host, forwarded by a `serve` that cannot reach its engine.
            self.service = CommandService(build_services(config, self.hosts, slack, self.redis))
            handlers[COMMAND_VERB] = self._answer_command
        self.worker = Worker(
            self.redis,
            host,
            handlers,
            concurrency=concurrency,
            heartbeat=heartbeat,
            claim_idle=claim_idle,
        )
        self._info_task: asyncio.Task[None] | None = None

    async def _answer_command(self, ctx: JobContext) -> str:
        assert self.service is not None
        args = ctx.job.args
        requester = Requester(
            user_id=ctx.job.requester.user_id,
            channel_id=ctx.job.requester.channel_id,
            team_id=str(args.get("team_id", "")),
            user_name=str(args.get("user_name", "")),
        )
        await self.service.handle_command(requester, str(args["text"]), ctx.job.requester.response_url)
        return "answered"

    async def _refresh_info(self) -> None:
        while True:
            self.worker.info = await engine_info(self.docker)
            await asyncio.sleep(INFO_EVERY)

    async def run(self) -> None:
        self._info_task = asyncio.create_task(self._refresh_info(), name=f"engine info {self.host}")
        try:
            await self.worker.run()
        finally:
            self._info_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._info_task

    async def stop(self, drain_timeout: float = 30.0) -> None:
        await self.worker.stop(drain_timeout)

    async def close(self) -> None:
        if self.service is not None:
            await self.service.s.jobs.close()
        await self.hosts.close()
        await self.redis.aclose()
