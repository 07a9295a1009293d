"""The worker: routing, locks in enqueue order, cancel, timeout, errors, progress, liveness, graceful stop."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
import redis.asyncio as aioredis

from bot.jobs.queue import Cancellable, Job, JobContext, JobQueue, JobStatus, all_hosts, host_is_live, live_workers
from bot.jobs.queue import keys as k
from bot.jobs.queue.context import JobHandler
from tests.queue.helpers import RUNS, TEST_SIGNER, make_job, recording_handlers, wait_until, worker


async def test_jobs_go_only_to_their_hosts_workers(redis: aioredis.Redis, host: str) -> None:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    other = host + "-b"
    for_b = [make_job(other) for _ in range(3)]
    for_a = make_job(host)
    async with worker(redis, host, recording_handlers(redis, "worker-a")):
        for job in for_b:
            await queue.enqueue(job)
        await queue.enqueue(for_a)
        assert (await queue.wait(for_a.id, timeout=5)).status is JobStatus.SUCCEEDED
        # Each later job of A's is another read of A's worker with B's jobs waiting: after two
        # more, done, B's must still be untouched (a fixed sleep gave "some polls, probably").
        for _ in range(2):
            later = make_job(host)
            await queue.enqueue(later)
            assert (await queue.wait(later.id, timeout=5)).status is JobStatus.SUCCEEDED
        assert [await queue.position(job) for job in for_b] == [1, 2, 3]
    async with worker(redis, other, recording_handlers(redis, "worker-b")):
        for job in for_b:
            assert (await queue.wait(job.id, timeout=5)).worker_id is not None
    assert [await redis.lrange(RUNS + job.id, 0, -1) for job in for_b] == [[b"worker-b"]] * 3


async def test_jobs_on_one_lock_run_one_after_the_other_in_enqueue_order(redis: aioredis.Redis, host: str) -> None:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    log: list[str] = []

    async def restart(ctx: JobContext) -> str:
        log.append(f"start {ctx.job.target}#{ctx.job.args['n']}")
        await asyncio.sleep(0.3)
        log.append(f"end {ctx.job.target}#{ctx.job.args['n']}")
        return "restarted"

    handlers: dict[str, JobHandler] = {"restart": restart}
    first = make_job(host, "restart", target="web", args={"n": 1}, lock_key="container:web1")
    second = make_job(host, "restart", target="web", args={"n": 2}, lock_key="container:web1")
    third = make_job(host, "restart", target="web", args={"n": 3}, lock_key="container:web1")
    other = make_job(host, "restart", target="api", args={"n": 1}, lock_key="container:api1")
    for job in (first, second, third, other):
        await queue.enqueue(job)
    # Two workers, so the jobs on one lock are held by different workers at once.
    async with worker(redis, host, handlers), worker(redis, host, handlers):

        async def second_waits() -> bool:
            job = await queue.get(second.id)
            return job is not None and job.progress.get("waiting_for") == first.id

        await wait_until(second_waits, what="the second job to report what it waits for")
        waiting = await queue.get(second.id)
        assert waiting is not None and waiting.status is JobStatus.QUEUED
        assert waiting.progress == {
            "waiting_for": first.id,
            "waiting_for_verb": "restart",
            "waiting_for_user": "U_ALICE",
        }
        for job in (first, second, third, other):
            assert (await queue.wait(job.id, timeout=5)).status is JobStatus.SUCCEEDED
    web = [entry for entry in log if "web" in entry]
    assert web == ["start web#1", "end web#1", "start web#2", "end web#2", "start web#3", "end web#3"]
    # The api job did not wait for the web ones.
    assert log.index("start api#1") < log.index("end web#1")
    assert await redis.exists(k.lock(host, "container:web1")) == 0
    assert await redis.zcard(k.lock_queue(host, "container:web1")) == 0


async def test_cancel_running_job(redis: aioredis.Redis, host: str) -> None:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    cleaned_up = asyncio.Event()
    saw_flag: list[bool] = []

    async def pull(ctx: JobContext) -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            saw_flag.append(ctx.cancelled.is_set())
            cleaned_up.set()
            raise
        return "pulled"

    job = make_job(host, "pull", target="busybox", idempotent=True, cancellable_running=True)
    await queue.enqueue(job)
    async with worker(redis, host, {"pull": Cancellable(pull, effect="the image was not updated")}):
        await wait_until(lambda: _status_is(queue, job.id, JobStatus.RUNNING), what="running")
        flagged = await queue.cancel(job.id, "U_BOB")
        assert flagged.status is JobStatus.RUNNING and flagged.cancel_requested_by == "U_BOB"
        loop = asyncio.get_running_loop()
        asked = loop.time()
        done = await queue.wait(job.id, timeout=5)
        assert loop.time() - asked < 1.0  # within a heartbeat or so
    assert (done.status, done.error, done.cancel_requested_by) == (
        JobStatus.CANCELLED,
        "the image was not updated",
        "U_BOB",
    )
    assert cleaned_up.is_set() and saw_flag == [True]


async def test_timeout_fails_the_job(redis: aioredis.Redis, host: str) -> None:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    job = make_job(host, "sleep", args={"seconds": 10}, timeout_seconds=0.3)
    await queue.enqueue(job)
    async with worker(redis, host):
        done = await queue.wait(job.id, timeout=5)
    assert (done.status, done.error) == (JobStatus.FAILED, "timed out after 0.3 s")
    assert done.finished_at is not None and done.started_at is not None
    assert 0.3 <= done.finished_at - done.started_at < 1.0


async def test_handler_errors(redis: aioredis.Redis, host: str, caplog: pytest.LogCaptureFixture) -> None:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    docker = make_job(host, "docker_error", target="nope")
    bug = make_job(host, "bug")
    unknown = make_job(host, "export")
    for job in (docker, bug, unknown):
        await queue.enqueue(job)
    with caplog.at_level(logging.ERROR, logger="bot.jobs.queue.worker"):
        async with worker(redis, host):
            results = [await queue.wait(job.id, timeout=5) for job in (docker, bug, unknown)]
    assert results[0].status is JobStatus.FAILED
    assert results[0].error == "Error response from daemon: No such container: nope"
    assert results[1].status is JobStatus.FAILED
    assert results[1].error.startswith("dockbell failed while running the job (incident ")
    incident = results[1].error.split("incident ")[1].rstrip(")")
    record = next(r for r in caplog.records if incident in r.getMessage())
    assert record.exc_info is not None and "a bug in a handler" in str(record.exc_info[1])
    assert "KeyError" not in results[1].error  # no internals in what Slack shows
    assert results[2].error == f"the worker for {host} cannot run 'export' jobs"


async def test_progress_is_stored_and_published(redis: aioredis.Redis, host: str) -> None:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    release = asyncio.Event()

    async def pull(ctx: JobContext) -> str:
        await ctx.progress(phase="download", percent=40)
        await ctx.progress(percent=80)
        await release.wait()
        return "done"

    job = make_job(host, "pull", idempotent=True)
    await queue.enqueue(job)
    pubsub = redis.pubsub()
    await pubsub.subscribe(k.events(job.id))
    try:
        async with worker(redis, host, {"pull": pull}):

            async def progressed() -> bool:
                stored = await queue.get(job.id)
                return stored is not None and stored.progress.get("percent") == 80

            await wait_until(progressed, what="progress")
            stored = await queue.get(job.id)
            assert stored is not None and stored.progress == {"phase": "download", "percent": 80}
            assert stored.heartbeat_at is not None
            release.set()
            await queue.wait(job.id, timeout=5)
        statuses, progress = [], []
        # get_message answers None for the subscribe confirmation too: read for a while instead.
        deadline = asyncio.get_running_loop().time() + 0.5
        while asyncio.get_running_loop().time() < deadline:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.05)
            if message is not None:
                update = Job.from_fields(json.loads(message["data"]))
                statuses.append(update.status.value)
                progress.append(update.progress)
        assert statuses == ["running", "running", "running", "succeeded"]
        assert progress[1:3] == [{"phase": "download", "percent": 40}, {"phase": "download", "percent": 80}]
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]


async def test_liveness(redis: aioredis.Redis, host: str) -> None:
    assert not await host_is_live(redis, host)
    w = worker(redis, host)
    w.info["engine"] = "20.10.24"
    async with w:
        await wait_until(lambda: host_is_live(redis, host), what="the worker to show up")
        [seen] = await live_workers(redis, host)
        assert (seen.worker_id, seen.host, seen.info) == (w.worker_id, host, {"engine": "20.10.24"})
        assert seen.pid > 0 and seen.heartbeat_at >= seen.started_at > 0
        assert host in await all_hosts(redis)
    assert not await host_is_live(redis, host)  # a stopping worker deregisters at once
    assert host in await all_hosts(redis)


async def test_dead_worker_drops_out_of_liveness(redis: aioredis.Redis, host: str) -> None:
    w = worker(redis, host)
    task = asyncio.create_task(w.run())
    await wait_until(lambda: host_is_live(redis, host), what="the worker to show up")
    task.cancel()  # no deregistration: like a crash, only the TTL removes it
    await asyncio.wait({task}, timeout=5)
    assert task.cancelled()
    await wait_until(lambda: _not(host_is_live(redis, host)), timeout=2, what="the worker to expire")


async def test_long_job_is_never_run_twice_by_live_workers(redis: aioredis.Redis, host: str) -> None:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    job = make_job(host, "slow", args={"seconds": 1.5}, idempotent=True)  # 3x claim_idle
    await queue.enqueue(job)
    async with (
        worker(redis, host, recording_handlers(redis, "w1")),
        worker(redis, host, recording_handlers(redis, "w2")),
    ):
        done = await queue.wait(job.id, timeout=5)
    assert done.status is JobStatus.SUCCEEDED and done.attempts == 1
    assert await redis.llen(RUNS + job.id) == 1


async def test_stop_lets_running_jobs_finish_within_the_drain(redis: aioredis.Redis, host: str) -> None:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    job = make_job(host, "sleep", args={"seconds": 0.3})
    await queue.enqueue(job)
    w = worker(redis, host)
    task = asyncio.create_task(w.run())
    await wait_until(lambda: _status_is(queue, job.id, JobStatus.RUNNING), what="running")
    await w.stop(drain_timeout=5)
    await task
    done = await queue.get(job.id)
    assert done is not None and done.status is JobStatus.SUCCEEDED


async def test_stop_hands_back_what_outlives_the_drain(redis: aioredis.Redis, host: str) -> None:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    again = make_job(host, "slow", args={"seconds": 1.0}, idempotent=True)
    unsafe = make_job(host, "slow", args={"seconds": 1.0}, idempotent=False)
    behind = make_job(host, "slow", args={"seconds": 0.1}, idempotent=False, lock_key="container:c1")
    ahead = make_job(host, "slow", args={"seconds": 1.0}, idempotent=True, lock_key="container:c1")
    for job in (again, unsafe, ahead, behind):
        await queue.enqueue(job)
    first = worker(redis, host, recording_handlers(redis, "first"))
    task = asyncio.create_task(first.run())
    await wait_until(lambda: _all_running(queue, again.id, unsafe.id, ahead.id), what="three jobs running")
    await first.stop(drain_timeout=0.2)
    await task
    handed = {job.id: await queue.get(job.id) for job in (again, unsafe, ahead, behind)}
    assert {i: j.status for i, j in handed.items() if j} == {
        again.id: JobStatus.QUEUED,
        unsafe.id: JobStatus.INTERRUPTED,
        ahead.id: JobStatus.QUEUED,
        behind.id: JobStatus.QUEUED,  # never started: safe to run later whatever it is
    }
    interrupted = handed[unsafe.id]
    assert interrupted is not None and "stopped before it finished" in interrupted.error
    assert "check with `docker ps`" in interrupted.error
    # The next worker takes the handed-back jobs at once, not after claim_idle, and in lock order.
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with worker(redis, host, recording_handlers(redis, "second"), claim_idle=5.0, heartbeat=0.5):
        for job in (again, ahead, behind):
            assert (await queue.wait(job.id, timeout=5)).status is JobStatus.SUCCEEDED
    assert loop.time() - started < 2.5
    assert await redis.lrange(RUNS + again.id, 0, -1) == [b"first", b"second"]
    assert await redis.lrange(RUNS + unsafe.id, 0, -1) == [b"first"]
    assert await redis.lrange(RUNS + behind.id, 0, -1) == [b"second"]


async def test_maintenance_trims_the_stream_to_what_is_pending(redis: aioredis.Redis, host: str) -> None:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    jobs = [make_job(host) for _ in range(5)]
    for job in jobs:
        await queue.enqueue(job)
    w = worker(redis, host)
    async with w:
        for job in jobs:
            await queue.wait(job.id, timeout=5)
        await w.maintain()
        assert await redis.xlen(k.stream(host)) <= 1  # at most the last delivered entry
        later = make_job(host)
        await queue.enqueue(later)
        assert (await queue.wait(later.id, timeout=5)).status is JobStatus.SUCCEEDED


async def _status_is(queue: JobQueue, job_id: str, status: JobStatus) -> bool:
    job = await queue.get(job_id)
    return job is not None and job.status is status


async def _all_running(queue: JobQueue, *ids: str) -> bool:
    return all([await _status_is(queue, i, JobStatus.RUNNING) for i in ids])


async def _not(aw: object) -> bool:
    return not await aw  # type: ignore[misc]


async def test_cancel_job_waiting_for_its_lock(redis: aioredis.Redis, host: str) -> None:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    first = make_job(host, "slow", args={"seconds": 0.5}, lock_key="container:db")
    second = make_job(host, "slow", args={"seconds": 0.1}, lock_key="container:db")
    third = make_job(host, "slow", args={"seconds": 0.1}, lock_key="container:db")
    for job in (first, second, third):
        await queue.enqueue(job)
    async with worker(redis, host, recording_handlers(redis, "w")):

        async def second_waits() -> bool:
            job = await queue.get(second.id)
            return job is not None and "waiting_for" in job.progress

        await wait_until(second_waits, what="the second job to wait")
        cancelled = await queue.cancel(second.id, "U_BOB")
        assert cancelled.status is JobStatus.CANCELLED  # not started: cancelled at once
        assert (await queue.wait(third.id, timeout=5)).status is JobStatus.SUCCEEDED
    assert await redis.llen(RUNS + second.id) == 0
    assert await redis.lrange(RUNS + third.id, 0, -1) == [b"w"]
    assert (await redis.xpending(k.stream(host), k.GROUP))["pending"] == 0


def test_worker_refuses_a_claim_window_its_heartbeat_cannot_keep(redis: aioredis.Redis) -> None:
    with pytest.raises(ValueError, match="claim_idle must be at least 3 heartbeats"):
        worker(redis, "h1", heartbeat=1.0, claim_idle=2.0)
    with pytest.raises(ValueError, match="bad host name"):
        worker(redis, "no such host")
