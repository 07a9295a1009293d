"""Redis going away under a running worker: restarted empty, or down for a while with its data kept."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from bot.jobs.queue import JobQueue, JobStatus, QueueUnavailable, host_is_live
from tests.queue.helpers import RUNS, TEST_SIGNER, connect, make_job, recording_handlers, wait_until, worker
from tests.rig import RedisServer, free_port

pytestmark = pytest.mark.integration  # each test starts its own redis-server


@pytest.fixture
def own_server() -> Iterator[RedisServer]:
    """A server of this test's own: restarting the shared one would wipe the other tests' queues."""
    server = RedisServer.start()
    yield server
    server.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def own_redis(own_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = connect(own_server.url)
    yield client
    await client.aclose()


async def test_worker_and_queue_recover_from_a_redis_restart(
    own_server: RedisServer, own_redis: aioredis.Redis
) -> None:
    queue = JobQueue(own_redis, signer=TEST_SIGNER)
    host = "restarted"
    async with worker(own_redis, host, recording_handlers(own_redis, "w")):
        before = make_job(host)
        await queue.enqueue(before)
        assert (await queue.wait(before.id, timeout=5)).status is JobStatus.SUCCEEDED
        port = own_server.port
        own_server.stop()
        with pytest.raises(QueueUnavailable, match=f"cannot reach Redis at redis://127.0.0.1:{port}/0"):
            await queue.enqueue(make_job(host))
        with pytest.raises(QueueUnavailable):
            await host_is_live(own_redis, host)
        await asyncio.sleep(0.5)  # the worker meets the outage and backs off
        fresh = RedisServer.start(port)  # empty: no persistence in the rig
        own_server.process, own_server.workdir = fresh.process, fresh.workdir
        after = make_job(host)
        await queue.enqueue(after)
        # The worker re-creates its stream's consumer group and takes the job.
        assert (await queue.wait(after.id, timeout=5)).status is JobStatus.SUCCEEDED
        await wait_until(lambda: host_is_live(own_redis, host), what="the worker to beat again")
    assert await own_redis.lrange(RUNS + after.id, 0, -1) == [b"w"]


def _persistent(port: int, workdir: str) -> RedisServer:
    binary = shutil.which("redis-server")
    assert binary is not None
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--dir", workdir]
    server = RedisServer(port, subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT), workdir)
    server.wait_ready()
    return server


async def test_outage_loses_and_duplicates_nothing() -> None:
    """Down for longer than a job, back with its data: every job runs exactly once, its result kept."""
    workdir = tempfile.mkdtemp(prefix="dockbell-redis-aof-")
    server = _persistent(free_port(), workdir)
    redis = connect(server.url)
    queue = JobQueue(redis, signer=TEST_SIGNER)
    host = "flaky"
    running = make_job(host, "slow", args={"seconds": 0.4}, idempotent=False)
    waiting = make_job(host, "slow", args={"seconds": 0.1}, idempotent=False)
    try:
        # claim_idle beyond the outage: this test is about riding it out, not about reclaiming.
        async with worker(redis, host, recording_handlers(redis, "w"), concurrency=1, claim_idle=3.0):
            await queue.enqueue(running)
            await queue.enqueue(waiting)

            async def started() -> bool:
                job = await queue.get(running.id)
                return job is not None and job.status is JobStatus.RUNNING

            await wait_until(started, what="the first job to start")
            server.process.terminate()  # SIGTERM: redis-server flushes its append-only file
            await asyncio.to_thread(server.process.wait, 5)
            # The handler keeps going and ends meanwhile: progress, heartbeats and its finish fail.
            await asyncio.sleep(0.8)
            server = _persistent(server.port, workdir)
            done = [await queue.wait(job.id, timeout=5) for job in (running, waiting)]
            after = make_job(host)
            await queue.enqueue(after)
            done.append(await queue.wait(after.id, timeout=5))
        assert [job.status for job in done] == [JobStatus.SUCCEEDED] * 3
        assert [job.attempts for job in done] == [1, 1, 1]
        for job in (running, waiting, after):
            assert await redis.lrange(RUNS + job.id, 0, -1) == [b"w"]
        assert done[0].progress["step"] == done[0].progress["of"]  # the last progress was written at the finish
    finally:
        await redis.aclose()
        server.stop()
