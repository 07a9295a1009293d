"""kill -9 of a worker mid-job, end to end: the job is not lost, not left running, and Slack is told."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from bot.bootstrap.serve import build_front
from tests.conftest import (
    BOT_TOKEN,
    QUEUE_SECRET,
    SIGNING_SECRET,
    TEST_CONFIG,
    bot_settings,
    make_test_config,
    wait_for_worker,
)
from tests.fakeslack import FakeSlack, SlackSender
from tests.rig import Containers, RedisServer

pytestmark = pytest.mark.asyncio(loop_scope="session")


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


async def test_kill_9_mid_restart_marks_it_interrupted(
    crash_bot: tuple[SlackSender, RedisServer], fake_slack: FakeSlack, containers: Containers, config_path: str
) -> None:
    sender, redis = crash_bot
    name = containers.run("crash-web", ["sleep", "3600"])  # sleep ignores SIGTERM: the stop takes -t seconds
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
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        second = start_worker(redis.url, config_path, fake_slack.api_url)
        final = await fake_slack.wait_for_call(
            "chat.update", lambda c: c.args.get("ts") == ts and "interrupted" in str(c.args), timeout=30
        )
        assert "the worker running it died" in str(final.args)
        assert "Cancel" not in str(final.args.get("blocks"))
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(15)
