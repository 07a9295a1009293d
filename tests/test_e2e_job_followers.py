"""Every status message reaches its job's final state: across a Redis outage, and when its follower is gone.

A job's message is kept current by a follower in the process that queued it.  These tests
take that follower's world away (Redis restarted under it, its process's worker stopped)
and check, by the calls the fake Slack records, that the message still ends where Redis
says the job ended, once.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass

import docker
import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from bot.fakeslack import Call, FakeSlack, SlackSender
from bot.jobs.desk import SHOWN
from bot.jobs.queue import JobQueue, JobStatus
from bot.settings import Settings
from tests.conftest import SIGNING_SECRET, bot_settings, make_test_config, wait_for_worker
from tests.helpers import all_text
from tests.rig import Containers, RedisServer, free_port
from tests.stack import Stack, start_stack

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.e2e]

FINAL = ("succeeded", "failed", "cancelled", "interrupted")


def _persistent_redis(port: int, workdir: str) -> RedisServer:
    """A redis-server that keeps its data across a restart (append-only file), as the compose one does."""
    binary = shutil.which("redis-server")
    assert binary is not None
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--dir", workdir]
    server = RedisServer(port, subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT), workdir)
    server.wait_ready()
    return server


class Outage:
    """Redis of the stack under test, which the test can stop and bring back with its data."""

    def __init__(self) -> None:
        self.workdir = tempfile.mkdtemp(prefix="dockbell-redis-aof-")
        self.server = _persistent_redis(free_port(), self.workdir)

    @property
    def url(self) -> str:
        return self.server.url

    async def down(self) -> None:
        self.server.process.terminate()  # SIGTERM: redis-server flushes its append-only file first
        await asyncio.to_thread(self.server.process.wait, 10)

    def up(self) -> None:
        self.server = _persistent_redis(self.server.port, self.workdir)

    def stop(self) -> None:
        self.server.stop()


@dataclass
class Bot:
    stack: Stack
    sender: SlackSender
    outage: Outage
    settings: Settings


@pytest_asyncio.fixture(loop_scope="session")
async def outage_bot(fake_slack: FakeSlack) -> AsyncIterator[Bot]:
    """dockbell (serve and the host's worker, in-process) on a Redis of its own that the test can restart."""
    outage = Outage()
    settings = bot_settings(fake_slack, outage.url)
    stack = await start_stack(settings, make_test_config())
    await wait_for_worker(outage.url, "local")
    fake_slack.reset()
    sender = SlackSender(fake_slack, stack.url + "/slack/events", SIGNING_SECRET)
    try:
        yield Bot(stack, sender, outage, settings)
    finally:
        await sender.close()
        if outage.server.process.poll() is not None:
            outage.up()  # the stack stops cleanly only with its Redis there
        await stack.stop()
        outage.stop()


def _text(call: Call) -> str:
    return all_text({"text": call.args.get("text", ""), "blocks": call.args.get("blocks") or []})


async def _post(sender: SlackSender, fake: FakeSlack, text: str, name: str) -> str:
    """Send `/docker TEXT` as the admin; the ts of the status message it posted."""
    since = len(fake.calls)
    ack = await sender.command(text, user_id="U_ALICE")
    assert ack.status == 200, ack.text
    post = await fake.wait_for_call("chat.postMessage", lambda c: name in _text(c), timeout=15, since=since)
    return str(post.response["ts"])


async def _updated_to(fake: FakeSlack, ts: str, word: str, timeout: float = 30.0) -> Call:
    return await fake.wait_for_call(
        "chat.update", lambda c: c.args.get("ts") == ts and word in str(c.args.get("text")), timeout=timeout
    )


def _finals(fake: FakeSlack, ts: str) -> list[Call]:
    return [
        c
        for c in fake.calls
        if c.method == "chat.update" and c.args.get("ts") == ts and any(w in str(c.args.get("text")) for w in FINAL)
    ]


async def _job_of(redis_url: str, ts: str) -> tuple[str, JobStatus, bool]:
    """The id and status of the job whose status message is ``ts``, and whether its end was marked shown."""
    async with aioredis.Redis.from_url(redis_url) as redis:
        for job in await JobQueue(redis).list("local", limit=50):
            if job.reply_to.thread_ts == ts:
                return job.id, job.status, bool(await redis.exists(SHOWN + job.id))
    raise AssertionError(f"no job with status message {ts}")


async def _restarted_since(api: docker.APIClient, name: str, before: str, timeout: float = 30.0) -> None:
    """Until the engine reports the container started again (its StartedAt moved past ``before``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (await asyncio.to_thread(api.inspect_container, name))["State"]["StartedAt"] == before:
        assert loop.time() < deadline, f"{name} was not restarted within {timeout} s"
        await asyncio.sleep(0.1)


async def test_a_job_running_across_a_redis_restart_reaches_its_final_state(
    outage_bot: Bot, fake_slack: FakeSlack, containers: Containers, docker_api: docker.APIClient
) -> None:
    sender, outage = outage_bot.sender, outage_bot.outage
    name = containers.run("across-outage", ["sleep", "3600"])  # sleep ignores SIGTERM: the restart takes -t s
    before = docker_api.inspect_container(name)["State"]["StartedAt"]
    ts = await _post(sender, fake_slack, f"restart -t 2 {name}", name)
    await _updated_to(fake_slack, ts, "running", timeout=15)
    await outage.down()
    # The engine finishes the restart while Redis is away: the worker's finish and every
    # pub/sub event of it are lost, and the follower's connections are dead.
    await _restarted_since(docker_api, name, before)
    outage.up()
    final = await _updated_to(fake_slack, ts, "succeeded")
    assert "restarted" in _text(final)
    _job_id, status, shown = await _job_of(outage.url, ts)
    assert status is JobStatus.SUCCEEDED and shown
    assert len(_finals(fake_slack, ts)) == 1, "the final state is shown once"


async def test_the_first_job_after_redis_came_back_reaches_its_final_state(
    outage_bot: Bot, fake_slack: FakeSlack, containers: Containers
) -> None:
    sender, outage = outage_bot.sender, outage_bot.outage
    name = containers.run("after-outage", ["sleep", "3600"])
    ts = await _post(sender, fake_slack, f"restart -t 0 {name}", name)  # pools full of live connections
    await _updated_to(fake_slack, ts, "succeeded")
    await outage.down()
    outage.up()
    await wait_for_worker(outage.url, "local", timeout=30)
    ts = await _post(sender, fake_slack, f"restart -t 0 {name}", name)
    await _updated_to(fake_slack, ts, "succeeded")
    _job_id, status, shown = await _job_of(outage.url, ts)
    assert status is JobStatus.SUCCEEDED and shown
    assert len(_finals(fake_slack, ts)) == 1


async def test_a_message_whose_follower_died_with_its_process_still_reaches_the_final_state(
    outage_bot: Bot,
    fake_slack: FakeSlack,
    containers: Containers,
    docker_api: docker.APIClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack, sender = outage_bot.stack, outage_bot.sender
    name = containers.run("orphaned", ["sleep", "3600"])
    before = docker_api.inspect_container(name)["State"]["StartedAt"]
    ts = await _post(sender, fake_slack, f"restart -t 2 {name}", name)
    await _updated_to(fake_slack, ts, "running", timeout=15)
    # The process that posted the message dies, as far as the message goes: its follower
    # stops, its lease is neither refreshed nor given back, and it sweeps no more.
    desk = stack.workers["local"].worker.runner.s.jobs
    monkeypatch.setattr(desk.leases, "release", _nothing)
    monkeypatch.setattr(desk, "sweep", _swept_nothing)
    await desk.close()
    await stack.stop_worker("local")  # lets the restart end: the job succeeds with nobody to show it
    await _restarted_since(docker_api, name, before)
    job_id, status, shown = await _job_of(outage_bot.outage.url, ts)
    assert status is JobStatus.SUCCEEDED and not shown
    assert not _finals(fake_slack, ts)
    # Another worker of the host: its sweep finds the message unfinished, waits out the dead
    # follower's lease, and shows the end.
    await stack.add_worker(outage_bot.settings, make_test_config(), "local")
    final = await _updated_to(fake_slack, ts, "succeeded")
    assert "restarted" in _text(final)
    _job_id, _status, shown = await _job_of(outage_bot.outage.url, ts)
    assert shown and len(_finals(fake_slack, ts)) == 1, job_id


async def _nothing(name: str) -> None:
    return None


async def _swept_nothing(host: str) -> int:
    return 0
