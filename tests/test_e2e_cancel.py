"""End to end: Cancel stops only what it can stop, and the status message says what really happened.

A restart cannot be taken back once the engine has it; a job still queued behind another
on its container can be dropped.  Every wait is on a concrete event: a fake Slack record,
the job's state in Redis, a Docker event.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import docker
import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from bot.fakeslack import Call, FakeSlack, SlackSender
from bot.fakeslack.client import find_action
from bot.jobs.queue import JobQueue, JobStatus
from bot.slack.render import CANCEL_ACTION
from tests.helpers import all_text, run_command
from tests.rig import Containers, RedisServer

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.e2e]

# PID 1 with SIGTERM ignored: a restart waits its whole -t before the SIGKILL.
DEAF_TO_TERM = ["sh", "-c", 'trap "" TERM; while true; do sleep 1; done']
FINISHED = ("succeeded", "failed", "cancelled", "interrupted")


def _text(call: Call) -> str:
    return all_text({"text": call.args.get("text", ""), "blocks": call.args.get("blocks") or []})


def _head(call: Call) -> str:
    return str(call.args.get("text", ""))  # the message's summary line: command and state


async def _final_status(fake: FakeSlack, ts: str, timeout: float = 30.0) -> Call:
    return await fake.wait_for_call(
        "chat.update", lambda c: c.args.get("ts") == ts and any(w in _head(c) for w in FINISHED), timeout=timeout
    )


async def _submit(slack: SlackSender, fake: FakeSlack, text: str) -> tuple[str, Call]:
    since = len(fake.calls)
    ack = await slack.command(text, user_id="U_ALICE")
    assert ack.status == 200 and ack.elapsed < 3.0
    posted = await fake.wait_for_call("chat.postMessage", lambda c: text in _text(c), timeout=10, since=since)
    assert posted.response and posted.response.get("ok"), posted.response
    return str(posted.response["ts"]), posted


async def _click_cancel(slack: SlackSender, fake: FakeSlack, blocks: list[Any], ts: str) -> str:
    """Click Cancel on a version of the status message; the clicker's private answer."""
    message = {"blocks": blocks, "ts": ts, "channel": "C_GENERAL"}
    ack = await slack.click(message, CANCEL_ACTION, user_id="U_ALICE", channel_id="C_GENERAL", message_ts=ts)
    assert ack.status == 200
    answer = await fake.wait_for_response(lambda p: p.url == ack.response_url, timeout=10)
    return all_text(answer.body)


def _docker_event(api: docker.APIClient, cid: str, action: str, since: float, timeout: float = 30.0) -> dict[str, Any]:
    """The first ``action`` event of container ``cid`` at or after ``since`` (replayed if already past)."""
    stream = api.events(
        since=f"{since:.6f}",
        until=f"{time.time() + timeout:.6f}",
        filters={"container": cid, "event": action},
        decode=True,
    )
    try:
        for event in stream:
            return dict(event)
    finally:
        stream.close()
    raise AssertionError(f"no {action} event for {cid} within {timeout} s")


def _docker_events(api: docker.APIClient, cid: str, action: str, since: float) -> list[dict[str, Any]]:
    """Every ``action`` event of ``cid`` from ``since`` until now."""
    now = time.time()
    events = api.events(
        since=f"{since:.6f}", until=f"{now:.6f}", filters={"container": cid, "event": action}, decode=True
    )
    return [dict(e) for e in events]


@pytest_asyncio.fixture(loop_scope="session")
async def jobs(redis_server: RedisServer) -> AsyncIterator[JobQueue]:
    client = aioredis.Redis.from_url(redis_server.url)
    yield JobQueue(client)
    await client.aclose()


def _job_id(posted: Call) -> str:
    return str(find_action(posted.args["blocks"], CANCEL_ACTION)[1]["value"])


async def test_cancel_of_a_running_restart_is_too_late_and_the_restart_is_reported(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, docker_api: docker.APIClient, jobs: JobQueue
) -> None:
    name = containers.run("cancel-late", DEAF_TO_TERM)
    inspected = docker_api.inspect_container(name)
    cid, before = str(inspected["Id"]), inspected["State"]["StartedAt"]
    since = time.time()
    ts, posted = await _submit(slack, fake_slack, f"restart -t 5 {name}")
    job_id = _job_id(posted)
    assert CANCEL_ACTION in str(posted.args["blocks"])  # queued: a cancel would still stop it
    running = await fake_slack.wait_for_call(
        "chat.update", lambda c: c.args.get("ts") == ts and ": running" in _head(c), timeout=10
    )
    assert CANCEL_ACTION not in str(running.args["blocks"])  # running a restart: nothing left to cancel
    # The engine has the restart: it sent the SIGTERM that the container ignores, and now waits 5 s.
    await asyncio.to_thread(_docker_event, docker_api, cid, "kill", since)

    # A stale button (the message as first posted, while queued), then the typed command.
    answer = await _click_cancel(slack, fake_slack, posted.args["blocks"], ts)
    assert f"Too late to cancel job {job_id}: `docker restart -t 5 {name}` is already running on the engine" in answer
    assert "It will finish, and its status message will show the outcome." in answer
    typed = all_text(await run_command(slack, fake_slack, f"jobs cancel {job_id}"))
    assert f"Too late to cancel job {job_id}" in typed
    during = await jobs.require(job_id)
    assert (during.status, during.cancel_requested_by) == (JobStatus.RUNNING, "U_ALICE")

    final = await _final_status(fake_slack, ts)
    text = _text(final)
    assert _head(final).startswith(f"docker restart -t 5 {name}: succeeded in ")
    assert f"{name}: restarted" in text and "came too late" in text
    assert "cancelled" not in text.lower()
    assert CANCEL_ACTION not in str(final.args["blocks"])
    done = await jobs.require(job_id)
    assert (done.status, done.cancel_requested_by) == (JobStatus.SUCCEEDED, "U_ALICE")
    # It really restarted: the engine says so, and the container started again.
    await asyncio.to_thread(_docker_event, docker_api, cid, "restart", since)
    after = docker_api.inspect_container(name)["State"]
    assert after["Running"] is True and after["StartedAt"] != before


async def test_a_queued_job_is_cancelled_for_real_and_never_runs(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, docker_api: docker.APIClient, jobs: JobQueue
) -> None:
    name = containers.run("cancel-queued", DEAF_TO_TERM)
    cid = str(docker_api.inspect_container(name)["Id"])
    since = time.time()
    ts1, _ = await _submit(slack, fake_slack, f"restart -t 3 {name}")  # holds the container for 3 s
    ts2, posted2 = await _submit(slack, fake_slack, f"restart -t 0 {name}")
    waiting = await fake_slack.wait_for_call(
        "chat.update", lambda c: c.args.get("ts") == ts2 and "waiting behind job" in _text(c), timeout=10
    )
    answer = await _click_cancel(slack, fake_slack, waiting.args["blocks"], ts2)
    job_id = _job_id(posted2)
    assert f"Job {job_id} cancelled: `docker restart -t 0 {name}` will not run." in answer

    final2 = _text(await _final_status(fake_slack, ts2))
    assert "cancelled by <@U_ALICE>" in final2 and "It never started: nothing was done." in final2
    dropped = await jobs.require(job_id)
    assert (dropped.status, dropped.attempts, dropped.started_at) == (JobStatus.CANCELLED, 0, None)
    assert "succeeded" in _head(await _final_status(fake_slack, ts1))
    started = docker_api.inspect_container(name)["State"]["StartedAt"]

    # Jobs on one container run in enqueue order: once a later one has finished there, the
    # cancelled job would have run before it, had it run at all.
    ts3, _ = await _submit(slack, fake_slack, f"start {name}")
    assert "already running" in _text(await _final_status(fake_slack, ts3))
    assert docker_api.inspect_container(name)["State"]["StartedAt"] == started
    assert len(await asyncio.to_thread(_docker_events, docker_api, cid, "restart", since)) == 1
