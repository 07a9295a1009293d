"""The Slack side of jobs: queue a job, post its status message, keep that message current.

One message per job, posted in the channel where the command was typed and edited in
place as the job moves: queued (position) -> waiting (behind whom) -> running (progress)
-> succeeded / failed / cancelled / interrupted, with a Cancel button only while a cancel
can still take effect (queued; running only for a verb a cancel can stop, see
bot/jobs/verbs.py).  The message follows the job through Redis pub/sub, so it is right
whichever worker, on whichever machine, runs the job.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable

import redis.asyncio as aioredis

from bot.errors import ServiceUnavailable, SlackRefused
from bot.jobs.inbox import COMMAND_VERB
from bot.jobs.queue import Job, JobQueue, JobStatus, host_is_live
from bot.jobs.verbs import cancellable_while_running
from bot.ops.audit import AuditLog, AuditRecord
from bot.slack import render
from bot.slack.out import SlackOut

log = logging.getLogger(__name__)

# A job's final state was shown in its message (by its follower or by a sweep).
SHOWN = "dockbell:shown:"
SHOWN_TTL = 2 * 86400  # past the queue's retention of finished jobs (a day)
SWEEP_LIMIT = 200
UPDATE_EVERY = 1.0  # Slack: about one chat.update per second per message


class JobDesk:
    def __init__(
        self,
        queue: JobQueue,
        redis: aioredis.Redis,
        slack: SlackOut,
        audit: AuditLog | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.audit = audit
        self.queue = queue
        self.redis = redis
        self.slack = slack
        self.clock = clock
        self._followers: set[asyncio.Task[None]] = set()

    async def require_live(self, host: str) -> None:
        """Fail fast, saying why, rather than queue work that nobody will pick up."""
        if not await host_is_live(self.redis, host):
            raise ServiceUnavailable(
                f"host `{host}` has no live worker, so nothing can run there now "
                f"(start one with `dockbell worker --host {host}`; `/docker hosts` shows them all)."
            )

    async def submit(self, job: Job) -> tuple[Job, bool]:
        """Queue ``job`` and post its status message; (the first job, False) when it was queued already.

        The caller derives the id with ``job_id_for`` from the request's response_url: Slack
        gives each invocation its own, so a retry or a double submission finds the first job.
        """
        await self.require_live(job.host)
        existing = await self.queue.get(job.id)
        if existing is not None:
            return existing, False
        job = dataclasses.replace(job, cancellable_running=cancellable_while_running(job.verb))
        ts = await self._post_status(job)
        job = dataclasses.replace(job, reply_to=dataclasses.replace(job.reply_to, thread_ts=ts))
        stored, created = await self.queue.enqueue(job)
        if not created and ts:
            with contextlib.suppress(SlackRefused):
                await self.slack.delete_message(job.reply_to.channel_id, ts)
        if created:
            self.follow(stored)
        return stored, created

    async def _post_status(self, job: Job) -> str:
        message = render.job_message(job, position=0)
        try:
            return await self.slack.post_message(job.reply_to.channel_id, message)
        except SlackRefused as err:
            if err.code in ("not_in_channel", "channel_not_found", "is_archived"):
                return ""  # no live status in the channel: the outcome goes to the requester instead
            raise

    def follow(self, job: Job) -> None:
        task = asyncio.create_task(self._follow(job), name=f"follow {job.id}")
        self._followers.add(task)
        task.add_done_callback(self._followers.discard)

    async def _follow(self, job: Job) -> None:
        """Edit the message on every change of state at once; progress at most once a second,
        the latest always shown in the end (a pending progress edit is flushed, not dropped)."""
        shown: tuple[str, object, str | None] | None = None
        last_sent = 0.0
        pending: asyncio.Task[None] | None = None

        async def flush_later(latest: Job, delay: float) -> None:
            nonlocal last_sent
            await asyncio.sleep(delay)
            last_sent = time.monotonic()
            await self.show(latest)

        try:
            async with contextlib.aclosing(self.queue.watch(job.id)) as changes:
                async for latest in changes:
                    # A change of state, or a cancel request (which may take the Cancel
                    # button away or say it came too late), is shown at once.
                    state = (str(latest.status), latest.progress.get("waiting_for"), latest.cancel_requested_by)
                    if pending is not None:
                        pending.cancel()
                        pending = None
                    wait = UPDATE_EVERY - (time.monotonic() - last_sent)
                    if state != shown or wait <= 0:
                        shown = state
                        last_sent = time.monotonic()
                        await self.show(latest)
                    if latest.finished:
                        await self._mark_shown(latest)
                        await self._audit_outcome(latest)
                    else:
                        pending = asyncio.create_task(flush_later(latest, wait))
        except Exception:  # CancelledError is not an Exception: cancellation still propagates
            log.exception("lost track of job %s", job.id)
        finally:
            if pending is not None:
                pending.cancel()

    async def _audit_outcome(self, job: Job) -> None:
        """A second audit record when a job ends: the command's record says it was queued."""
        if self.audit is None:
            return
        took = (job.finished_at or 0) - (job.started_at or job.finished_at or 0)
        await self.audit.record(
            AuditRecord(
                time=self.clock(),
                user_id=job.requester.user_id,
                user_name="",
                channel_id=job.requester.channel_id,
                command=str(job.args.get("command", job.verb)),
                host=job.host,
                target=f"{'image' if job.verb == 'pull' else 'container'} {job.args.get('target_name', job.target)}",
                decision="allow",
                rule=_finish_rule(job),
                outcome=f"job {job.status}",
                duration_ms=round(took * 1000),
                job_id=job.id,
            )
        )

    async def show(self, job: Job) -> bool:
        """Bring the job's message to ``job``'s state; False when Slack could not be told."""
        position = await self.queue.position(job) if job.status is JobStatus.QUEUED else 0
        message = render.job_message(job, position=position)
        ts, channel = job.reply_to.thread_ts, job.reply_to.channel_id
        try:
            if ts:
                await self.slack.update_message(channel, ts, message)
            elif job.finished and job.reply_to.response_url:
                await self.slack.respond(job.reply_to.response_url, {**message, "response_type": "ephemeral"})
        except Exception as err:
            log.warning("could not update the status of job %s: %s", job.id, err)
            return False
        return True

    async def _mark_shown(self, job: Job) -> None:
        with contextlib.suppress(Exception):  # unmarked, the sweeper shows it once more: harmless
            await self.redis.set(SHOWN + job.id, "1", ex=SHOWN_TTL)

    async def sweep(self, host: str) -> int:
        """Finish the message of every recent job of ``host`` whose end nobody showed.

        A follower lives in the process that queued the job; when that process died (a
        worker's kill -9) or lost Redis mid-job, the job still ends, but its message would
        stay at "running" forever.  Every worker sweeps its host's recent jobs.
        """
        fixed = 0
        for job in await self.queue.list(host, limit=SWEEP_LIMIT):
            if not job.finished or job.verb == COMMAND_VERB or await self.redis.exists(SHOWN + job.id):
                continue
            if await self.show(job):
                await self._mark_shown(job)
                fixed += 1
        return fixed

    async def close(self) -> None:
        for task in list(self._followers):
            task.cancel()
        await asyncio.gather(*self._followers, return_exceptions=True)


def _finish_rule(job: Job) -> str:
    """The audit's note on how a job ended; a cancel that came too late is no cancel."""
    if job.cancel_requested_by is None:
        return "job finished"
    if job.status is JobStatus.CANCELLED:
        return f"job finished (cancelled by {job.cancel_requested_by})"
    return f"job finished (cancel by {job.cancel_requested_by} came too late)"
