"""Throughput and enqueue->start latency of the job queue (bot/queue) with no-op jobs.

    python -m bench.queue [-n 3000] [--paced 400] [--concurrency 4]

Starts its own redis-server and, for 1 then 2 workers, that many worker processes
(production settings: heartbeat 1 s, claim_idle 5 s).  Throughput: N jobs are queued
before the workers start, and the figure is N over the time from the first start to the
last finish (as the workers stamped them).  Latency: with the workers idle, jobs are
enqueued one at a time, 2 ms apart, and each job's started_at - created_at is taken.
Targets (issue 4): >= 500 no-op jobs/s per worker; enqueue->start p50 < 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

import redis.asyncio as aioredis

from bot.core.types import ReplyTo, Requester
from bot.jobs.queue import Job, JobContext, JobQueue, Worker, keys, live_workers, run_worker_until_signal
from tests.queue.helpers import TEST_SIGNER
from tests.rig import RedisServer

REQUESTER = Requester(user_id="U_BENCH", channel_id="C_BENCH")
REPLY_TO = ReplyTo(channel_id="C_BENCH")


async def noop(ctx: JobContext) -> str:
    return "ok"


async def serve(url: str, host: str, concurrency: int) -> None:
    redis = aioredis.Redis.from_url(url, socket_timeout=2.0)
    try:
        await run_worker_until_signal(Worker(redis, host, {"noop": noop}, concurrency=concurrency))
    finally:
        await redis.aclose()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def start_workers(url: str, host: str, n: int, concurrency: int) -> list[subprocess.Popen[bytes]]:
    cmd = [sys.executable, "-m", "bench.queue", "--serve", url, host, "--concurrency", str(concurrency)]
    return [subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": os.getcwd()}) for _ in range(n)]


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.wait(10)


async def until_live(redis: aioredis.Redis, host: str, n: int) -> None:
    deadline = time.monotonic() + 20
    while len(await live_workers(redis, host)) < n:
        if time.monotonic() > deadline:
            raise RuntimeError("worker processes did not start")
        await asyncio.sleep(0.05)


async def until_drained(redis: aioredis.Redis, host: str) -> None:
    while await redis.zcard(keys.queued(host)) + await redis.zcard(keys.running(host)):
        await asyncio.sleep(0.02)


async def stored(redis: aioredis.Redis, ids: list[str]) -> list[Job]:
    async with redis.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.hgetall(keys.job(job_id))
        rows: list[Any] = await pipe.execute()
    return [Job.from_fields(row) for row in rows]


def new_job(host: str) -> Job:
    return Job(
        id=f"b-{uuid.uuid4().hex[:16]}", host=host, verb="noop", requester=REQUESTER, reply_to=REPLY_TO, idempotent=True
    )


async def throughput(redis: aioredis.Redis, url: str, n_workers: int, n: int, concurrency: int) -> tuple[float, int]:
    host = f"bench-t{n_workers}-{uuid.uuid4().hex[:6]}"
    queue = JobQueue(redis, signer=TEST_SIGNER)
    jobs = [new_job(host) for _ in range(n)]
    for i in range(0, n, 100):
        await asyncio.gather(*(queue.enqueue(job) for job in jobs[i : i + 100]))
    procs = start_workers(url, host, n_workers, concurrency)
    try:
        await until_drained(redis, host)
    finally:
        stop_workers(procs)
    done = await stored(redis, [job.id for job in jobs])
    assert all(job.status == "succeeded" for job in done), "a job did not succeed"
    span = max(j.finished_at or 0 for j in done) - min(j.started_at or 0 for j in done)
    per_worker = [sum(1 for j in done if j.worker_id == w) for w in {j.worker_id for j in done}]
    return n / span, min(per_worker)


async def latency(redis: aioredis.Redis, url: str, n_workers: int, n: int, concurrency: int) -> list[float]:
    host = f"bench-l{n_workers}-{uuid.uuid4().hex[:6]}"
    queue = JobQueue(redis, signer=TEST_SIGNER)
    procs = start_workers(url, host, n_workers, concurrency)
    try:
        await until_live(redis, host, n_workers)
        await asyncio.sleep(0.5)  # past start-up recovery, workers blocked in XREADGROUP
        ids = []
        for _ in range(n):
            job, _created = await queue.enqueue(new_job(host))
            ids.append(job.id)
            await asyncio.sleep(0.002)
        await until_drained(redis, host)
    finally:
        stop_workers(procs)
    return [((j.started_at or 0) - j.created_at) * 1000 for j in await stored(redis, ids)]


async def enqueue_rate(redis: aioredis.Redis, n: int) -> float:
    queue = JobQueue(redis, signer=TEST_SIGNER)
    host = f"bench-e-{uuid.uuid4().hex[:6]}"
    start = time.perf_counter()
    for _ in range(n):
        await queue.enqueue(new_job(host))
    return n / (time.perf_counter() - start)


async def restarts(url: str, n_workers: int, n: int, containers: list[str]) -> tuple[float, list[float]]:
    """Real `restart -t 0` jobs of small busybox containers, spread over the containers
    (each container's jobs serialise on its lock), with in-process workers and the real handlers."""
    from bot.engine.gateway import DockerGateway
    from bot.jobs.verbs import handlers_for

    host = f"bench-r{n_workers}-{uuid.uuid4().hex[:6]}"
    gateway = DockerGateway(os.environ.get("DOCKER_HOST"))
    clients = [aioredis.Redis.from_url(url, socket_timeout=2.0) for _ in range(n_workers + 1)]
    workers = [Worker(c, host, handlers_for(gateway), concurrency=4) for c in clients[1:]]
    tasks = [asyncio.create_task(w.run()) for w in workers]
    queue = JobQueue(clients[0], signer=TEST_SIGNER)
    try:
        await until_live(clients[0], host, n_workers)
        jobs = [
            Job(
                id=f"r-{uuid.uuid4().hex[:16]}",
                host=host,
                verb="restart",
                requester=REQUESTER,
                reply_to=REPLY_TO,
                target=containers[i % len(containers)],
                args={"time": 0},
                timeout_seconds=60,
                lock_key=f"container:{containers[i % len(containers)]}",
            )
            for i in range(n)
        ]
        for job in jobs:
            await queue.enqueue(job)
        await until_drained(clients[0], host)
        done = await stored(clients[0], [j.id for j in jobs])
    finally:
        for w in workers:
            await w.stop(10)
        await asyncio.gather(*tasks, return_exceptions=True)
        for c in clients:
            await c.aclose()
        await gateway.close()
    assert all(j.status == "succeeded" for j in done), [j.error for j in done if j.status != "succeeded"][:3]
    span = max(j.finished_at or 0 for j in done) - min(j.created_at for j in done)
    return n / span, [((j.finished_at or 0) - (j.started_at or 0)) * 1000 for j in done]


def small_containers(count: int) -> tuple[Any, list[str]]:
    from tests.rig import Containers, docker_client, ensure_test_image

    api = docker_client()
    ensure_test_image(api)
    made = Containers(api)
    names = [made.run(f"bench-restart-{i}", ["sleep", "3600"]) for i in range(count)]
    return made, names


async def main_async(n: int, paced: int, concurrency: int, n_restarts: int = 0) -> None:
    server = RedisServer.start()
    redis = aioredis.Redis.from_url(server.url, socket_timeout=2.0)
    try:
        rows = []
        for n_workers in (1, 2):
            rate, least = await throughput(redis, server.url, n_workers, n, concurrency)
            lat = await latency(redis, server.url, n_workers, paced, concurrency)
            rows.append((n_workers, rate, least, lat))
        serial_enqueue = await enqueue_rate(redis, 1000)
        restart_rows = []
        if n_restarts:
            made, names = small_containers(4)
            try:
                for n_workers in (1, 2):
                    restart_rows.append((n_workers, *await restarts(server.url, n_workers, n_restarts, names)))
            finally:
                made.cleanup()
        info = await redis.info("server")
    finally:
        await redis.aclose()
        server.stop()
    print(f"no-op jobs: N={n} per throughput run, {paced} paced for latency; worker concurrency {concurrency}")
    print(f"redis-server {info['redis_version']} on loopback, {os.cpu_count()} CPUs")
    print(f"{'workers':>7} {'jobs/s':>8} {'per worker':>10} {'least busy ran':>14} {'start p50':>10} {'start p99':>10}")
    for n_workers, rate, least, lat in rows:
        p50, p99 = statistics.median(lat), pct(lat, 99)
        print(
            f"{n_workers:>7} {rate:>8.0f} {rate / n_workers:>10.0f} {least:>14} {p50:>8.2f}ms {p99:>8.2f}ms",
        )
    print(f"one client enqueueing serially: {serial_enqueue:.0f} enqueues/s")
    print("targets: >= 500 jobs/s per worker, enqueue->start p50 < 5 ms")
    for n_workers, rate, took in restart_rows:
        print(
            f"real `restart -t 0` of 4 busybox containers, {n_restarts} jobs, {n_workers} worker(s): "
            f"{rate:.1f} jobs/s; one restart p50 {statistics.median(took):.0f} ms, p99 {pct(took, 99):.0f} ms"
        )
    print(json.dumps({"rows": [(w, round(r), least, round(statistics.median(lt), 2)) for w, r, least, lt in rows]}))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=3000, help="jobs per throughput run (default 3000)")
    parser.add_argument("--paced", type=int, default=400, help="jobs enqueued one by one for latency (default 400)")
    parser.add_argument("--concurrency", type=int, default=4, help="worker concurrency (default 4)")
    parser.add_argument("--restarts", type=int, default=40, help="real restart jobs to time (default 40; 0: none)")
    parser.add_argument("--serve", nargs=2, metavar=("URL", "HOST"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        url, host = args.serve
        asyncio.run(serve(url, host, args.concurrency))
    else:
        asyncio.run(main_async(args.n, args.paced, args.concurrency, args.restarts))


if __name__ == "__main__":
    main()
