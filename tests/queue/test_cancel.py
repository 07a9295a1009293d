"""Cancel: it stops only what it can stop, and a job never ends "cancelled" when it did its work."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from bot.jobs.queue import Cancellable, EffectUnknown, JobContext, JobQueue, JobStatus
from bot.jobs.queue.context import JobHandler
from tests.queue.helpers import TEST_SIGNER, make_job, wait_until, worker

pytestmark = pytest.mark.integration


async def _running(queue: JobQueue, job_id: str) -> bool:
    job = await queue.get(job_id)
    return job is not None and job.status is JobStatus.RUNNING


async def _run_and_cancel(redis: aioredis.Redis, host: str, handler: JobHandler, *, stored_flag: bool) -> JobContext:
    """Start a job of verb "op" under ``handler``, cancel it as U_BOB once it runs; the handler's context."""
    queue = JobQueue(redis, signer=TEST_SIGNER)
    seen: list[JobContext] = []

    async def recording(ctx: JobContext) -> str:
        seen.append(ctx)
        return await handler(ctx)

    wrapped: JobHandler = Cancellable(recording, effect="stopped") if isinstance(handler, Cancellable) else recording
    job = make_job(host, "op", cancellable_running=stored_flag)
    await queue.enqueue(job)
    async with worker(redis, host, {"op": wrapped}):
        await wait_until(lambda: _running(queue, job.id), what="the job to run")
        asked = await queue.cancel(job.id, "U_BOB")
        assert asked.status is JobStatus.RUNNING and asked.cancel_requested_by == "U_BOB"
        await queue.wait(job.id, timeout=10)
    return seen[0]


async def test_a_running_job_that_cannot_be_stopped_runs_to_its_end(redis: aioredis.Redis, host: str) -> None:
    outcome: list[str] = []

    async def restart(ctx: JobContext) -> str:
        await asyncio.sleep(1.0)  # ten heartbeats: every one of them sees the cancel request
        outcome.append("finished")
        return "web: restarted"

    ctx = await _run_and_cancel(redis, host, restart, stored_flag=False)
    done = await JobQueue(redis).require(ctx.job.id)
    assert (done.status, done.result, done.cancel_requested_by) == (JobStatus.SUCCEEDED, "web: restarted", "U_BOB")
    assert outcome == ["finished"] and not ctx.cancelled.is_set()


async def test_a_forged_flag_in_redis_does_not_make_a_job_stoppable(redis: aioredis.Redis, host: str) -> None:
    async def restart(ctx: JobContext) -> str:
        await asyncio.sleep(0.6)  # six heartbeats: every one of them sees the cancel request
        return "web: restarted"

    # The stored job claims it can be stopped; the worker goes by its own handler table.
    ctx = await _run_and_cancel(redis, host, restart, stored_flag=True)
    done = await JobQueue(redis).require(ctx.job.id)
    assert done.status is JobStatus.SUCCEEDED and not ctx.cancelled.is_set()


async def test_a_stoppable_job_is_stopped_and_says_what_that_left(redis: aioredis.Redis, host: str) -> None:
    async def pull(ctx: JobContext) -> str:
        await asyncio.sleep(30)
        return "pulled"

    ctx = await _run_and_cancel(redis, host, Cancellable(pull, effect="unused"), stored_flag=True)
    done = await JobQueue(redis).require(ctx.job.id)
    assert (done.status, done.error, done.cancel_requested_by) == (JobStatus.CANCELLED, "stopped", "U_BOB")
    assert ctx.cancelled.is_set()


async def test_a_stoppable_job_that_had_finished_anyway_succeeds(redis: aioredis.Redis, host: str) -> None:
    async def pull(ctx: JobContext) -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            return "Status: Downloaded newer image for x"  # the engine's last word had arrived
        return "unreachable"

    ctx = await _run_and_cancel(redis, host, Cancellable(pull, effect="unused"), stored_flag=True)
    done = await JobQueue(redis).require(ctx.job.id)
    assert (done.status, done.result) == (JobStatus.SUCCEEDED, "Status: Downloaded newer image for x")
    assert done.cancel_requested_by == "U_BOB"


async def test_a_stopped_job_that_cannot_tell_what_it_did_is_interrupted(redis: aioredis.Redis, host: str) -> None:
    async def pull(ctx: JobContext) -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            raise EffectUnknown("the pull was cut short, and whether the image was updated is unknown") from None
        return "unreachable"

    ctx = await _run_and_cancel(redis, host, Cancellable(pull, effect="unused"), stored_flag=True)
    done = await JobQueue(redis).require(ctx.job.id)
    assert done.status is JobStatus.INTERRUPTED and "whether the image was updated is unknown" in done.error


async def test_a_queued_job_is_cancelled_at_once_and_never_runs(redis: aioredis.Redis, host: str) -> None:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    job = make_job(host, "op")
    await queue.enqueue(job)
    cancelled = await queue.cancel(job.id, "U_BOB")
    assert (cancelled.status, cancelled.error, cancelled.attempts) == (
        JobStatus.CANCELLED,
        "it never started: nothing was done",
        0,
    )
    assert not cancelled.cancel_would_stop
