"""Status-message followers (bot/jobs/desk.py) over a real Redis: outages, leases, takeovers, one final edit."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import pytest
import redis.asyncio as aioredis

from bot.jobs.desk import SHOWN, JobDesk
from bot.jobs.queue import Job, JobContext, JobQueue, JobStatus
from bot.jobs.queue import keys as k
from bot.jobs.queue.context import JobHandler
from bot.slack.out import SlackOut
from tests.queue.helpers import TEST_SIGNER, connect, make_job, wait_until, worker
from tests.rig import RedisServer, free_port

FINAL = ("succeeded", "failed", "cancelled", "interrupted")


class Recorder:
    """Stands in for SlackOut: records every edit of a status message."""

    def __init__(self) -> None:
        self.edits: list[tuple[str, str]] = []  # (ts, text)
        self._changed = asyncio.Condition()

    async def update_message(self, channel: str, ts: str, message: dict[str, Any]) -> None:
        self.edits.append((ts, str(message.get("text", ""))))
        async with self._changed:
            self._changed.notify_all()

    async def post_message(self, channel: str, message: dict[str, Any], thread_ts: str | None = None) -> str:
        return "1700000000.000100"

    async def respond(self, response_url: str, message: dict[str, Any]) -> None:
        raise AssertionError("every test job has a status message")

    async def wait_for(self, predicate: Callable[[str], bool], timeout: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: any(predicate(t) for _, t in self.edits)), timeout)

    def finals(self) -> list[str]:
        return [text for _, text in self.edits if any(w in text for w in FINAL)]


def _desk(redis: aioredis.Redis, slack: Recorder, holder: str, lease_ttl: float = 1.0) -> JobDesk:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    return JobDesk(queue, redis, cast(SlackOut, slack), lease_ttl=lease_ttl, holder=holder)


def _gated(gate: asyncio.Event) -> dict[str, JobHandler]:
    async def wait_for_gate(ctx: JobContext) -> str:
        await ctx.progress(text="working")
        await gate.wait()
        return "done"

    return {"gated": wait_for_gate}


async def _running(queue: JobQueue, job: Job) -> bool:
    stored = await queue.get(job.id)
    return stored is not None and stored.status is JobStatus.RUNNING


@contextlib.asynccontextmanager
async def _closing(*desks: JobDesk) -> AsyncIterator[None]:
    try:
        yield
    finally:
        for desk in desks:
            await desk.close()


def _persistent(port: int, workdir: str) -> RedisServer:
    binary = shutil.which("redis-server")
    assert binary is not None
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--dir", workdir]
    server = RedisServer(port, subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT), workdir)
    server.wait_ready()
    return server


@pytest.mark.integration
async def test_a_follower_rides_out_a_redis_restart_and_shows_the_end_once() -> None:
    workdir = tempfile.mkdtemp(prefix="dockbell-redis-aof-")
    server = _persistent(free_port(), workdir)
    redis = connect(server.url)
    queue = JobQueue(redis, signer=TEST_SIGNER)
    slack = Recorder()
    desk = _desk(redis, slack, "only")  # and no sweep anywhere: the follower alone must get there
    gate = asyncio.Event()
    job = make_job("flaky", "gated", idempotent=False)
    try:
        async with worker(redis, "flaky", _gated(gate), claim_idle=5.0), _closing(desk):
            await queue.enqueue(job)
            desk.follow(job)
            await slack.wait_for(lambda text: "running" in text)
            server.process.terminate()  # SIGTERM: the append-only file is flushed
            await asyncio.to_thread(server.process.wait, 5)
            gate.set()  # the job ends while Redis is away: its finish, and the event of it, wait
            server = _persistent(server.port, workdir)
            await slack.wait_for(lambda text: "succeeded" in text, timeout=20)
            await wait_until(lambda: _not_following(desk), what="the follower to end")
        assert len(slack.finals()) == 1
        assert await redis.get(SHOWN + job.id) == b"1"
    finally:
        await redis.aclose()
        server.stop()


async def _not_following(desk: JobDesk) -> bool:
    return not desk.following


async def test_only_one_of_two_desks_follows_a_job(redis: aioredis.Redis, host: str) -> None:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    slack = Recorder()
    a, b = _desk(redis, slack, "a"), _desk(redis, slack, "b")
    gate = asyncio.Event()
    job = make_job(host, "gated")
    async with worker(redis, host, _gated(gate)), _closing(a, b):
        await queue.enqueue(job)
        a.follow(job)
        b.follow(job)  # both asked at once: SET NX lets one through
        await wait_until(lambda: _one_follows(a, b), what="one follower to remain")
        assert await a.leases.holder_of(job.id) in ("a", "b")
        gate.set()
        await slack.wait_for(lambda text: "succeeded" in text)
        await wait_until(lambda: _nobody(a, b), what="the follower to end")
    assert len(slack.finals()) == 1


async def _one_follows(a: JobDesk, b: JobDesk) -> bool:
    return len(a.following) + len(b.following) == 1


async def _nobody(a: JobDesk, b: JobDesk) -> bool:
    return not a.following and not b.following


async def test_a_sweep_takes_over_a_running_job_whose_follower_died(
    redis: aioredis.Redis, host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    slack = Recorder()
    dead, alive = _desk(redis, slack, "dead"), _desk(redis, slack, "alive")
    gate = asyncio.Event()
    job = make_job(host, "gated")
    async with worker(redis, host, _gated(gate)), _closing(alive):
        await queue.enqueue(job)
        dead.follow(job)
        await slack.wait_for(lambda text: "running" in text)
        assert await alive.sweep(host) == 0  # its follower is alive: nothing to take over
        # The follower's process dies: nothing refreshes its lease, nothing gives it back.
        monkeypatch.setattr(dead.leases, "release", _nothing)
        await dead.close()
        assert await alive.leases.holder_of(job.id) == "dead"
        await wait_until(lambda: _swept_into(alive, host, job), timeout=5, what="the lease to lapse and a sweep")
        assert await alive.leases.holder_of(job.id) == "alive"
        gate.set()
        await slack.wait_for(lambda text: "succeeded" in text)
        await wait_until(lambda: _nobody(dead, alive), what="the new follower to end")
    assert len(slack.finals()) == 1


async def _nothing(name: str) -> None:
    return None


async def _swept_into(desk: JobDesk, host: str, job: Job) -> bool:
    await desk.sweep(host)
    return job.id in desk.following


async def test_a_finished_job_nobody_showed_is_shown_once_by_concurrent_sweeps(
    redis: aioredis.Redis, host: str
) -> None:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    slack = Recorder()
    desks = [_desk(redis, slack, f"d{i}") for i in range(3)]
    job = make_job(host, "noop")
    async with worker(redis, host), _closing(*desks):
        await queue.enqueue(job)  # nobody follows it: its submitter died at once
        await queue.wait(job.id, timeout=5)
        shown = [sum(await asyncio.gather(*(d.sweep(host) for d in desks))) for _ in range(3)]
    assert shown == [1, 0, 0]
    assert len(slack.finals()) == 1 and await redis.get(SHOWN + job.id) == b"1"


async def test_a_follower_whose_lease_another_took_stops(redis: aioredis.Redis, host: str) -> None:
    """Its lease lapsed while it was cut off, and another process took the job over: it lets go."""
    queue = JobQueue(redis, signer=TEST_SIGNER)
    slack = Recorder()
    first, second = _desk(redis, slack, "first"), _desk(redis, slack, "second")
    gate = asyncio.Event()
    job = make_job(host, "gated")
    async with worker(redis, host, _gated(gate)), _closing(first, second):
        await queue.enqueue(job)
        first.follow(job)
        await wait_until(lambda: _running(queue, job), what="the job to run")
        await redis.set(k.FOLLOWER + job.id, "second", px=10_000)  # as if it had lapsed and been taken
        second.follow(job, leased=True)
        await wait_until(lambda: _only(second, first, job), what="the first follower to let go")
        gate.set()
        await slack.wait_for(lambda text: "succeeded" in text)
        await wait_until(lambda: _nobody(first, second), what="the follower to end")
    assert len(slack.finals()) == 1


async def _only(keeps: JobDesk, lets_go: JobDesk, job: Job) -> bool:
    return job.id in keeps.following and job.id not in lets_go.following
