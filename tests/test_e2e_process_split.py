"""The process split, end to end with the real CLI: serve holds no Docker, workers check every entry."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import docker
import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from bot.core.types import ReplyTo, Requester
from bot.fakeslack import FakeSlack, SlackSender
from bot.jobs.queue import Cancellable, Job, JobQueue, job_id_for
from bot.jobs.queue.signing import Signer
from bot.ops.audit import STREAM as AUDIT_STREAM
from tests.conftest import BOT_TOKEN, QUEUE_SECRET, SIGNING_SECRET, TEST_CONFIG, wait_for_worker
from tests.helpers import eventually, output_text, run_command
from tests.rig import Containers, RedisServer
from tests.stack import Stack
from tests.stream_helpers import ended, shown_lines, start_stream

pytestmark = pytest.mark.e2e
session_loop = pytest.mark.asyncio(loop_scope="session")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def config_path() -> Iterator[str]:
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        f.write(TEST_CONFIG)
    yield f.name
    os.unlink(f.name)


def _env(fake: FakeSlack, redis_url: str, config: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
        "REDIS_URL": redis_url,
        "DOCKBELL_CONFIG": config,
        "DOCKBELL_LOG_LEVEL": "INFO",
        **extra,
    }
    env.pop("DOCKBELL_QUEUE_SECRET", None)
    env.update({k: v for k, v in extra.items() if k == "DOCKBELL_QUEUE_SECRET"})
    return env


async def _wait_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not answer within {timeout}s")
            await asyncio.sleep(0.2)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(t) for t in text]
    return found


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest_asyncio.fixture(loop_scope="session")
async def one_command(fake_slack: FakeSlack, config_path: str) -> AsyncIterator[tuple[SlackSender, int, RedisServer]]:
    """`dockbell serve`, exactly as the README runs it: serve plus its supervised child worker."""
    redis = RedisServer.start()
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=_env(fake_slack, redis.url, config_path),
    )
    try:
        await _wait_http(f"http://127.0.0.1:{port}/livez")
        await wait_for_worker(redis.url, "local", timeout=30)
        sender = SlackSender(fake_slack, f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET)
        yield sender, proc.pid, redis
        await sender.close()
    finally:
        _stop(proc)
        redis.stop()


@session_loop
async def test_a_killed_workers_stream_is_ended_in_its_thread_by_the_next_worker(
    one_command: tuple[SlackSender, int, RedisServer], fake_slack: FakeSlack, containers: Containers
) -> None:
    sender, serve_pid, _ = one_command
    name = containers.run("split-stream", ["sh", "-c", "while true; do echo tick; sleep 0.3; done"])
    header = await start_stream(sender, fake_slack, f"logs -f {name}")
    await eventually(lambda: _some(shown_lines(fake_slack, header)), what="a first line", timeout=20)
    (child,) = _children(serve_pid)
    os.kill(child, signal.SIGKILL)  # no chance to say anything: the next worker's sweep must
    end = await ended(fake_slack, header, timeout=60)
    assert "its worker stopped unexpectedly" in end, end

    async def header_ended() -> bool | None:  # the header is updated just after the thread's line
        final = fake_slack.workspace.find_message("C_GENERAL", header.ts)
        return (final is not None and "Ended: its worker stopped unexpectedly" in str(final.blocks)) or None

    await eventually(header_ended, what="the header marked ended", timeout=10)


async def _some(lines: list[str]) -> list[str] | None:
    return lines or None


@session_loop
async def test_one_command_answers_through_its_child_worker_and_restarts_it(
    one_command: tuple[SlackSender, int, RedisServer], fake_slack: FakeSlack, containers: Containers
) -> None:
    sender, serve_pid, redis = one_command
    name = containers.run("split-web", ["sleep", "3600"])
    reply = await run_command(sender, fake_slack, "ps --format '{{.Names}}'")
    assert name in output_text(reply)
    (child,) = _children(serve_pid)
    os.kill(child, signal.SIGKILL)
    # The supervisor starts a new child after its backoff; commands are answered again.
    deadline = time.monotonic() + 30
    while True:
        now = [c for c in _children(serve_pid) if c != child]
        if now:
            break
        assert time.monotonic() < deadline, "serve did not restart its worker"
        await asyncio.sleep(0.2)
    await wait_for_worker(redis.url, "local", timeout=30)
    reply = await run_command(sender, fake_slack, "ps --format '{{.Names}}'", timeout=30)
    assert name in output_text(reply)


def test_serve_never_imports_docker() -> None:
    code = (
        "import sys, bot.bootstrap.serve, bot.cli\n"
        "print(sorted(m for m in sys.modules if m == 'docker' or m.startswith('docker.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@session_loop
async def test_serve_without_any_docker_answers_through_a_separate_worker(
    fake_slack: FakeSlack, config_path: str, containers: Containers
) -> None:
    """serve is given no reachable engine at all; the worker beside the engine answers everything."""
    redis = RedisServer.start()
    port, worker_port = _free_port(), _free_port()
    secret = {"DOCKBELL_QUEUE_SECRET": QUEUE_SECRET}
    serve = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)],
        env=_env(fake_slack, redis.url, config_path, DOCKER_HOST="unix:///nonexistent/docker.sock", **secret),
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot", "worker", "--host", "local", "--bind", "127.0.0.1", "--port", str(worker_port)],
        env=_env(fake_slack, redis.url, config_path, **secret),
    )
    sender = SlackSender(fake_slack, f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET)
    try:
        await _wait_http(f"http://127.0.0.1:{port}/livez")
        await _wait_http(f"http://127.0.0.1:{worker_port}/livez")
        await wait_for_worker(redis.url, "local", timeout=30)
        name = containers.run("split-far", ["sleep", "3600"])
        reply = await run_command(sender, fake_slack, f"inspect -f '{{{{.Name}}}}' {name}")
        assert output_text(reply) == "/" + name
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                body = await resp.json()
                assert "docker" not in body and body["worker:local"]["ok"], body
            async with http.get(f"http://127.0.0.1:{worker_port}/healthz") as resp:
                body = await resp.json()
                assert body["docker"]["ok"] and body["redis"]["ok"], body
            async with http.get(f"http://127.0.0.1:{worker_port}/metrics") as resp:
                assert 'dockbell_commands_total{command="inspect",outcome="ok"} 1.0' in await resp.text()
    finally:
        await sender.close()
        _stop(serve)
        _stop(worker)
        redis.stop()


def test_serve_without_worker_needs_the_queue_secret(fake_slack: FakeSlack, config_path: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--no-worker", "--port", "0"],
        env=_env(fake_slack, "redis://127.0.0.1:1/0", config_path),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "DOCKBELL_QUEUE_SECRET is required when workers run separately" in proc.stderr


async def _audit_rows(redis_url: str) -> list[dict[str, str]]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        rows = await client.xrange(AUDIT_STREAM)
    finally:
        await client.aclose()
    return [fields for _id, fields in rows]


@session_loop
async def test_forged_and_expired_entries_are_rejected_and_audited(
    bot: object, redis_server: RedisServer, containers: Containers, docker_api: docker.APIClient
) -> None:
    """Whoever can write to Redis still cannot act as someone else: the worker checks the HMAC."""
    name = containers.run("split-forged", ["sleep", "3600"])
    started = docker_api.inspect_container(name)["State"]["StartedAt"]
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        forged = JobQueue(client, signer=Signer.from_secret("not-the-secret"))
        job = Job(
            id=job_id_for("forged", name, str(time.time())),
            host="local",
            verb="restart",
            target=name,
            requester=Requester("U_ALICE", "C_GENERAL"),
            reply_to=ReplyTo("C_GENERAL"),
            args={"command": f"restart {name}", "target_name": name, "time": 0},
        )
        await forged.enqueue(job)
        done = await forged.wait(job.id, timeout=15)
        assert done.status == "failed" and "signature does not match" in done.error
        honest = JobQueue(client, signer=Signer.from_secret(QUEUE_SECRET))
        stale = Job(
            id=job_id_for("stale", name, str(time.time())),
            host="local",
            verb="command",
            requester=Requester("U_ALICE", "C_GENERAL"),
            reply_to=ReplyTo("C_GENERAL", "", "http://127.0.0.1:1/never"),
            args={"kind": "command", "text": f"restart {name}"},
            created_at=time.time() - 3600,
        )
        await honest.enqueue(stale)
        done = await honest.wait(stale.id, timeout=15)
        assert done.status == "failed" and "expired" in done.error
    finally:
        await client.aclose()
    assert docker_api.inspect_container(name)["State"]["StartedAt"] == started
    rows = await _audit_rows(redis_server.url)
    rejected = [r for r in rows if r.get("job_id") in (job.id, stale.id)]
    assert len(rejected) == 2, rejected
    assert all(r["decision"] == "deny" and "rejected" in r["outcome"] for r in rejected), json.dumps(rejected)


def test_a_running_pull_stays_cancellable_behind_the_signature_check(bot: Stack) -> None:
    """The worker stops a running job for a cancel only when its handler is Cancellable."""
    handlers = bot.workers["local"].worker.worker.handlers
    assert isinstance(handlers["pull"], Cancellable)
    assert not isinstance(handlers["restart"], Cancellable)
