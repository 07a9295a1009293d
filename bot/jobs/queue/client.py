"""The Slack side of the queue: enqueue, look up, list, cancel, follow jobs; which hosts have workers."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import dataclasses
import json
import math
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any

import redis.asyncio as aioredis

from bot.jobs.queue import keys
from bot.jobs.queue.errors import JobNotFound
from bot.jobs.queue.model import Job, JobStatus, WorkerInfo, check_new, text
from bot.jobs.queue.redisio import REDIS_DOWN, reaching
from bot.jobs.queue.scripts import Scripts
from bot.jobs.queue.signing import Signer

DAY = 86400


class JobQueue:
    """Jobs in Redis.  Every method raises QueueUnavailable when Redis cannot be reached."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        clock: Callable[[], float] = time.time,
        result_ttl: int = DAY,  # how long a finished job stays readable
        max_recent: int = 1000,  # per host, in the index `/docker jobs` reads
        signer: Signer | None = None,  # None only where nothing is enqueued (tests, read-only users)
    ) -> None:
        self.redis = redis
        self.signer = signer
        self.clock = clock
        self.result_ttl = result_ttl
        self.max_recent = max_recent
        self._scripts = Scripts(redis)

    async def enqueue(self, job: Job) -> tuple[Job, bool]:
        """Queue ``job`` on its host's stream; (the stored job, True) or, if the id exists, (that job, False).

        The caller derives the id from the request (``job_id_for``), so a retried Slack
        request or a double click finds the first job instead of making a second.
        """
        check_new(job)
        fresh = dataclasses.replace(
            job,
            status=JobStatus.QUEUED,
            created_at=job.created_at or self.clock(),
            started_at=None,
            finished_at=None,
            heartbeat_at=None,
            result="",
            error="",
            attempts=0,
            worker_id=None,
            cancel_requested_by=None,
            seq=0,
            version=0,
            sig="",
        )
        if self.signer is None:
            raise ValueError("this JobQueue has no signer: workers would reject what it enqueues")
        fresh = self.signer.signed(fresh)
        with reaching(self.redis):
            created, fields = await self._scripts.enqueue(
                job.id, fresh.to_fields(), keep=self.result_ttl, max_recent=self.max_recent
            )
        return Job.from_fields(fields), created

    async def get(self, job_id: str) -> Job | None:
        if not keys.valid_name(job_id):
            return None
        with reaching(self.redis):
            raw = await self.redis.hgetall(keys.job(job_id))
        return Job.from_fields(raw) if raw else None

    async def require(self, job_id: str) -> Job:
        job = await self.get(job_id)
        if job is None:
            raise JobNotFound(job_id)
        return job

    async def list(self, host: str, *, active_only: bool = False, limit: int = 50) -> builtins.list[Job]:
        """Active jobs (running, then queued in queue order), or the most recent ones, newest first."""
        with reaching(self.redis):
            if active_only:
                running = await self.redis.zrange(keys.running(host), 0, -1)
                queued = await self.redis.zrange(keys.queued(host), 0, max(limit - len(running), 0) - 1)
                ids = [text(i) for i in [*running, *queued]][:limit]
            else:
                ids = [text(i) for i in await self.redis.zrevrange(keys.recent(host), 0, limit - 1)]
            return await self._load(host, ids)

    async def _load(self, host: str, ids: builtins.list[str]) -> builtins.list[Job]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hgetall(keys.job(job_id))
            rows: builtins.list[Any] = await pipe.execute()
        gone = [job_id for job_id, raw in zip(ids, rows, strict=True) if not raw]
        if gone:  # expired after finishing: drop them from the index lazily
            await self.redis.zrem(keys.recent(host), *gone)
        return [Job.from_fields(raw) for raw in rows if raw]

    async def cancel(self, job_id: str, by_user: str) -> Job:
        """Queued: cancelled now, never runs.  Running: the request is recorded (``cancel_requested_by``).

        A running job whose verb a cancel can stop (``cancellable_running``, a pull) is
        stopped by its worker within a heartbeat and ends ``cancelled``, unless it finished
        first.  Any other running job runs to its end: the request came too late.  A
        finished job is returned unchanged; its status says so.  The job returned is the
        state right after the request: what to tell the person who asked follows from it.
        """
        if not keys.valid_name(job_id):
            raise JobNotFound(job_id)
        with reaching(self.redis):
            fields = await self._scripts.cancel(job_id, user=by_user, now=self.clock())
        if not fields:
            raise JobNotFound(job_id)
        return Job.from_fields(fields)

    async def position(self, job: Job | str) -> int:
        """1 for the next job to start on its host, 2 for the one after...; 0 when it is not queued."""
        job_id = job if isinstance(job, str) else job.id
        host = job.host if isinstance(job, Job) else (await self.require(job_id)).host
        rank: Any
        with reaching(self.redis):
            rank = await self.redis.zrank(keys.queued(host), job_id)
        return 0 if rank is None else int(rank) + 1

    async def watch(self, job_id: str, *, refresh: float = 5.0) -> AsyncGenerator[Job, None]:
        """The job now, then after every change, until it has finished.

        Subscribes before reading the job, so no change falls between the two.  Pub/sub
        drops messages while a connection is down, so every ``refresh`` seconds without an
        event the job is read again.  Use ``contextlib.aclosing`` when leaving early.
        """
        async with contextlib.aclosing(self._follow(job_id, refresh=refresh, deadline=math.inf)) as updates:
            async for job in updates:
                yield job

    async def wait(self, job_id: str, *, timeout: float, refresh: float = 5.0) -> Job:
        """The job once finished; TimeoutError after ``timeout`` seconds."""
        deadline = asyncio.get_running_loop().time() + timeout
        async with contextlib.aclosing(self._follow(job_id, refresh=refresh, deadline=deadline)) as updates:
            async for job in updates:
                if job.finished:
                    return job
        raise TimeoutError(f"job {job_id} did not finish within {timeout:g} s")

    async def _follow(self, job_id: str, *, refresh: float, deadline: float) -> AsyncGenerator[Job, None]:
        """watch() until ``deadline`` (loop time).  The deadline is checked, not left to a
        cancellation: one can be lost inside redis-py on Python 3.11 (see worker._cancel_all)."""
        loop = asyncio.get_running_loop()
        pubsub = self.redis.pubsub()
        try:
            with reaching(self.redis):
                await pubsub.subscribe(keys.events(job_id))
            job = await self.require(job_id)
            yield job
            while not job.finished and loop.time() < deadline:
                wait = min(refresh, deadline - loop.time())
                with reaching(self.redis):
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=wait)
                newer = Job.from_fields(json.loads(message["data"])) if message else await self.require(job_id)
                if newer.version > job.version:
                    job = newer
                    yield job
        finally:
            with contextlib.suppress(*REDIS_DOWN):
                await pubsub.aclose()  # type: ignore[no-untyped-call]


async def live_workers(redis: aioredis.Redis, host: str) -> list[WorkerInfo]:
    """Workers of ``host`` that heartbeated within the last three beats."""
    with reaching(redis):
        ids = [text(i) for i in await redis.zrange(keys.workers(host), 0, -1)]
        async with redis.pipeline(transaction=False) as pipe:
            for worker_id in ids:
                pipe.hgetall(keys.worker(host, worker_id))
            rows: list[Any] = await pipe.execute()
        dead = [worker_id for worker_id, raw in zip(ids, rows, strict=True) if not raw]
        if dead:  # their hashes expired: they stopped beating
            await redis.zrem(keys.workers(host), *dead)
    return [WorkerInfo.from_fields(raw) for raw in rows if raw]


async def host_is_live(redis: aioredis.Redis, host: str) -> bool:
    """Whether a job enqueued for ``host`` now would be picked up; refuse the command when not."""
    return bool(await live_workers(redis, host))


async def all_hosts(redis: aioredis.Redis) -> list[str]:
    """Every host a worker has ever served, live or not (see ``live_workers``)."""
    with reaching(redis):
        return sorted(text(h) for h in await redis.zrange(keys.HOSTS, 0, -1))
