"""End to end: long operations become jobs run by the host's worker, shown in one status message."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import docker
import pytest
import redis.asyncio as aioredis

from bot.fakeslack import Call, FakeSlack, SlackSender
from bot.jobs.queue import Job, JobQueue
from bot.ops.audit import AuditLog
from bot.slack.render import CANCEL_ACTION
from tests.helpers import all_text, answer_text, eventually, output_text, run_command
from tests.rig import Containers, LocalRegistry, RedisServer

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _text(call: Call) -> str:
    return all_text({"text": call.args.get("text", ""), "blocks": call.args.get("blocks") or []})


async def _final_status(fake: FakeSlack, ts: str, timeout: float = 30.0) -> Call:
    """The chat.update that put the job's status message in a finished state."""
    return await fake.wait_for_call(
        "chat.update",
        lambda c: (
            c.args.get("ts") == ts and any(w in _text(c) for w in ("succeeded", "failed", "cancelled", "interrupted"))
        ),
        timeout=timeout,
    )


async def _submit(slack: SlackSender, fake: FakeSlack, text: str, user: str = "U_ALICE") -> tuple[str, Any]:
    since = len(fake.calls)
    ack = await slack.command(text, user_id=user)
    assert ack.status == 200 and ack.elapsed < 3.0
    posted = await fake.wait_for_call(
        "chat.postMessage", lambda c: text.split()[0] in _text(c), timeout=10, since=since
    )
    assert posted.response and posted.response.get("ok"), posted.response
    return str(posted.response["ts"]), posted


async def _recent_jobs(redis_url: str) -> list[Job]:
    """The default host's recent jobs in Redis, newest first: serve's command entries and the worker's jobs."""
    async with aioredis.Redis.from_url(redis_url) as redis:
        return await JobQueue(redis).list("local", limit=100)


async def test_restart_runs_as_a_job_with_one_status_message(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, docker_api: docker.APIClient
) -> None:
    name = containers.run("job-web", ["sleep", "3600"])
    before = docker_api.inspect_container(name)["State"]["StartedAt"]
    ts, posted = await _submit(slack, fake_slack, f"restart -t 1 {name}")
    assert "queued" in _text(posted) and posted.args["channel"] == "C_GENERAL"
    final = await _final_status(fake_slack, ts)
    text = _text(final)
    assert "succeeded" in text and f"{name}: restarted" in text
    assert CANCEL_ACTION not in str(final.args.get("blocks"))
    assert docker_api.inspect_container(name)["State"]["StartedAt"] != before
    # Every edit went to the same message: one status message per job.
    edits = [c for c in fake_slack.calls if c.method == "chat.update" and c.args.get("channel") == "C_GENERAL"]
    assert {c.args["ts"] for c in edits if name in _text(c)} == {ts}


async def test_stop_start_and_docker_wording(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, docker_api: docker.APIClient
) -> None:
    name = containers.run("job-stop", ["sleep", "3600"])
    ts, _ = await _submit(slack, fake_slack, f"stop -t 1 {name}")
    assert "stopped (exit code 137)" in _text(await _final_status(fake_slack, ts))
    assert docker_api.inspect_container(name)["State"]["Running"] is False
    ts, _ = await _submit(slack, fake_slack, f"stop {name}")
    assert "already stopped" in _text(await _final_status(fake_slack, ts))
    ts, _ = await _submit(slack, fake_slack, f"container start {name}")
    assert "started" in _text(await _final_status(fake_slack, ts))
    assert docker_api.inspect_container(name)["State"]["Running"] is True


async def test_a_retried_request_makes_no_second_job(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, redis_server: RedisServer
) -> None:
    name = containers.run("job-idem", ["sleep", "3600"])
    since = len(fake_slack.calls)
    first = await slack.command(f"restart -t 1 {name}")
    posted = await fake_slack.wait_for_call("chat.postMessage", lambda c: name in _text(c), since=since)
    again = await slack.command(f"restart -t 1 {name}", response_url=first.response_url)
    assert again.status == 200
    # Serve handles the retry after acking it, so its absence needs an event that comes later: a
    # new command on the same container, sent after that ack and run to its end (its job waits
    # for the container's lock behind every earlier job on it, a second one included).
    later_ts, _ = await _submit(slack, fake_slack, f"restart -t 0 {name}")
    await _final_status(fake_slack, later_ts)
    jobs = await _recent_jobs(redis_server.url)
    retried = [job.verb for job in jobs if job.reply_to.response_url == first.response_url]
    # One entry from serve and one job from the worker for that request: the retry found both.
    assert sorted(retried) == ["command", "restart"], retried
    posts = [c for c in fake_slack.calls[since:] if c.method == "chat.postMessage" and name in _text(c)]
    assert [str(c.response["ts"]) for c in posts] == [str(posted.response["ts"]), later_ts]


async def test_jobs_on_one_container_run_one_after_the_other_and_cancel(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers
) -> None:
    name = containers.run("job-lock", ["sleep", "3600"])  # sleep ignores SIGTERM: stop takes -t seconds
    ts1, _ = await _submit(slack, fake_slack, f"stop -t 3 {name}")
    ts2, _ = await _submit(slack, fake_slack, f"start {name}")
    waiting = await fake_slack.wait_for_call(
        "chat.update", lambda c: c.args.get("ts") == ts2 and "waiting behind job" in _text(c), timeout=10
    )
    assert "<@U_ALICE>" in _text(waiting)
    # Cancel the waiting one with its button; the first one finishes undisturbed.
    message = {"blocks": waiting.args["blocks"], "ts": ts2, "channel": "C_GENERAL"}
    ack = await slack.click(message, CANCEL_ACTION, user_id="U_ALICE", channel_id="C_GENERAL", message_ts=ts2)
    assert ack.status == 200
    assert "cancelled by <@U_ALICE>" in _text(await _final_status(fake_slack, ts2))
    assert "stopped" in _text(await _final_status(fake_slack, ts1))


async def test_jobs_need_the_verb_and_list_and_hosts(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers
) -> None:
    name = containers.run("job-perm", ["sleep", "3600"], labels={"team": "payments"})
    reply = await run_command(slack, fake_slack, f"restart {name}", user_id="U_BOB")
    assert "Not allowed" in all_text(reply)
    ts, _ = await _submit(slack, fake_slack, f"restart -t 0 {name}")
    await _final_status(fake_slack, ts)
    reply = await run_command(slack, fake_slack, "jobs")
    # After a whole suite's jobs the table may be long enough to arrive as a file.
    listing = answer_text(fake_slack, reply)
    assert listing.startswith("JOB ID")
    assert f"docker restart -t 0 {name}" in listing
    reply = await run_command(slack, fake_slack, "hosts")
    table = output_text(reply)
    assert table.startswith("HOST") and "local (default)" in table and "elsewhere" in table
    assert "no live worker" in table.split("elsewhere", 1)[1]
    reply = await run_command(slack, fake_slack, f"-H elsewhere restart {name}")
    assert "no live worker" in all_text(reply) or "Cannot connect" in all_text(reply)


@pytest.fixture(scope="module")
def registry(docker_api: docker.APIClient) -> Iterator[LocalRegistry]:
    with LocalRegistry.start() as reg:
        try:
            reg.push_big_image(docker_api, "dockbell-test/e2e-big", "v1")
            yield reg
        finally:
            reg.remove_local_images(docker_api)


async def test_pull_shows_progress_and_docker_s_result(
    slack: SlackSender, fake_slack: FakeSlack, registry: LocalRegistry, docker_api: docker.APIClient
) -> None:
    ref = f"{registry.address}/dockbell-test/e2e-big:v1"
    ts, _ = await _submit(slack, fake_slack, f"pull {ref}")
    final = _text(await _final_status(fake_slack, ts, timeout=60))
    assert "succeeded" in final
    assert f"Status: Downloaded newer image for {ref}" in final
    assert docker_api.inspect_image(ref)["Id"].startswith("sha256:")
    # A second pull says what docker says.
    ts, _ = await _submit(slack, fake_slack, f"image pull {ref}")
    assert f"Status: Image is up to date for {ref}" in _text(await _final_status(fake_slack, ts, timeout=60))
    # -q: docker prints the reference alone.
    ts, _ = await _submit(slack, fake_slack, f"pull -q {ref}")
    quiet = _text(await _final_status(fake_slack, ts, timeout=60))
    assert "succeeded" in quiet and ref in quiet and "Status:" not in quiet
    ts, _ = await _submit(slack, fake_slack, f"pull {registry.address}/dockbell-test/nope:v9")
    failed = _text(await _final_status(fake_slack, ts, timeout=30))
    # The engine's own 404 wording, as the CLI prints it.
    assert "failed" in failed and "Error response from daemon" in failed and "not found" in failed


async def test_jobs_are_audited_with_their_id_and_outcome(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, redis_server: RedisServer
) -> None:
    name = containers.run("job-audit", ["sleep", "3600"])
    started = time.time()
    ts, _ = await _submit(slack, fake_slack, f"restart -t 0 {name}")
    await _final_status(fake_slack, ts)
    job = next(j for j in await _recent_jobs(redis_server.url) if j.reply_to.thread_ts == ts)

    async def outcome_audited() -> bool:
        # Written just after the final edit of the status message: wait for it by the job's id.
        async with aioredis.Redis.from_url(redis_server.url) as redis:
            records = await AuditLog(redis, max_entries=1, max_age_seconds=1).query(since=started - 1)
        return any(r.job_id == job.id and r.outcome == "job succeeded" for r in records)

    await eventually(outcome_audited, what=f"the audit record of {job.id}'s outcome")
    reply = await run_command(slack, fake_slack, f"audit {name}", user_id="U_ALICE")
    table = output_text(reply)
    assert "job succeeded" in table and f"restart -t 0 {name}" in table
    job_ids = {line.split()[-1] for line in table.splitlines()[1:] if name in line}
    assert job_ids == {job.id}
