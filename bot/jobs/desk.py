"""The Slack side of jobs: queue a job, post its status message, keep that message current.

One message per job, posted in the channel where the command was typed and edited in
place as the job moves: queued (position) -> waiting (behind whom) -> running (progress)
-> succeeded / failed / cancelled / interrupted, with a Cancel button only while a cancel
can still take effect (queued; running only for a verb a cancel can stop, see
bot/jobs/verbs.py).  The message follows the job through Redis pub/sub, so it is right
whichever worker, on whichever machine, runs the job.

Every message reaches its job's final state, once:

* its follower rides out a Redis outage: on any failure it waits (backoff) and watches
  again, which re-reads the job, so what pub/sub dropped meanwhile is not missed;
* a follower holds a lease (``dockbell:follower:<id>``, SET NX PX, refreshed every
  ``lease_ttl / 5`` s), so two processes never follow one job.  Every worker's ``sweep``
  takes over a queued or running job whose lease lapsed (its follower's process died),
  and shows the end of a finished job that nobody showed;
* the final state goes up under a claim (``dockbell:shown:<id>``, SET NX): whoever gets it
  shows it; nobody else does.  The outcome's audit record is written once, under a claim of
  its own, whether or not Slack can be told.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.core.types import ThreadRoute
from bot.errors import ServiceUnavailable, SlackRefused
from bot.jobs import approval_pass, job_thread
from bot.jobs.inbox import COMMAND_VERB
from bot.jobs.queue import Job, JobNotFound, JobQueue, JobStatus, Leases, QueueUnavailable, host_is_live
from bot.jobs.queue import keys as qkeys
from bot.jobs.threads import ThreadMap, ThreadSubject
from bot.jobs.verbs import cancellable_while_running
from bot.ops.audit import AuditLog, AuditRecord
from bot.slack import render
from bot.slack.out import SlackOut

log = logging.getLogger(__name__)

T = TypeVar("T")

SHOWN = qkeys.SHOWN  # "1": the job's final state is in its message; "showing": being put there
SHOWN_TTL = 2 * 86400  # past the queue's retention of finished jobs (a day)
SHOWING_TTL_MS = 30_000  # a claim whose holder died before showing lapses, and the sweep tries again
SWEEP_LIMIT = 200
UPDATE_EVERY = 1.0  # Slack: about one chat.update per second per message
LEASE_TTL = 10.0  # a dead follower's job is taken over this long (plus a sweep) after it died
RETRY_CAP = 5.0  # seconds, the longest wait between a follower's attempts to reach Redis
# Slack's refusals that may pass: the edit is tried again.  Any other (message_not_found,
# channel_not_found...) will not, and is logged and left.
TRANSIENT_REFUSALS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class JobDesk:
    def __init__(
        self,
        queue: JobQueue,
        redis: aioredis.Redis,
        slack: SlackOut,
        audit: AuditLog | None = None,
        clock: Callable[[], float] = time.time,
        *,
        lease_ttl: float = LEASE_TTL,
        holder: str | None = None,
    ) -> None:
        self.audit = audit
        self.queue = queue
        self.redis = redis
        self.slack = slack
        self.clock = clock
        self.leases = Leases(redis, qkeys.FOLLOWER, ttl=lease_ttl, holder=holder)
        self._lease_every = lease_ttl / 5
        self._followers: dict[str, asyncio.Task[None]] = {}
        self._keeper: asyncio.Task[None] | None = None
        # Called once a job that ran under an approval shows its final state (the request
        # message then shows the result): see bot/jobs/approval_flow.py.
        self.on_approved_final: list[Callable[[Job], Awaitable[None]]] = []

    @property
    def following(self) -> list[str]:
        """Ids of the jobs this desk follows now."""
        return list(self._followers)

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

        Every job of every handler passes here, so this is where an approved command's jobs
        are tied to their approval (bot/jobs/approval_pass.py): tagged with it, and with their
        status message in the request's thread.
        """
        await self.require_live(job.host)
        run = approval_pass.current()
        if run is not None:
            approved_by = ",".join(run.approvers)
            job = dataclasses.replace(job, approval_ref=run.approval_id, args={**job.args, "approved_by": approved_by})
        existing = await self.queue.get(job.id)
        if existing is not None:
            if run is not None:
                run.job_ids.append(existing.id)
            return existing, False
        job = dataclasses.replace(job, cancellable_running=cancellable_while_running(job.verb))
        ts = await self._post_status(job, thread_ts=_thread_for(job, run))
        job = dataclasses.replace(job, reply_to=dataclasses.replace(job.reply_to, thread_ts=ts))
        stored, created = await self.queue.enqueue(job)
        if not created and ts:
            with contextlib.suppress(SlackRefused):
                await self.slack.delete_message(job.reply_to.channel_id, ts)
        if created:
            self.follow(stored)
            await self._remember_subject(stored, ts)
        if run is not None:
            run.job_ids.append(stored.id)
        return stored, created

    async def _remember_subject(self, job: Job, ts: str) -> None:
        """A status message about one container starts a thread about it: a mention there may leave it out."""
        if ts and _target_kind(job) == "container" and _looks_like_id(job.target):
            subject = ThreadSubject(job.host, job.target, str(job.args.get("target_name", job.target)), "job")
            await ThreadMap(self.redis).remember(job.reply_to.channel_id, ts, subject)

    async def _post_status(self, job: Job, thread_ts: str = "") -> str:
        message = render.job_message(job, position=0)
        try:
            return await self.slack.post_message(job.reply_to.channel_id, message, thread_ts=thread_ts or None)
        except SlackRefused as err:
            if err.code in ("not_in_channel", "channel_not_found", "is_archived"):
                return ""  # no live status in the channel: the outcome goes to the requester instead
            raise

    # ---- following -------------------------------------------------------------------------

    def follow(self, job: Job, *, leased: bool = False) -> None:
        """Keep ``job``'s message current until it ends; ``leased``: this desk holds its lease already."""
        if job.id in self._followers:
            return
        task = asyncio.create_task(self._follow(job, leased), name=f"follow {job.id}")
        self._followers[job.id] = task
        task.add_done_callback(lambda done: self._forget(job.id, done))
        if self._keeper is None or self._keeper.done():
            self._keeper = asyncio.create_task(self._keep_leases(), name="follower leases")

    def _forget(self, job_id: str, task: asyncio.Task[None]) -> None:
        if self._followers.get(job_id) is task:
            del self._followers[job_id]
        if not task.cancelled() and task.exception() is not None:  # a bug: said once, where it is seen
            log.error("the follower of job %s failed", job_id, exc_info=task.exception())

    async def _follow(self, job: Job, leased: bool) -> None:
        try:
            if not leased and not await self._until_reached(job.id, lambda: self.leases.acquire(job.id)):
                return  # another process follows it
            await self._track(job)
        finally:
            with contextlib.suppress(Exception):  # not given back: it lapses in lease_ttl s
                async with asyncio.timeout(2.0):
                    await self.leases.release(job.id)

    async def _track(self, job: Job) -> None:
        """Edit the message on every change of state at once, progress at most once a second;
        watch again after any failure (a dead connection, Redis away), until the job ends."""
        pace = _Pace(lambda latest: self._show_progress(latest))
        backoff = _Backoff(RETRY_CAP)
        failing = False
        while True:
            try:
                async with contextlib.aclosing(self.queue.watch(job.id)) as changes:
                    async for latest in changes:  # the job as it is now first: nothing missed in an outage
                        if failing:
                            log.info("following job %s again", job.id)
                            failing = False
                        backoff.reset()
                        if latest.finished:
                            pace.cancel()
                            await self._show_final(latest)
                            return
                        await pace.offer(latest)
                return
            except JobNotFound:  # expired, or Redis lost its data: nothing left to show
                log.warning("job %s is gone from Redis; its message stays as it was", job.id)
                return
            except (QueueUnavailable, RedisError) as err:
                if not failing:
                    log.warning("following job %s: %s; trying again", job.id, err)
                failing = True
            except Exception:  # CancelledError is not an Exception: cancellation still propagates
                log.exception("following job %s failed; trying again", job.id)
                failing = True
            finally:
                pace.cancel()
            await asyncio.sleep(backoff.next())

    async def _until_reached(self, job_id: str, call: Callable[[], Awaitable[T]]) -> T:
        backoff = _Backoff(RETRY_CAP)
        while True:
            try:
                return await call()
            except (QueueUnavailable, RedisError) as err:
                log.debug("job %s: %s; trying again", job_id, err)
            await asyncio.sleep(backoff.next())

    async def _keep_leases(self) -> None:
        """Refresh the leases of every job followed here; stop a follower whose lease another took."""
        while self._followers:
            await asyncio.sleep(self._lease_every)
            names = list(self._followers)
            try:
                held = await self.leases.refresh(names)
            except (QueueUnavailable, RedisError) as err:  # they may lapse: another process then takes over
                log.debug("could not refresh follower leases: %s", err)
                continue
            for name in names:
                task = self._followers.get(name)
                if name not in held and task is not None:
                    log.info("job %s is followed by another process now; this one stops", name)
                    task.cancel()

    # ---- showing ---------------------------------------------------------------------------

    async def _show_progress(self, job: Job) -> None:
        # The final state may be up already (shown by a sweep while this follower was cut off):
        # an edit from here would take it back to "running".
        if await self.redis.exists(SHOWN + job.id):
            return
        await self.show(job)

    async def _show_final(self, job: Job) -> bool:
        """Audit the end of ``job`` and put it in its message, unless someone has: True if this call showed it."""
        await self._audit_once(job)
        claimed = await self.redis.set(SHOWN + job.id, "showing", nx=True, px=SHOWING_TTL_MS)
        if not claimed:
            return False
        if not await self.show(job):
            with contextlib.suppress(Exception):  # let a later sweep try again
                await self.redis.delete(SHOWN + job.id)
            return False
        await self._mark_shown(job)
        if job.approval_ref:
            for hook in self.on_approved_final:
                try:
                    await hook(job)
                except Exception:  # the job's own message is right; its request's may lag
                    log.exception("job %s ended; its approval %s could not be told", job.id, job.approval_ref)
        return True

    async def _audit_once(self, job: Job) -> None:
        if self.audit is None or not await self.redis.set(qkeys.AUDITED + job.id, "1", nx=True, ex=SHOWN_TTL):
            return
        try:
            await self._audit_outcome(job)
        except Exception as err:  # claimed, then lost: said where an operator looks
            log.warning("job %s ended %s, but its audit record could not be written: %s", job.id, job.status, err)

    async def _mark_shown(self, job: Job) -> None:
        """Turn the claim into a lasting mark; tried for as long as the claim lasts, else it shows twice."""
        backoff = _Backoff(RETRY_CAP)
        deadline = time.monotonic() + SHOWING_TTL_MS / 1000 - RETRY_CAP
        while True:
            try:
                await self.redis.set(SHOWN + job.id, "1", ex=SHOWN_TTL)
                return
            except (QueueUnavailable, RedisError) as err:
                if time.monotonic() > deadline:
                    log.warning("job %s: could not mark its end shown (%s); a sweep may show it again", job.id, err)
                    return
            await asyncio.sleep(backoff.next())

    async def show(self, job: Job) -> bool:
        """Bring the job's message to ``job``'s state; False when Slack could not be told (try again)."""
        position = await self.queue.position(job) if job.status is JobStatus.QUEUED else 0
        message = render.job_message(job, position=position)
        ts, channel = job.reply_to.thread_ts, job.reply_to.channel_id
        try:
            if ts:
                await self.slack.update_message(channel, ts, message)
            elif job.finished and job.reply_to.response_url:
                await self.slack.respond(job.reply_to.response_url, {**message, "response_type": "ephemeral"})
        except SlackRefused as err:
            log.warning("could not update the status of job %s: %s", job.id, err)
            return err.code not in TRANSIENT_REFUSALS  # trying again cannot help
        except Exception as err:
            log.warning("could not update the status of job %s: %s", job.id, err)
            return False
        return True

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
                target=f"{_target_kind(job)} {job.args.get('target_name', job.target)}",
                decision="allow",
                rule=_finish_rule(job) + (f", approval {job.approval_ref}" if job.approval_ref else ""),
                outcome=f"job {job.status}",
                duration_ms=round(took * 1000),
                approvers=str(job.args.get("approved_by", "")),
                job_id=job.id,
            )
        )

    # ---- sweeping --------------------------------------------------------------------------

    async def sweep(self, host: str) -> int:
        """Give every recent job of ``host`` whose follower died a new one; how many were taken over or finished.

        A follower lives in the process that queued the job.  When that process dies (a
        worker's kill -9) the job still ends, but its message would stay at "running"
        forever.  Every worker sweeps its host's recent jobs: a queued or running one whose
        follower lease lapsed is followed from here; a finished one whose end nobody showed
        is shown, once (under its lease, so that no live follower's edit lands after it).
        """
        jobs = [
            job
            for job in await self.queue.list(host, limit=SWEEP_LIMIT)
            if job.verb != COMMAND_VERB and job.id not in self._followers
        ]
        finished = [job for job in jobs if job.finished]
        async with self.redis.pipeline(transaction=False) as pipe:
            for job in finished:
                pipe.exists(SHOWN + job.id)
            marks = await pipe.execute()
        unshown = {job.id for job, mark in zip(finished, marks, strict=True) if not mark}
        taken = 0
        for job in jobs:
            if job.finished and job.id not in unshown:
                continue
            if not await self.leases.acquire(job.id):
                continue  # a live follower has it
            if not job.finished:
                log.info("job %s had no live follower; followed from here now", job.id)
                self.follow(job, leased=True)
                taken += 1
                continue
            try:
                taken += await self._show_final(job)
            finally:
                await self.leases.release(job.id)
        return taken

    async def close(self) -> None:
        """Stop following: the leases are given back, so another worker takes the jobs over at once."""
        tasks = [*self._followers.values(), *([self._keeper] if self._keeper is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class _Pace:
    """A follower's edits: a change of state at once, progress at most once a second, the latest
    progress always shown in the end (a held-back edit is flushed, not dropped)."""

    def __init__(self, show: Callable[[Job], Awaitable[None]]) -> None:
        self._show = show
        self._shown: tuple[str, object, str | None] | None = None
        self._last_sent = 0.0
        self._pending: asyncio.Task[None] | None = None

    async def offer(self, job: Job) -> None:
        # A change of state, or a cancel request (which may take the Cancel button away or
        # say it came too late), is shown at once.
        state = (str(job.status), job.progress.get("waiting_for"), job.cancel_requested_by)
        self.cancel()
        wait = UPDATE_EVERY - (time.monotonic() - self._last_sent)
        if state != self._shown or wait <= 0:
            self._shown = state
            self._last_sent = time.monotonic()
            await self._show(job)
        else:
            self._pending = asyncio.create_task(self._later(job, wait), name=f"progress {job.id}")

    async def _later(self, job: Job, delay: float) -> None:
        await asyncio.sleep(delay)
        self._last_sent = time.monotonic()
        try:
            await self._show(job)
        except Exception as err:  # Redis away: the follower itself meets it and watches again
            log.debug("job %s: progress not shown: %s", job.id, err)

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None


class _Backoff:
    """Exponential and jittered, so that the followers of many jobs do not all retry together."""

    def __init__(self, cap: float) -> None:
        self.cap = cap
        self.delay = 0.1

    def next(self) -> float:
        delay = self.delay
        self.delay = min(self.cap, self.delay * 2)
        return delay * random.uniform(0.5, 1.0)

    def reset(self) -> None:
        self.delay = 0.1


def _thread_for(job: Job, run: approval_pass.ApprovedRun | None) -> str:
    """Where the status message goes: an approved run's request thread, a mention's thread, the
    thread of a notification whose button queued it, else the channel."""
    if run is not None:
        return run.thread_ts
    route = ThreadRoute.parse(job.reply_to.response_url)
    return route.thread_ts if route is not None else job_thread.current()


def _looks_like_id(ref: str) -> bool:
    return len(ref) >= 12 and all(c in "0123456789abcdef" for c in ref)


def _finish_rule(job: Job) -> str:
    """The audit's note on how a job ended; a cancel that came too late is no cancel."""
    if job.cancel_requested_by is None:
        return "job finished"
    if job.status is JobStatus.CANCELLED:
        return f"job finished (cancelled by {job.cancel_requested_by})"
    return f"job finished (cancel by {job.cancel_requested_by} came too late)"


def _target_kind(job: Job) -> str:
    """What the job acted on, for the audit trail: jobs on volumes, networks or projects say so."""
    kind = job.args.get("target_kind")
    if isinstance(kind, str) and kind:
        return kind
    return "image" if job.verb in ("pull", "push") else "container"
