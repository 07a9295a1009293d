"""Jobs, handlers and fast-beating workers for the queue tests."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from bot.core.types import ReplyTo, Requester
from bot.errors import DockerError
from bot.jobs.queue import Cancellable, Job, JobContext, Worker, job_id_for
from bot.jobs.queue.context import JobHandler
from bot.jobs.queue.signing import Signer

TEST_SIGNER = Signer.from_secret("dockbell-test-queue-secret")

REQUESTER = Requester(user_id="U_ALICE", channel_id="C_OPS")
REPLY_TO = ReplyTo(channel_id="C_OPS", thread_ts="1700000000.000100")
RUNS = "dockbell-test:runs:"  # list per job id: one entry per handler start, naming the worker

# Beats 10x the production pace so crash recovery fits in a test's time budget.
FAST = {
    "heartbeat": 0.1,
    "claim_idle": 0.5,
    "poll_block": 0.2,
    "lock_poll": 0.02,
    "max_backoff": 0.2,
    "cancel_grace": 1.0,
}


def connect(url: str) -> aioredis.Redis:
    # As bot/server.py connects, but with one immediate retry instead of redis-py's ten with
    # backoff: enough to replace a pooled connection that a Redis restart closed, and an
    # outage still shows at once.
    return aioredis.Redis.from_url(
        url, socket_connect_timeout=1.0, socket_timeout=2.0, retry_on_timeout=False, retry=Retry(NoBackoff(), 1)
    )


def make_job(host: str, verb: str = "noop", **fields: Any) -> Job:
    return Job(
        id=job_id_for("test", uuid.uuid4().hex), host=host, verb=verb, requester=REQUESTER, reply_to=REPLY_TO, **fields
    )


def worker(redis: aioredis.Redis, host: str, handlers: Mapping[str, JobHandler] | None = None, **kw: Any) -> Worker:
    return Worker(redis, host, handlers if handlers is not None else HANDLERS, **{**FAST, **kw})


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


async def record_start(ctx: JobContext, redis: aioredis.Redis, worker_id: str) -> None:
    await redis.rpush(RUNS + ctx.job.id, worker_id)


def recording_handlers(redis: aioredis.Redis, worker_id: str) -> dict[str, JobHandler]:
    """Handlers that write one entry per start to Redis, so double runs across processes are visible."""

    async def slow(ctx: JobContext) -> str:
        await record_start(ctx, redis, worker_id)
        seconds = float(ctx.job.args.get("seconds", 1.0))
        steps = max(1, int(seconds / 0.1))
        for i in range(steps):
            await asyncio.sleep(seconds / steps)
            await ctx.progress(step=i + 1, of=steps)
        return f"slept {seconds:g} s on {worker_id}"

    async def noop(ctx: JobContext) -> str:
        await record_start(ctx, redis, worker_id)
        return "ok"

    # "slow" stands for a pull: a job a cancel can stop while it runs.
    return {"slow": Cancellable(slow, effect="stopped before it finished"), "noop": noop}


async def _noop(ctx: JobContext) -> str:
    return "ok"


async def _sleep(ctx: JobContext) -> str:
    await asyncio.sleep(float(ctx.job.args.get("seconds", 1.0)))
    return "slept"


async def _docker_error(ctx: JobContext) -> str:
    raise DockerError(f"Error response from daemon: No such container: {ctx.job.target}")


async def _bug(ctx: JobContext) -> str:
    raise KeyError("a bug in a handler")


HANDLERS: dict[str, JobHandler] = {"noop": _noop, "sleep": _sleep, "docker_error": _docker_error, "bug": _bug}
