"""kill -9 of a worker mid-job, end to end: the job is not lost, not left running, and Slack is told what happened."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator

import docker
import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from bot.bootstrap.serve import build_front
from bot.fakeslack import FakeSlack, SlackSender
from bot.jobs.desk import SHOWN
from bot.jobs.queue import JobQueue, JobStatus
from bot.ops.audit import AuditLog
from tests.conftest import (
    BOT_TOKEN,
    QUEUE_SECRET,
    SIGNING_SECRET,
    TEST_CONFIG,
    bot_settings,
    make_test_config,
    wait_for_worker,
)
from tests.rig import Containers, RedisServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

FINAL = ("succeeded", "failed", "cancelled", "interrupted")


def start_worker(redis_url: str, config_path: str, api_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DOCKBELL_CONFIG": config_path,
        "DOCKBELL_LOG_LEVEL": "WARNING",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": api_url,
        "DOCKBELL_QUEUE_SECRET": QUEUE_SECRET,
    }
    return subprocess.Popen([sys.executable, "-m", "bot", "worker", "--host", "local"], env=env)


@pytest.fixture(scope="module")
def config_path() -> Iterator[str]:
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        f.write(TEST_CONFIG)
    yield f.name
    os.unlink(f.name)


@pytest_asyncio.fixture(loop_scope="session")
async def crash_bot(fake_slack: FakeSlack) -> AsyncIterator[tuple[SlackSender, RedisServer]]:
    redis = RedisServer.start()  # its own Redis: no other test's worker may take these jobs
    settings = bot_settings(fake_slack, redis.url)
    app = build_front(settings, make_test_config(), settings.queue_secret)  # its workers are subprocesses
    port = await app.start("127.0.0.1", 0)
    sender = SlackSender(fake_slack, f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET)
    yield sender, redis
    await sender.close()
    await app.stop()
    redis.stop()


async def test_kill_9_mid_restart_reports_the_restart_confirmed_from_the_container(
    crash_bot: tuple[SlackSender, RedisServer],
    fake_slack: FakeSlack,
    containers: Containers,
    config_path: str,
    docker_api: docker.APIClient,
) -> None:
    sender, redis = crash_bot
    name = containers.run("crash-web", ["sleep", "3600"])  # sleep ignores SIGTERM: the stop takes -t seconds
    before = docker_api.inspect_container(name)["State"]["StartedAt"]
    first = start_worker(redis.url, config_path, fake_slack.api_url)
    second: subprocess.Popen[bytes] | None = None
    try:
        await wait_for_worker(redis.url, "local")
        since = len(fake_slack.calls)
        await sender.command(f"restart -t 4 {name}")
        post = await fake_slack.wait_for_call("chat.postMessage", lambda c: name in str(c.args), since=since)
        ts = str(post.response["ts"])
        await fake_slack.wait_for_call(
            "chat.update", lambda c: c.args.get("ts") == ts and "running" in str(c.args.get("text")), timeout=15
        )
        await _engine_began_restarting(docker_api, name)  # the request reached the engine: it is mid-restart
        first.send_signal(signal.SIGKILL)  # its follower dies with it
        first.wait(10)
        second = start_worker(redis.url, config_path, fake_slack.api_url)
        # The engine finishes the restart without the worker that asked for it; the next worker
        # sees the container started again after the job began, and says so.
        final = await fake_slack.wait_for_call(
            "chat.update",
            lambda c: c.args.get("ts") == ts and any(w in str(c.args.get("text")) for w in FINAL),
            timeout=45,
        )
        assert "succeeded" in str(final.args.get("text")), final.args.get("blocks")
        confirmed = "restarted (confirmed from the container's StartedAt after the worker running it died)"
        assert confirmed in str(final.args.get("blocks")), final.args
        assert "Cancel" not in str(final.args.get("blocks"))
        after = docker_api.inspect_container(name)["State"]
        assert after["Running"] and after["StartedAt"] != before
        # Shown once: by the second worker's sweep, after the dead follower's lease lapsed.
        finals = [
            c
            for c in fake_slack.calls
            if c.method == "chat.update" and c.args.get("ts") == ts and any(w in str(c.args.get("text")) for w in FINAL)
        ]
        assert len(finals) == 1
        async with aioredis.Redis.from_url(redis.url) as client:
            job = next(j for j in await JobQueue(client).list("local", limit=20) if j.reply_to.thread_ts == ts)
            assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 1)  # confirmed, not run a second time
            assert await client.get(SHOWN + job.id) == b"1"
            # Its outcome is audited once, before the message shows it.
            records = await AuditLog(client, max_entries=1, max_age_seconds=1).query(since=job.created_at - 1)
            assert [r.outcome for r in records if r.job_id == job.id and r.rule.startswith("job")] == ["job succeeded"]
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(15)


async def _engine_began_restarting(api: docker.APIClient, name: str, timeout: int = 15) -> None:
    """Until the engine has sent the container its stop signal (the restart's first event)."""
    since = int(time.time()) - 5

    def first_kill() -> bool:
        stream = api.events(
            since=since, until=int(time.time()) + timeout, filters={"container": name, "event": "kill"}, decode=True
        )
        try:
            return any(True for _ in stream)
        finally:
            stream.close()

    assert await asyncio.to_thread(first_kill), f"the engine never began restarting {name}"
