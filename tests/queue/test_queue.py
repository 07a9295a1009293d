"""The Slack side: enqueue (idempotent), get, list, position, cancel, watch; Redis unreachable."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
import redis.asyncio as aioredis

from bot.errors import ServiceUnavailable
from bot.jobs.queue import JobContext, JobNotFound, JobQueue, JobStatus, QueueUnavailable, host_is_live, job_id_for
from bot.jobs.queue import keys as k
from tests.queue.helpers import REQUESTER, TEST_SIGNER, connect, make_job, worker
from tests.rig import free_port


async def test_twenty_concurrent_enqueues_of_one_id_make_one_job(redis: aioredis.Redis, host: str) -> None:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    job = make_job(host, "restart", target="web", idempotent=True)
    results = await asyncio.gather(*(queue.enqueue(job) for _ in range(20)))
    assert sum(created for _, created in results) == 1
    assert {stored.id for stored, _ in results} == {job.id}
    assert await redis.xlen(k.stream(host)) == 1
    assert await redis.zcard(k.queued(host)) == 1
    stored = await queue.get(job.id)
    assert stored is not None
    assert (stored.status, stored.verb, stored.target, stored.requester) == (
        JobStatus.QUEUED,
        "restart",
        "web",
        REQUESTER,
    )
    assert stored.created_at > 0 and stored.version == 1


async def test_enqueue_again_returns_the_existing_job_even_after_it_changed(redis: aioredis.Redis, host: str) -> None:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    job = make_job(host, "stop", target="api")
    await queue.enqueue(job)
    await queue.cancel(job.id, "U_BOB")
    again, created = await queue.enqueue(job)
    assert not created
    assert again.status is JobStatus.CANCELLED


async def test_position_and_active_list_follow_queue_order(redis: aioredis.Redis, host: str) -> None:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    jobs = [make_job(host, "pull", target=f"img{i}") for i in range(3)]
    for job in jobs:
        await queue.enqueue(job)
    assert [await queue.position(job) for job in jobs] == [1, 2, 3]
    assert await queue.position(jobs[2].id) == 3
    await queue.cancel(jobs[0].id, "U_ALICE")
    assert [await queue.position(job) for job in jobs] == [0, 1, 2]
    assert [j.id for j in await queue.list(host, active_only=True)] == [jobs[1].id, jobs[2].id]
    recent = await queue.list(host)
    assert [j.id for j in recent] == [j.id for j in reversed(jobs)]
    assert [j.id for j in await queue.list(host, limit=2)] == [jobs[2].id, jobs[1].id]
    assert await queue.list("elsewhere") == []


async def test_recent_list_drops_expired_jobs(redis: aioredis.Redis, host: str) -> None:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    job = make_job(host)
    await queue.enqueue(job)
    await redis.delete(k.job(job.id))  # as if its retention had run out
    assert await queue.list(host) == []
    assert await redis.zcard(k.recent(host)) == 0


async def test_cancel_queued_job_never_runs(redis: aioredis.Redis, host: str) -> None:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    ran: list[str] = []

    async def restart(ctx: JobContext) -> str:
        ran.append(ctx.job.target)
        return "restarted"

    job = make_job(host, "restart", target="web")
    await queue.enqueue(job)
    cancelled = await queue.cancel(job.id, "U_BOB")
    assert cancelled.status is JobStatus.CANCELLED
    assert cancelled.cancel_requested_by == "U_BOB"
    assert cancelled.error == "it never started: nothing was done"
    assert 0 < await redis.ttl(k.job(job.id)) <= 86400  # kept for the retention, then gone
    # A worker that starts afterwards reads the message and acks it without running anything.
    later = make_job(host, "restart", target="other")
    await queue.enqueue(later)
    async with worker(redis, host, {"restart": restart}):
        assert (await queue.wait(later.id, timeout=5)).status is JobStatus.SUCCEEDED
    assert ran == ["other"]  # only the later job
    assert (await redis.xpending(k.stream(host), k.GROUP))["pending"] == 0


async def test_cancel_finished_or_unknown_job(redis: aioredis.Redis, host: str) -> None:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    job = make_job(host)
    await queue.enqueue(job)
    async with worker(redis, host):
        done = await queue.wait(job.id, timeout=5)
    assert done.status is JobStatus.SUCCEEDED
    again = await queue.cancel(job.id, "U_BOB")
    assert again.status is JobStatus.SUCCEEDED and again.cancel_requested_by is None
    assert again.version == done.version  # nothing changed, nothing published
    with pytest.raises(JobNotFound, match="No such job: j-0000000000"):
        await queue.cancel("j-0000000000", "U_BOB")
    assert await queue.get("no such/id") is None


async def test_watch_yields_every_change_until_finished(redis: aioredis.Redis, host: str) -> None:
    queue = JobQueue(redis, signer=TEST_SIGNER)

    async def pull(ctx: JobContext) -> str:
        for layer in range(3):
            await ctx.progress(layer=layer + 1, of=3)
        return "pulled"

    job = make_job(host, "pull", target="busybox", idempotent=True)
    await queue.enqueue(job)
    async with contextlib.aclosing(queue.watch(job.id)) as events:
        seen = [await anext(events)]  # the job as queued, read before any worker can claim it
        async with worker(redis, host, {"pull": pull}):
            async for update in events:
                seen.append(update)
    assert seen[0].status is JobStatus.QUEUED
    assert seen[-1].status is JobStatus.SUCCEEDED and seen[-1].result == "pulled"
    reported = [{"layer": n, "of": 3} for n in (1, 2, 3)]
    assert [j.progress for j in seen if j.progress] == [*reported, reported[-1]]  # the finish keeps the last
    versions = [j.version for j in seen]
    assert versions == sorted(set(versions))  # in order, none twice


async def test_watch_of_a_finished_job_yields_it_once(redis: aioredis.Redis, host: str) -> None:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    job = make_job(host)
    await queue.enqueue(job)
    await queue.cancel(job.id, "U_ALICE")
    seen = [j async for j in queue.watch(job.id)]
    assert [j.status for j in seen] == [JobStatus.CANCELLED]
    with pytest.raises(JobNotFound):
        await anext(queue.watch("j-ffffffffff"))


@pytest.mark.integration  # a real redis client against a closed port
async def test_every_call_says_redis_is_unreachable() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    redis = connect(url)
    queue = JobQueue(redis, signer=TEST_SIGNER)
    job = make_job("h1")
    calls = [
        queue.enqueue(job),
        queue.get(job.id),
        queue.list("h1"),
        queue.cancel(job.id, "U_BOB"),
        queue.position(job),
        queue.wait(job.id, timeout=1),
        host_is_live(redis, "h1"),
    ]
    try:
        for call in calls:
            with pytest.raises(QueueUnavailable, match=f"cannot reach Redis at {url}") as caught:
                await call
            assert isinstance(caught.value, ServiceUnavailable)
    finally:
        await redis.aclose()


def test_job_ids_of_one_request_match() -> None:
    # What the Slack side will do: the same trigger gives the same job.
    assert job_id_for("T1", "C1", "1700000000.1", "restart web") == job_id_for(
        "T1", "C1", "1700000000.1", "restart web"
    )
