"""The worker: one per Docker host (or several), running that host's jobs.

The loop, as in arq: poll the host's stream, claim a job, run its handler, finish it.
Around it, a heartbeat keeps every held job's stream message and lock fresh, so other
workers can tell a live job from an orphan:

* a worker that dies (kill -9) stops heartbeating; after ``claim_idle`` seconds any worker
  of the host takes its messages with XAUTOCLAIM (a worker that starts later does it at
  start-up).  For a verb with a crash check (``crash_checks``: a restart, a stop...) it
  first looks at the target: work the dead run had done is reported done ("restarted,
  confirmed from the container's StartedAt"), work it had not done is re-run if the job is
  idempotent.  Otherwise an idempotent job is run again (at most ``max_attempts`` runs),
  any other is marked ``interrupted``, saying what the check saw or that its effect is
  unknown;
* ``stop()`` stops claiming, lets running jobs finish for ``drain_timeout`` seconds, then
  cancels the rest and hands them back: idempotent ones to be re-run at once by the next
  worker, the others marked ``interrupted``;
* while Redis is down the worker keeps its jobs running, retries with backoff and resumes
  by itself; writes that failed (a job's finish) are retried until they land.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import secrets
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from bot.errors import UserError
from bot.jobs.queue import keys
from bot.jobs.queue.context import CrashCheck, Finding, JobContext, JobHandler, Outcome, Run
from bot.jobs.queue.errors import EffectUnknown, QueueUnavailable
from bot.jobs.queue.model import Job, text
from bot.jobs.queue.redisio import REDIS_DOWN, honour_lost_cancel, is_nogroup, reaching
from bot.jobs.queue.scripts import DIED, Scripts, Step

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Cancellable:
    """A handler that a user's cancel may stop while it runs (its task is cancelled).

    Only for work that a cancel really abandons: a pull, whose stream the engine stops
    serving when it is closed, leaving the image as it was.  Any other handler, once
    started, runs to its end whatever the requests: a Docker call such as restart cannot
    be taken back once sent, and a job marked cancelled while the engine carries it out
    would be a lie.  ``effect`` is what a stop leaves, as the job's error says it.
    """

    handler: JobHandler
    effect: str

    async def __call__(self, ctx: JobContext) -> str:
        return await self.handler(ctx)


HANDBACK_IDLE_MS = 10 * 365 * 86400 * 1000  # "idle for years": past any worker's claim_idle
HANDBACK_WRITE_TIME = 5.0  # past it, a stopping worker leaves its jobs to be recovered as a dead one's
MAINTENANCE_EVERY = 30.0  # seconds between stream trims and consumer clean-ups
DEAD_CONSUMER_IDLE_MS = 600_000
CHECKING = "the worker running it died; checking what it did"
CHECK_SLACK = 10.0  # a crash check may take the job's own timeout, and this much more


class _Backoff:
    """Exponential, jittered: many workers coming back at once do not all hit Redis together."""

    def __init__(self, cap: float) -> None:
        self.cap = cap
        self.delay = 0.05

    def next(self) -> float:
        delay = self.delay
        self.delay = min(self.cap, self.delay * 2)
        return delay * random.uniform(0.5, 1.0)

    def reset(self) -> None:
        self.delay = 0.05


class Worker:
    def __init__(
        self,
        redis: aioredis.Redis,
        host: str,
        handlers: Mapping[str, JobHandler],
        *,
        concurrency: int = 4,
        heartbeat: float = 1.0,
        claim_idle: float = 5.0,
        max_attempts: int = 3,
        poll_block: float = 1.0,  # keep below the client's socket_timeout
        lock_poll: float = 0.1,
        max_backoff: float = 5.0,
        cancel_grace: float = 5.0,  # how long a cancelled handler may take to unwind
        worker_id: str | None = None,
        clock: Callable[[], float] = time.time,
        crash_checks: Mapping[str, CrashCheck] | None = None,
    ) -> None:
        if not keys.valid_name(host):
            raise ValueError(f"bad host name {host!r}")
        checks = dict(crash_checks or {})
        if any(not keys.valid_name(verb) or "," in verb for verb in checks):
            raise ValueError(f"bad verb among the crash checks: {sorted(checks)}")
        if claim_idle < 3 * heartbeat:
            raise ValueError("claim_idle must be at least 3 heartbeats, or live jobs get reclaimed")
        self.redis = redis
        self.host = host
        self.handlers = dict(handlers)
        # Per verb: what to look at before a job reclaimed from a dead worker is re-run or
        # marked interrupted.  Decided by this worker, like its handlers, never by Redis.
        self.crash_checks = checks
        self._checked = "," + ",".join(sorted(checks)) + ","
        self.concurrency = concurrency
        self.heartbeat = heartbeat
        self.claim_idle = claim_idle
        self.max_attempts = max_attempts
        self.poll_block = poll_block
        self.lock_poll = lock_poll
        self.max_backoff = max_backoff
        self.cancel_grace = cancel_grace
        self.clock = clock
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.info: dict[str, Any] = {}  # published with every heartbeat (engine version, container counts...)
        self.started_at = 0.0
        self._scripts = Scripts(redis)
        self._stream = keys.stream(host)
        self._lock_ttl_ms = int(max(claim_idle, 3 * heartbeat) * 1000)
        self._worker_ttl_ms = int(3 * heartbeat * 1000)
        self._runs: dict[str, Run] = {}
        self._strays: set[asyncio.Task[Any]] = set()  # handlers that ignored cancellation
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()
        self._slot_free = asyncio.Event()
        self._beat_stop = asyncio.Event()
        self._reading: asyncio.Future[list[tuple[str, str]]] | None = None
        self._main: asyncio.Task[None] | None = None
        self._running = False
        self._drain_timeout = 30.0
        self._group_ready = False
        self._next_reclaim = 0.0
        self._reclaim_cursor = "0-0"
        self._next_maintenance = time.monotonic() + MAINTENANCE_EVERY
        self._redis_down = False

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def held_jobs(self) -> list[str]:
        return list(self._runs)

    async def run(self) -> None:
        """Serve until ``stop()``; returns once unfinished jobs are handed back."""
        if self._running:
            raise RuntimeError("this worker is already running")
        self._running = True
        self.started_at = self.clock()
        beat = asyncio.create_task(self._heartbeat_loop(), name=f"heartbeat {self.worker_id}")
        try:
            await self._serve()
            await self._drain()
        finally:
            self._beat_stop.set()  # the loop also checks this: a cancel alone can be lost (see _cancel_all)
            await _cancel_all({beat})
            await self._abandon_leftovers()
            await self._deregister()
            self._stopped.set()

    async def stop(self, drain_timeout: float = 30.0) -> None:
        """Stop claiming; running jobs get ``drain_timeout`` s to finish, then are cancelled and handed back."""
        self._drain_timeout = drain_timeout
        self._stopping.set()
        if self._reading is not None:  # a blocking read must not delay the stop by poll_block
            self._reading.cancel()
        if self._running:
            await self._stopped.wait()

    async def __aenter__(self) -> Worker:
        self._main = asyncio.create_task(self.run(), name=f"worker {self.worker_id}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop(self._drain_timeout)
        if self._main is not None:
            await self._main

    # ---- the loop: poll, claim, run, finish ------------------------------------------------

    async def _serve(self) -> None:
        backoff = _Backoff(self.max_backoff)
        while not self._stopping.is_set():
            honour_lost_cancel()
            try:
                await self._ensure_group()
                await self._reclaim_orphans()
                await self._poll()
                await self._maintain_if_due()
            except QueueUnavailable as err:
                self._note_outage(err)
                await self._sleep_unless_stopping(backoff.next())
                continue
            except ResponseError as err:
                if is_nogroup(err):  # Redis lost the stream (a restart without persistence): make it again
                    self._group_ready = False
                    continue
                log.warning("worker %s: Redis refused a command (%s); retrying", self.worker_id, err)
                await self._sleep_unless_stopping(backoff.next())
                continue
            backoff.reset()

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        with reaching(self.redis):
            try:
                # From id 0, not "$": jobs enqueued before the group existed must run too.
                await self.redis.xgroup_create(self._stream, keys.GROUP, id="0", mkstream=True)
            except ResponseError as err:
                if "BUSYGROUP" not in str(err):
                    raise
        self._group_ready = True

    async def _reclaim_orphans(self) -> None:
        """Take messages whose worker stopped heartbeating; at start-up this recovers a dead predecessor's."""
        if time.monotonic() < self._next_reclaim:
            return
        self._next_reclaim = time.monotonic() + self.claim_idle / 4
        # Always at least one, even when full: a job of ours may be waiting for the lock of an orphan.
        count = max(1, self.concurrency - len(self._runs))
        with reaching(self.redis):
            reply = await self.redis.xautoclaim(
                self._stream, keys.GROUP, self.worker_id, int(self.claim_idle * 1000), self._reclaim_cursor, count=count
            )
        self._reclaim_cursor = text(reply[0])
        for msg_id, fields in reply[1]:
            if not fields:  # None for an entry trimmed from the stream (Redis 6.2)
                continue
            job_id = text(fields.get(b"job", fields.get("job", "")))
            held = self._runs.get(job_id)
            if held is not None:  # our own message, reclaimed by us after a late heartbeat: keep running it
                held.msg_id = text(msg_id)
            else:
                self._spawn(Run(job_id, text(msg_id)))

    async def _poll(self) -> None:
        free = self.concurrency - len(self._runs)
        if free <= 0:
            self._slot_free.clear()
            # Wake for a free slot, or in time for the next reclaim round.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.claim_idle / 4):
                    await self._slot_free.wait()
            return
        # Under load one script reads and claims a batch; only an empty stream makes us block.
        if await self._fetch(free):
            return
        # A task of its own so that stop() can cut a blocked XREADGROUP short (see stop()).
        self._reading = asyncio.ensure_future(self._read(free))
        try:
            await asyncio.wait({self._reading})
        finally:
            reading, self._reading = self._reading, None
            if not reading.done():  # run() itself is being cancelled
                reading.cancel()
        # stop() cancelled it, or its cancel was lost and it read anyway: either way, what it
        # took is handed back at the end (_handback_untracked), not started.
        if reading.cancelled() or self._stopping.is_set():
            return
        for msg_id, job_id in reading.result():
            self._spawn(Run(job_id, msg_id))

    async def _fetch(self, count: int) -> bool:
        with reaching(self.redis):
            fetched = await self._scripts.fetch(
                self.host,
                worker=self.worker_id,
                now=self.clock(),
                lock_ttl_ms=self._lock_ttl_ms,
                max_attempts=self.max_attempts,
                run_ids=[secrets.token_hex(8) for _ in range(count)],
                checked=self._checked,
            )
        for item in fetched:
            run = Run(item.job_id, item.msg_id, run_id=item.run_id, claimed=True)
            if item.step.kind in ("started", "wait", "check"):
                self._spawn(run, item.step)
            else:
                self._let_go(run, item.step)
        return bool(fetched)

    async def _read(self, count: int) -> list[tuple[str, str]]:
        reply: Any
        with reaching(self.redis):
            reply = await self.redis.xreadgroup(
                keys.GROUP, self.worker_id, {self._stream: ">"}, count=count, block=int(self.poll_block * 1000)
            )
        entries = reply.values() if isinstance(reply, dict) else [messages for _stream, messages in reply or []]
        out = []
        for messages in entries:
            for batch in messages if messages and isinstance(messages[0], list) else [messages]:
                for msg_id, fields in batch:
                    out.append((text(msg_id), text(fields.get(b"job", fields.get("job", "")))))
        return out

    def _spawn(self, run: Run, step: Step | None = None) -> None:
        """Hold the job in a task of its own; ``step``: the claim already made by the fetch script."""
        self._runs[run.job_id] = run
        run.task = asyncio.create_task(self._process(run, step), name=f"job {run.job_id}")
        run.task.add_done_callback(lambda _task: self._release(run))

    def _release(self, run: Run) -> None:
        if self._runs.get(run.job_id) is run:
            del self._runs[run.job_id]
        self._slot_free.set()

    async def _process(self, run: Run, step: Step | None) -> None:
        """One job: claim, wait for its lock, run, finish.  Nothing may escape: it would be lost in a task."""
        try:
            if step is None:
                step = await self._persist(lambda: self._claim(run), while_serving=True)
                run.claimed = True
            step = await self._wait_for_lock(run, step)
            if step.kind == "check":
                step = await self._wait_for_lock(run, await self._after_crash(run, step))
            if step.kind != "started" or step.fields is None:
                self._let_go(run, step)
                return
            run.job = Job.from_fields(step.fields)
            outcome = await self._execute(run)
            await self._conclude(run, outcome)
        except _GaveUp:
            log.info("job %s left pending for the next worker (stopping while Redis is down)", run.job_id)
        except Exception:
            log.exception("job %s: worker error; its message stays pending and will be reclaimed", run.job_id)

    async def _claim(self, run: Run) -> Step:
        return await self._scripts.claim(
            run.job_id,
            worker=self.worker_id,
            run_id=run.run_id,
            now=self.clock(),
            lock_ttl_ms=self._lock_ttl_ms,
            max_attempts=self.max_attempts,
            msg_id=run.msg_id,
            host=self.host,
            checked=self._checked,
        )

    async def _after_crash(self, run: Run, step: Step) -> Step:
        """A job whose worker died mid-run: check its target, then finish it or run it again.

        The job stays running, held by this run, while its verb's crash check looks; the
        next step is "started"/"wait" for a re-run, or a reason to let go once finished.
        """
        assert step.fields is not None
        job = run.job = Job.from_fields(step.fields)
        await self._report_progress(run, {"text": CHECKING})
        finding = await self._check(run, job)
        if run.stop_reason == "lost":
            return Step("lost")
        if finding is None:  # this worker is stopping: the next one checks again
            run.letting_go = True
            await self._persist(lambda: self._leave_for_next(run))
            return Step("handed back")
        if isinstance(finding, Outcome):
            await self._conclude(run, finding)
            return Step("done")
        log.info("job %s (%s %s) after its worker died: %s", job.id, job.verb, job.target, finding.said)
        if finding.done:
            await self._conclude(run, Outcome("succeeded", result=finding.said))
            return Step("done")
        if not job.idempotent:
            await self._conclude(run, Outcome("interrupted", error=finding.said))
            return Step("done")
        run.job, run.progress = None, {}
        return await self._persist(
            lambda: self._scripts.resume(
                run.job_id,
                worker=self.worker_id,
                run_id=run.run_id,
                now=self.clock(),
                lock_ttl_ms=self._lock_ttl_ms,
                max_attempts=self.max_attempts,
            )
        )

    async def _check(self, run: Run, job: Job) -> Finding | Outcome | None:
        """The verb's crash check, bounded and stoppable like a handler; None if this worker is stopping.

        A UserError from it (the entry's signature does not hold) fails the job, as from a handler.
        """
        ctx = JobContext(job, run.cancelled, lambda fields: self._report_progress(run, fields))
        check = self.crash_checks[job.verb]
        task = asyncio.create_task(_call_check(check, ctx), name=f"crash check {job.id}")
        run.handler = task
        try:
            await self._await_handler(run, task, job.timeout_seconds + CHECK_SLACK)
        except asyncio.CancelledError:  # the worker itself is being torn down
            task.cancel()
            self._strays.add(task)
            raise
        if run.stop_reason in ("stop", "lost"):
            if not task.done():
                self._strays.add(task)
            return None
        if not task.done() or task.cancelled():
            if not task.done():
                self._strays.add(task)
            return Finding(None, DIED)
        err = task.exception()
        if err is not None:
            if isinstance(err, UserError):
                return Outcome("failed", error=str(err))
            log.warning("job %s: the check after its worker died failed: %s", job.id, err)
            return Finding(None, DIED)
        finding: Finding = task.result()
        return finding

    async def _leave_for_next(self, run: Run) -> None:
        """Give the job's message up, idle for years, so the next worker takes and checks it at once."""
        await self.redis.xclaim(
            self._stream, keys.GROUP, self.worker_id, 0, [run.msg_id], idle=HANDBACK_IDLE_MS, justid=True
        )

    async def _wait_for_lock(self, run: Run, step: Step) -> Step:
        """Until the job holds its lock; its progress names the job it waits behind."""
        while step.kind == "wait":
            honour_lost_cancel()
            if step.other != run.blocker:
                run.blocker = step.other
                await self._report_waiting(run)
            if not await self._sleep_unless_stopping(self.lock_poll) or run.stop_reason:
                run.letting_go = True
                if run.stop_reason != "lost":
                    await self._persist(lambda: self._handback(run))
                return Step("handed back")
            step = await self._persist(
                lambda: self._scripts.try_start(
                    run.job_id,
                    worker=self.worker_id,
                    run_id=run.run_id,
                    now=self.clock(),
                    lock_ttl_ms=self._lock_ttl_ms,
                )
            )
        return step

    async def _report_waiting(self, run: Run) -> None:
        """Say what the job waits behind; cosmetic, so an outage only costs the report."""
        try:
            with reaching(self.redis):
                verb, requester = await self.redis.hmget(keys.job(run.blocker), ["verb", "requester"])
                progress = {
                    "waiting_for": run.blocker,
                    "waiting_for_verb": json.loads(verb) if verb else "",
                    "waiting_for_user": json.loads(requester)["user_id"] if requester else "",
                }
                await self._scripts.waiting(run.job_id, worker=self.worker_id, progress=progress)
        except QueueUnavailable as err:
            run.blocker = ""  # report again on the next round
            log.warning("job %s: could not report what it waits for: %s", run.job_id, err)

    def _let_go(self, run: Run, step: Step) -> None:
        if step.kind in ("interrupted", "failed") and step.fields:
            job = Job.from_fields(step.fields)
            log.warning("job %s (%s %s) %s: %s", job.id, job.verb, job.target, job.status, job.error)

    async def _execute(self, run: Run) -> Outcome:
        job = run.job
        assert job is not None
        handler = self.handlers.get(job.verb)
        if handler is None:
            return Outcome("failed", error=f"the worker for {self.host} cannot run {job.verb!r} jobs")
        ctx = JobContext(job, run.cancelled, lambda fields: self._report_progress(run, fields))
        run.handler = asyncio.create_task(_call(handler, ctx), name=f"handler {job.id}")
        try:
            await self._await_handler(run, run.handler, job.timeout_seconds)
        except asyncio.CancelledError:  # the worker itself is being torn down
            run.handler.cancel()
            self._strays.add(run.handler)
            raise
        return self._outcome(run, run.handler)

    async def _await_handler(self, run: Run, task: asyncio.Task[Any], timeout: float) -> None:
        """Until the handler ends, or has had ``cancel_grace`` seconds to end after being cut short.

        Rechecks every second rather than trusting the cancel to end the task: a handler that
        loses or ignores a cancellation must not hold its job until the job's timeout.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        give_up_at: float | None = None
        while not task.done():
            now = loop.time()
            if now >= deadline:
                run.interrupt("timeout")
            if run.stop_reason:
                give_up_at = now + self.cancel_grace if give_up_at is None else give_up_at
                if now >= give_up_at:
                    return
                await asyncio.wait({task}, timeout=give_up_at - now)
            else:
                await asyncio.wait({task}, timeout=min(deadline - now, 1.0))

    def _outcome(self, run: Run, task: asyncio.Task[str]) -> Outcome:
        job = run.job
        assert job is not None
        if not task.done():
            log.warning("job %s: handler still running %s s after being cancelled", job.id, self.cancel_grace)
            self._strays.add(task)
            return self._cut_short(run, job)
        if task.cancelled():
            return self._cut_short(run, job)
        err = task.exception()
        if err is None:
            return Outcome("succeeded", result=str(task.result()))
        if run.stop_reason == "user" and isinstance(err, EffectUnknown):  # stopped, but unsure of what it did
            return Outcome("interrupted", error=str(err))
        if run.stop_reason:  # it raised while unwinding from our cancel: the cancel is the story
            return self._cut_short(run, job)
        if isinstance(err, UserError):
            return Outcome("failed", error=str(err))
        incident = secrets.token_hex(4)
        log.error("incident %s: job %s (%s %s) raised", incident, job.id, job.verb, job.target, exc_info=err)
        return Outcome("failed", error=f"dockbell failed while running the job (incident {incident})")

    def _cut_short(self, run: Run, job: Job) -> Outcome:
        if run.stop_reason == "timeout":
            return Outcome("failed", error=f"timed out after {job.timeout_seconds:g} s")
        if run.stop_reason == "user":
            log.info("job %s (%s %s) stopped: cancelled by %s", job.id, job.verb, job.target, run.cancelled_by)
            stoppable = self._stoppable(job)
            return Outcome("cancelled", error=stoppable.effect if stoppable else "it was stopped before it finished")
        if run.stop_reason == "stop":
            return Outcome("handback")
        if run.stop_reason == "lost":
            return Outcome("lost")
        # Cancelled by its own code (or a library) with no request from us: report it as it is.
        return Outcome("failed", error="the job was cancelled inside its handler")

    async def _conclude(self, run: Run, outcome: Outcome) -> None:
        run.letting_go = True
        if outcome.status == "lost":
            log.warning("job %s was taken over by another worker; this run's outcome is dropped", run.job_id)
            return
        if outcome.status == "handback":
            await self._persist(lambda: self._handback(run))
            return
        reply = await self._persist(
            lambda: self._scripts.finish(
                run.job_id,
                run_id=run.run_id,
                status=outcome.status,
                now=self.clock(),
                result=outcome.result,
                error=outcome.error,
                progress=run.progress,
            )
        )
        if reply != "finished":
            log.warning("job %s ended (%s) but its record is %s; outcome dropped", run.job_id, outcome.status, reply)

    async def _handback(self, run: Run) -> None:
        reply = await self._scripts.handback(
            run.job_id,
            worker=self.worker_id,
            run_id=run.run_id if run.started else "",
            now=self.clock(),
            idle_ms=HANDBACK_IDLE_MS,
        )
        log.info("job %s handed back on stop: %s", run.job_id, reply)

    async def _report_progress(self, run: Run, fields: dict[str, Any]) -> None:
        run.progress.update(fields)
        try:
            with reaching(self.redis):
                await self._scripts.progress(run.job_id, run_id=run.run_id, now=self.clock(), progress=run.progress)
        except QueueUnavailable as err:
            if not run.progress_unsaved:  # once per outage, not once per progress line
                log.warning("job %s: progress not stored (kept for its finish): %s", run.job_id, err)
            run.progress_unsaved = True
        else:
            run.progress_unsaved = False
        honour_lost_cancel()  # this runs in the handler's task: a cancel lost in the write must still stop it

    # ---- heartbeat -------------------------------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        while not self._beat_stop.is_set():
            honour_lost_cancel()
            try:
                self._apply(await self._beat())
                self._note_recovered()  # the beat is the one regular round trip: it decides "back"
            except QueueUnavailable as err:
                self._note_outage(err)
            except RedisError as err:
                log.warning("worker %s: heartbeat refused (%s)", self.worker_id, err)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.heartbeat):
                    await self._beat_stop.wait()

    async def _beat(self) -> list[tuple[Run, str]]:
        runs = [run for run in self._runs.values() if run.claimed]
        now = self.clock()
        fields = {
            "worker_id": self.worker_id,
            "host": self.host,
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "started_at": self.started_at,
            "heartbeat_at": now,
            "running": [run.job_id for run in runs],
            "info": self.info,
        }
        with reaching(self.redis):
            states = await self._scripts.heartbeat(
                worker_key=keys.worker(self.host, self.worker_id),
                worker=self.worker_id,
                host=self.host,
                now=now,
                lock_ttl_ms=self._lock_ttl_ms,
                worker_ttl_ms=self._worker_ttl_ms,
                worker_fields={k: json.dumps(v, default=str) for k, v in fields.items()},
                held=[(run.job_id, run.run_id, run.msg_id) for run in runs],
            )
        return list(zip(runs, states, strict=True))

    def _apply(self, states: list[tuple[Run, str]]) -> None:
        for run, state in states:
            if run.letting_go:  # its outcome is decided: a late "lost" or "cancel" changes nothing
                continue
            if state == "lost":
                if run.started:  # a waiting job is just let go (cancelled, or another worker has it)
                    log.warning(
                        "worker %s: job %s was taken from this worker (its heartbeat came too late)",
                        self.worker_id,
                        run.job_id,
                    )
                run.interrupt("lost")
            elif state.startswith("cancel:") and not run.stop_reason and run.job and self._stoppable(run.job):
                # A job whose handler cannot be stopped runs on: the request is only recorded,
                # and the status message says it came too late.
                run.cancelled_by = state.removeprefix("cancel:")
                run.interrupt("user")

    def _stoppable(self, job: Job) -> Cancellable | None:
        """The job's handler if a user's cancel may stop it while it runs, else None.

        Decided by this worker's own handler table, never by the job's stored fields: what
        Redis says cannot make a restart cancellable.
        """
        handler = self.handlers.get(job.verb)
        return handler if isinstance(handler, Cancellable) else None

    # ---- stopping --------------------------------------------------------------------------

    async def _drain(self) -> None:
        runs = list(self._runs.values())
        tasks = {run.task for run in runs if run.task is not None}
        if not tasks:
            await self._handback_untracked()
            return
        _, pending = await asyncio.wait(tasks, timeout=self._drain_timeout)
        for run in runs:
            if run.task in pending:
                run.interrupt("stop")
        if pending:  # cancel_grace for the handlers to unwind, then a few seconds for the handback writes
            _, pending = await asyncio.wait(pending, timeout=self.cancel_grace + HANDBACK_WRITE_TIME)
        await _cancel_all(pending)
        await self._handback_untracked()

    async def _handback_untracked(self) -> None:
        """Messages delivered to us that no run holds (a read cut short by stop()): give them back."""
        try:
            with reaching(self.redis):
                pending = await self.redis.xpending_range(
                    self._stream, keys.GROUP, "-", "+", 1000, consumername=self.worker_id
                )
                ids: list[Any] = [text(p["message_id"]) for p in pending]
                if ids:
                    await self.redis.xclaim(
                        self._stream, keys.GROUP, self.worker_id, 0, ids, idle=HANDBACK_IDLE_MS, justid=True
                    )
        except (QueueUnavailable, RedisError) as err:
            log.warning(
                "worker %s: could not hand back its pending messages (%s); they will be reclaimed", self.worker_id, err
            )

    async def _abandon_leftovers(self) -> None:
        """Reached when run() is cancelled outright: jobs stay pending in Redis and are reclaimed later."""
        await _cancel_all({run.task for run in self._runs.values() if run.task is not None})
        for task in self._strays:
            task.cancel()
        if self._strays:
            await asyncio.wait(self._strays, timeout=self.cancel_grace)
        self._strays.clear()

    async def _deregister(self) -> None:
        with contextlib.suppress(*REDIS_DOWN, RedisError):
            await self.redis.delete(keys.worker(self.host, self.worker_id))
            await self.redis.zrem(keys.workers(self.host), self.worker_id)

    # ---- upkeep ----------------------------------------------------------------------------

    async def _maintain_if_due(self) -> None:
        if time.monotonic() >= self._next_maintenance:
            self._next_maintenance = time.monotonic() + MAINTENANCE_EVERY
            await self.maintain()

    async def maintain(self) -> None:
        """Trim the stream to what is pending or undelivered; forget consumers of dead workers."""
        with reaching(self.redis):
            groups = await self.redis.xinfo_groups(self._stream)
            group = next((g for g in groups if text(g["name"]) == keys.GROUP), None)
            if group is None:
                return
            summary = await self.redis.xpending(self._stream, keys.GROUP)
            # Everything older than the oldest pending message and already delivered is done with.
            floor = text(summary["min"]) if summary["pending"] else text(group["last-delivered-id"])
            await self.redis.xtrim(self._stream, minid=floor, approximate=False)
            for consumer in await self.redis.xinfo_consumers(self._stream, keys.GROUP):
                name = text(consumer["name"])
                idle = consumer["pending"] == 0 and consumer["idle"] > DEAD_CONSUMER_IDLE_MS
                # A live worker's consumer must stay: deleting it would drop what it is about to read.
                if idle and name != self.worker_id and not await self.redis.exists(keys.worker(self.host, name)):
                    await self.redis.xgroup_delconsumer(self._stream, keys.GROUP, name)

    # ---- helpers ---------------------------------------------------------------------------

    async def _persist(self, call: Callable[[], Awaitable[T]], *, while_serving: bool = False) -> T:
        """Retry a write until Redis takes it.  ``while_serving``: give up once the worker is stopping."""
        backoff = _Backoff(self.max_backoff)
        while True:
            honour_lost_cancel()
            try:
                with reaching(self.redis):
                    return await call()
            except QueueUnavailable as err:
                self._note_outage(err)
                if while_serving and self._stopping.is_set():
                    raise _GaveUp from err
                await asyncio.sleep(backoff.next())

    async def _sleep_unless_stopping(self, seconds: float) -> bool:
        """Sleep; False (at once) if the worker is told to stop meanwhile."""
        if self._stopping.is_set():
            return False
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
            return False
        return True

    def _note_outage(self, err: QueueUnavailable) -> None:
        if not self._redis_down:
            self._redis_down = True
            log.warning("worker %s: %s; retrying", self.worker_id, err)

    def _note_recovered(self) -> None:
        if self._redis_down:
            self._redis_down = False
            log.info("worker %s: Redis is reachable again", self.worker_id)


class _GaveUp(Exception):
    """A write abandoned because the worker is stopping while Redis is down."""


async def _call(handler: JobHandler, ctx: JobContext) -> str:
    return await handler(ctx)


async def _call_check(check: CrashCheck, ctx: JobContext) -> Finding:
    return await check(ctx)


async def _cancel_all(tasks: set[asyncio.Task[Any]], *, grace: float = 5.0) -> None:
    """Cancel ``tasks`` and wait for them, for ``grace`` seconds at most.

    Cancels again every 0.1 s, for tasks without a loop that checks (see honour_lost_cancel).
    """
    pending = {task for task in tasks if not task.done()}
    deadline = asyncio.get_running_loop().time() + grace
    while pending and asyncio.get_running_loop().time() < deadline:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.1)
    if pending:
        log.warning("%d task(s) ignored cancellation: %s", len(pending), [t.get_name() for t in pending])
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: an error here was logged where it happened


async def run_worker_until_signal(
    worker: Worker, *, drain_timeout: float = 30.0, signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)
) -> None:
    """Run ``worker`` until SIGTERM/SIGINT, then stop it gracefully (for `dockbell worker` and containers)."""
    loop = asyncio.get_running_loop()
    asked = asyncio.Event()
    for sig in signals:
        loop.add_signal_handler(sig, asked.set)
    main = asyncio.create_task(worker.run(), name=f"worker {worker.worker_id}")
    waiter = asyncio.create_task(asked.wait())
    try:
        await asyncio.wait({main, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if not main.done():
            log.info("worker %s: signal received, stopping (drain %s s)", worker.worker_id, drain_timeout)
            await worker.stop(drain_timeout)
        await main
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        await _cancel_all({t for t in (main, waiter) if not t.done()})
