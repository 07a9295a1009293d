"""One host's worker: the queue's Worker with this host's job verbs and whole commands.

Every entry is checked before it runs: a job whose signature is missing, wrong or stale
(bot.jobs.queue.signing) fails with the reason, is counted and audited, and touches
nothing.  Commands and clicks forwarded by serve arrive as ``command`` jobs; the runner
answers them in full, next to the engine.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import redis.asyncio as aioredis

from bot.engine.gateway import DockerGateway
from bot.errors import UserError
from bot.jobs.crash_checks import crash_checks_for
from bot.jobs.inbox import COMMAND_VERB, entry_of
from bot.jobs.queue import Cancellable, JobContext, JobHandler, Worker
from bot.jobs.queue.redisio import honour_lost_cancel
from bot.jobs.queue.signing import COMMAND_TTL, JOB_TTL, Rejected, Signer
from bot.jobs.runner import CommandRunner
from bot.jobs.streams.desk import StreamDesk
from bot.jobs.verbs import engine_info
from bot.jobs.watcher.intents import Intents, marking
from bot.jobs.watcher.watcher import Watcher
from bot.ops.audit import AuditLog, AuditRecord
from bot.ops.metrics import Metrics

log = logging.getLogger(__name__)

T = TypeVar("T")

INFO_EVERY = 10.0
SWEEP_EVERY = 3.0


class HostWorker:
    def __init__(
        self,
        *,
        host: str,
        redis: aioredis.Redis,
        docker: DockerGateway,
        runner: CommandRunner,
        verbs: Mapping[str, JobHandler],
        signer: Signer,
        audit: AuditLog,
        metrics: Metrics,
        heartbeat: float = 1.0,
        claim_idle: float = 5.0,
        concurrency: int = 16,
        clock: Callable[[], float] = time.time,
        closers: tuple[Callable[[], Awaitable[None]], ...] = (),
        watcher: Watcher | None = None,
        streams: StreamDesk | None = None,
    ) -> None:
        self.host = host
        self.redis = redis
        self.docker = docker
        self.runner = runner
        self.signer = signer
        self.audit = audit
        self.metrics = metrics
        self.clock = clock
        self._closers = closers
        # The crash watcher (bot/jobs/watcher), a side task of this worker; every job marks
        # its target while it runs, so the stop it causes is not reported as a crash.
        self.watcher = watcher
        # Live streams (logs -f, attach, stats, events): tasks of this worker beside its jobs.
        self.streams = streams
        intents = Intents(redis, host) if watcher is not None else None
        handlers: dict[str, JobHandler] = {
            verb: self._verified_handler(marking(h, intents)) for verb, h in verbs.items()
        }
        handlers[COMMAND_VERB] = self._verified(self._answer)
        # What to look at before a job whose worker died is re-run or reported (the container's
        # StartedAt, state, events), checked like a handler: an entry that fails its signature
        # check is trusted with nothing.
        checks = {verb: self._verified(check) for verb, check in crash_checks_for(docker).items() if verb in verbs}
        self.worker = Worker(
            redis,
            host,
            handlers,
            concurrency=concurrency,
            heartbeat=heartbeat,
            claim_idle=claim_idle,
            clock=clock,
            crash_checks=checks,
        )
        self._info_task: asyncio.Task[None] | None = None

    def _verified_handler(self, handler: JobHandler) -> JobHandler:
        """The signature check around a job verb; a Cancellable stays Cancellable, or the
        worker would never stop it for a cancel."""
        if isinstance(handler, Cancellable):
            return Cancellable(self._verified(handler.handler), handler.effect)
        return self._verified(handler)

    def _verified(self, handler: Callable[[JobContext], Awaitable[T]]) -> Callable[[JobContext], Awaitable[T]]:
        async def run(ctx: JobContext) -> T:
            job = ctx.job
            try:
                if job.host != self.host:
                    raise Rejected(f"rejected: the entry is for host {job.host!r}, this worker serves {self.host!r}")
                ttl = COMMAND_TTL if job.verb == COMMAND_VERB else JOB_TTL
                self.signer.verify(job, now=self.clock(), ttl=ttl)
            except Rejected as err:
                await self._audit_rejection(ctx, str(err))
                raise UserError(str(err)) from None
            return await handler(ctx)

        return run

    async def _audit_rejection(self, ctx: JobContext, reason: str) -> None:
        job = ctx.job
        self.metrics.rejected_entries.inc()
        log.warning("job %s (%s %s) %s", job.id, job.verb, job.target, reason)
        await self.audit.record(
            AuditRecord(
                time=self.clock(),
                user_id=job.requester.user_id,  # as claimed by the entry: not an identity
                user_name="",
                channel_id=job.requester.channel_id,
                command=str(job.args.get("text") or job.args.get("command") or job.verb)[:500],
                host=self.host,
                target=job.target,
                decision="deny",
                rule="queue entry check",
                outcome=reason,
                duration_ms=0,
                job_id=job.id,
            )
        )

    async def _answer(self, ctx: JobContext) -> str:
        job, entry = ctx.job, entry_of(ctx.job)
        url = job.reply_to.response_url
        if entry.kind == "click":
            await self.runner.handle_click(
                job.requester,
                entry.action,
                entry.value,
                url,
                trigger_id=entry.trigger_id,
                reason=entry.reason,
                thread_ts=entry.thread_ts,
            )
        else:
            await self.runner.handle_command(job.requester, entry.text, url, subject=entry.subject)
        return "answered"

    async def _refresh_info(self) -> None:
        while True:
            honour_lost_cancel()
            self.worker.info = await engine_info(self.docker)
            await asyncio.sleep(INFO_EVERY)

    async def _sweep(self) -> None:
        while True:
            honour_lost_cancel()  # a stop that redis-py swallowed must still end this loop
            try:
                await self.runner.s.jobs.sweep(self.host)
            except Exception as err:  # Redis down: the next sweep catches up
                log.debug("sweep failed: %s", err)
            if self.streams is not None:  # end, in their threads, the streams of a worker that died
                try:
                    await self.streams.sweep()
                except Exception as err:
                    log.debug("stream sweep failed: %s", err)
            approvals = self.runner.s.approvals
            if approvals is not None:  # expire this host's requests; start approved ones nobody started
                try:
                    await approvals.sweep(self.host, self.runner.handle_command)
                except Exception as err:
                    log.debug("approval sweep failed: %s", err)
            await asyncio.sleep(SWEEP_EVERY)

    async def run(self) -> None:
        side = [
            asyncio.create_task(self._refresh_info(), name=f"engine info {self.host}"),
            asyncio.create_task(self._sweep(), name=f"sweep {self.host}"),
        ]
        if self.watcher is not None:
            side.append(asyncio.create_task(self.watcher.run(), name=f"watcher {self.host}"))
        try:
            await self.worker.run()
        finally:
            for task in side:
                task.cancel()
            await asyncio.gather(*side, return_exceptions=True)

    async def stop(self, drain_timeout: float = 30.0) -> None:
        if self.streams is not None:  # each thread says the stream ended, and why, before the worker goes
            await self.streams.close()
        await self.worker.stop(drain_timeout)

    async def close(self) -> None:
        for close in self._closers:
            await close()
