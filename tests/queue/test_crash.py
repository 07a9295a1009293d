"""Worker death: kill -9 of a worker process mid-job, SIGTERM, and a job whose workers keep dying."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.jobs.queue import Job, JobContext, JobQueue, JobStatus, host_is_live, live_workers
from bot.jobs.queue import keys as k
from bot.jobs.queue.scripts import DIED, STOPPED, gave_up
from tests.queue.helpers import FAST, RUNS, TEST_SIGNER, make_job, recording_handlers, wait_until, worker
from tests.rig import RedisServer

ROOT = Path(__file__).resolve().parents[2]


@contextlib.asynccontextmanager
async def worker_process(server: RedisServer, host: str, worker_id: str) -> AsyncIterator[subprocess.Popen[bytes]]:
    """``python -m tests.queue.worker_proc`` as a process of its own; its log is shown if the test fails."""
    with tempfile.TemporaryFile() as logfile:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.queue.worker_proc", server.url, host, worker_id],
            cwd=ROOT,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            yield proc
        except BaseException:
            logfile.seek(0)
            print(logfile.read().decode(errors="replace"))
            raise
        finally:
            if proc.poll() is None:
                proc.kill()
            await asyncio.to_thread(proc.wait, 5)


async def _running_on(queue: JobQueue, worker_id: str, *jobs: Job) -> bool:
    for job in jobs:
        stored = await queue.get(job.id)
        if stored is None or stored.status is not JobStatus.RUNNING or stored.worker_id != worker_id:
            return False
        if not stored.progress:  # well into the handler, not just started
            return False
    return True


@pytest.mark.parametrize("rescuer", ["already running", "started after the kill"])
async def test_kill_9_mid_job(redis: aioredis.Redis, queue_redis_server: RedisServer, host: str, rescuer: str) -> None:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    safe = make_job(host, "slow", args={"seconds": 1.0}, idempotent=True)
    unsafe = make_job(host, "slow", args={"seconds": 1.0}, idempotent=False)
    async with contextlib.AsyncExitStack() as stack:
        doomed = await stack.enter_async_context(worker_process(queue_redis_server, host, "doomed"))
        await wait_until(lambda: _n_live(redis, host, 1), timeout=10, what="the worker process")
        await queue.enqueue(safe)
        await queue.enqueue(unsafe)
        await wait_until(lambda: _running_on(queue, "doomed", safe, unsafe), timeout=10, what="jobs on the process")
        if rescuer == "already running":
            await stack.enter_async_context(worker(redis, host, recording_handlers(redis, "rescuer")))
            await wait_until(lambda: _n_live(redis, host, 2), what="both workers")
        doomed.kill()  # SIGKILL: no handback, no deregistration
        await asyncio.to_thread(doomed.wait, 5)
        loop = asyncio.get_running_loop()
        killed_at = loop.time()
        if rescuer == "started after the kill":
            await stack.enter_async_context(worker(redis, host, recording_handlers(redis, "rescuer")))
        unsafe_done = await queue.wait(unsafe.id, timeout=5)
        interrupted_after = loop.time() - killed_at
        safe_done = await queue.wait(safe.id, timeout=5)
        completed_after = loop.time() - killed_at
    # Bounded: claim_idle (0.5 s) after the last heartbeat, one reclaim round, then the 1 s re-run.
    assert interrupted_after < 1.5
    assert completed_after < 3.0
    assert (unsafe_done.status, unsafe_done.error, unsafe_done.attempts) == (JobStatus.INTERRUPTED, DIED, 1)
    assert await redis.lrange(RUNS + unsafe.id, 0, -1) == [b"doomed"]
    assert (safe_done.status, safe_done.attempts) == (JobStatus.SUCCEEDED, 2)
    assert safe_done.worker_id not in (None, "doomed")
    assert await redis.lrange(RUNS + safe.id, 0, -1) == [b"doomed", b"rescuer"]
    assert (await redis.xpending(k.stream(host), k.GROUP))["pending"] == 0
    # The dead worker's liveness entry lapses by itself.
    await wait_until(lambda: _n_live(redis, host, 0), timeout=2, what="the dead worker to drop out")


async def test_sigterm_hands_jobs_back(redis: aioredis.Redis, queue_redis_server: RedisServer, host: str) -> None:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    # Far longer than the 0.2 s drain, so that they are still running when it ends.
    safe = make_job(host, "slow", args={"seconds": 3.0}, idempotent=True)
    unsafe = make_job(host, "slow", args={"seconds": 3.0}, idempotent=False)
    async with worker_process(queue_redis_server, host, "terminated") as proc:
        await wait_until(lambda: _n_live(redis, host, 1), timeout=10, what="the worker process")
        await queue.enqueue(safe)
        await queue.enqueue(unsafe)
        await wait_until(lambda: _running_on(queue, "terminated", safe, unsafe), timeout=10, what="jobs running")
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 5) == 0  # drain 0.2 s, then a clean exit
    assert not await host_is_live(redis, host)  # deregistered, not left to expire
    handed = await queue.get(safe.id)
    assert handed is not None and handed.status is JobStatus.QUEUED
    stopped = await queue.get(unsafe.id)
    assert stopped is not None and (stopped.status, stopped.error) == (JobStatus.INTERRUPTED, STOPPED)
    loop = asyncio.get_running_loop()
    started = loop.time()
    # A slow-claiming worker still takes it at once: a handed-back message looks idle for years.
    async with worker(redis, host, recording_handlers(redis, "next"), worker_id="next", heartbeat=1.0, claim_idle=10.0):
        await wait_until(lambda: _running_on(queue, "next", safe), what="the handed-back job to restart")
        restarted_after = loop.time() - started
        await queue.cancel(safe.id, "U_ALICE")  # no need to sit through the 3 s again
        done = await queue.wait(safe.id, timeout=5)
    assert restarted_after < 1.0
    assert done.status is JobStatus.CANCELLED and done.attempts == 2
    assert await redis.lrange(RUNS + safe.id, 0, -1) == [b"terminated", b"next"]


@pytest.mark.parametrize(("attempts", "expected"), [(1, JobStatus.SUCCEEDED), (3, JobStatus.FAILED)])
async def test_orphan_is_rerun_at_most_three_times(
    redis: aioredis.Redis, host: str, attempts: int, expected: JobStatus
) -> None:
    """A job left 'running' by a dead worker (simulated: a consumer that read it and vanished)."""
    queue = JobQueue(redis, signer=TEST_SIGNER)
    job = make_job(host, "noop", idempotent=True)
    await queue.enqueue(job)
    await redis.xgroup_create(k.stream(host), k.GROUP, id="0", mkstream=True)
    await redis.xreadgroup(k.GROUP, "ghost", {k.stream(host): ">"}, count=1)
    await redis.hset(
        k.job(job.id),
        mapping={"status": '"running"', "worker_id": '"ghost"', "run_id": '"r0"', "attempts": str(attempts)},
    )
    async with worker(redis, host):  # starting up is enough: it recovers what is orphaned
        done = await queue.wait(job.id, timeout=3)
    assert done.status is expected
    if expected is JobStatus.FAILED:
        assert done.error == gave_up(3) == "gave up after 3 attempts: the worker running it died each time"
    else:
        assert done.attempts == 2


async def _n_live(redis: aioredis.Redis, host: str, n: int) -> bool:
    return len(await live_workers(redis, host)) == n


assert FAST["claim_idle"] == 0.5  # the bounds above assume it


async def test_a_late_worker_loses_its_job_and_its_outcome(redis: aioredis.Redis, host: str) -> None:
    """Fencing: a worker whose heartbeat lapses (here: beats slower than the other's claim_idle)
    is stopped once the job is taken from it, and what it reports afterwards is dropped."""
    queue = JobQueue(redis, signer=TEST_SIGNER)
    cut_short = asyncio.Event()

    async def restart(ctx: JobContext) -> str:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cut_short.set()
            raise
        return "restarted"

    job = make_job(host, "restart", target="web", idempotent=False)
    await queue.enqueue(job)
    late = worker(redis, host, {"restart": restart}, worker_id="late", heartbeat=1.0, claim_idle=3.0)
    async with late:
        await wait_until(lambda: _status(queue, job, "late"), what="the job to run on the late worker")
        async with worker(redis, host, worker_id="strict"):  # claim_idle 0.5 s < the late worker's 1 s beat
            done = await queue.wait(job.id, timeout=5)
            await asyncio.wait_for(cut_short.wait(), 3)  # at the late worker's next beat
    # Leaving `late` stopped it and waited for all it does, its late report included: that
    # report is in Redis by now, or was dropped.
    assert (done.status, done.error, done.worker_id) == (JobStatus.INTERRUPTED, DIED, "strict")
    final = await queue.get(job.id)
    assert final is not None and (final.status, final.version) == (JobStatus.INTERRUPTED, done.version)


async def _status(queue: JobQueue, job: Job, worker_id: str) -> bool:
    stored = await queue.get(job.id)
    return stored is not None and stored.status is JobStatus.RUNNING and stored.worker_id == worker_id
