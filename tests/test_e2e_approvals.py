"""End to end: approvals in threads, with several people and the fake Slack's buttons and modal.

A stack of its own (serve's front and a worker) on a Redis database of its own, with a policy
whose approvals rules cover containers labelled ``dockbell.protected``.  U_REQ asks; U_APP1
and U_APP2 (user group S_APPROVERS, to which U_REQ belongs too) may approve; U_OUT may run
everything but approves nothing.  Every wait is on a concrete event: a fake Slack record, a
Docker event or inspect, a Redis key.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import docker
import pytest
import pytest_asyncio

from bot.config import Config, parse_config
from bot.fakeslack import Call, FakeSlack, Message, SlackSender
from bot.jobs.approval_flow import ApprovalFlow
from bot.policy import yaml_with_lines
from bot.slack.render_approvals import APPROVE_ACTION, DENY_ACTION, REASON_ACTION, REASON_BLOCK
from tests.conftest import SIGNING_SECRET, bot_settings, wait_for_worker
from tests.helpers import all_text, eventually, output_text, run_command
from tests.rig import TEST_IMAGE, TEST_LABEL, Containers, RedisServer
from tests.stack import Stack, start_stack

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.e2e]

CHANNEL = "C_GENERAL"
APPROVERS = "S_APPROVERS"
QUICK_STOP = ["sh", "-c", 'trap "exit 0" TERM; while true; do sleep 1; done']
CONFIG = f"""
hosts:
  local: {{}}
permissions:
  contact: "#ops"
  roles:
    basics:   {{allow: [help, whoami, can-i, approvals]}}
    operator: {{allow: ["*"], flags: ["*"]}}
  bindings:
    - {{everyone: true, role: basics}}
    - {{users: [U_REQ, U_APP1, U_APP2, U_OUT], role: operator}}
  approvals:
    - {{verbs: [restart, stop, exec], on: {{labels: {{dockbell.protected: "true"}}}},
       approvers: {{usergroups: [{APPROVERS}]}}, reason: "protected container"}}
    - {{verbs: [restart], on: {{labels: {{dockbell.protected: "two"}}}},
       approvers: {{usergroups: [{APPROVERS}]}}, count: 2, ttl: 10m, reason: "two keys"}}
"""


def _config() -> Config:
    data, lines = yaml_with_lines(CONFIG, "approvals-test.yml")
    return parse_config(data, "approvals-test.yml", lines)


class Clock:
    """The approval flow's clock: real time plus a jump the expiry test makes."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class Rig:
    fake: FakeSlack
    redis_url: str
    clock: Clock
    stack: Stack

    @property
    def flow(self) -> ApprovalFlow:
        flow = self.stack.workers["local"].worker.runner.s.approvals
        assert flow is not None
        return flow

    def sender(self) -> SlackSender:
        return SlackSender(self.fake, self.stack.url + "/slack/events", SIGNING_SECRET)

    async def restart(self) -> None:
        """Stop serve's front and the worker, then start new ones on the same Redis."""
        await self.stack.stop()
        self.stack = await _start(self.fake, self.redis_url, self.clock)


async def _start(fake: FakeSlack, redis_url: str, clock: Clock) -> Stack:
    stack = await start_stack(bot_settings(fake, redis_url), _config())
    await wait_for_worker(redis_url, "local")
    flow = stack.workers["local"].worker.runner.s.approvals
    assert flow is not None
    flow.clock = clock
    return stack


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def rig(fake_slack: FakeSlack, redis_server: RedisServer) -> AsyncIterator[Rig]:
    for user in ("U_REQ", "U_APP1", "U_APP2", "U_OUT"):
        fake_slack.add_user(user, user.lower().removeprefix("u_"))
    fake_slack.set_usergroup(APPROVERS, ["U_APP1", "U_APP2", "U_REQ"])
    url = redis_server.url.rsplit("/", 1)[0] + "/7"  # a database of its own: its own streams and worker
    clock = Clock()
    rig = Rig(fake_slack, url, clock, await _start(fake_slack, url, clock))
    yield rig
    await rig.stack.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def slack(rig: Rig) -> AsyncIterator[SlackSender]:
    rig.fake.reset()
    rig.clock.offset = 0.0
    sender = rig.sender()
    yield sender
    await sender.close()


# ---- helpers -------------------------------------------------------------------------------------


def _text(call: Call) -> str:
    return all_text({"text": call.args.get("text", ""), "blocks": call.args.get("blocks") or []})


def _message_text(message: Message) -> str:
    return all_text({"text": message.text, "blocks": message.blocks or []})


@dataclass
class Asked:
    ts: str
    approval_id: str
    notice: dict[str, Any]  # what the requester was told privately
    url: str  # the command's response_url


async def _ask(slack: SlackSender, fake: FakeSlack, text: str, user: str = "U_REQ") -> Asked:
    since = len(fake.calls)
    ack = await slack.command(text, user_id=user, channel_id=CHANNEL)
    assert ack.status == 200 and ack.elapsed < 3.0
    posted = await fake.wait_for_call(
        "chat.postMessage", lambda c: "Approval needed" in _text(c), timeout=15, since=since
    )
    notice = await fake.wait_for_response(lambda p: p.url == ack.response_url, timeout=10)
    ts = str(posted.response["ts"])
    request_id = next(w.strip("`") for w in _text(posted).split() if w.strip("`").startswith("a-"))
    return Asked(ts, request_id, dict(notice.body), str(ack.response_url))


def _current(fake: FakeSlack, ts: str) -> Message:
    message = fake.workspace.find_message(CHANNEL, ts)
    assert message is not None, f"no message {ts}"
    return message


async def _click(slack: SlackSender, fake: FakeSlack, ts: str, action: str, user: str) -> str:
    """``user`` clicks ``action`` on the request message as it is now; what they are told privately ("" if nothing)."""
    ack = await slack.click(_current(fake, ts), action, user_id=user, channel_id=CHANNEL, message_ts=ts)
    assert ack.status == 200 and ack.elapsed < 3.0
    answer = await fake.wait_for_response(lambda p: p.url == ack.response_url, timeout=15)
    return all_text(answer.body)


async def _press(slack: SlackSender, fake: FakeSlack, ts: str, action: str, user: str) -> None:
    """A click that is answered in the request message itself (the approval that completes it)."""
    ack = await slack.click(_current(fake, ts), action, user_id=user, channel_id=CHANNEL, message_ts=ts)
    assert ack.status == 200 and ack.elapsed < 3.0


async def _until_message(fake: FakeSlack, ts: str, words: str, timeout: float = 30.0) -> str:
    async def check() -> str | None:
        text = _message_text(_current(fake, ts))
        return text if words in text else None

    try:
        return await eventually(check, what=f"{words!r} in the request message", timeout=timeout)
    except AssertionError as err:
        raise AssertionError(f"{err}; it reads:\n{_message_text(_current(fake, ts))}") from None


def _thread(fake: FakeSlack, ts: str) -> list[str]:
    return [_message_text(m) for m in fake.thread(CHANNEL, ts)[1:]]


def _events(api: docker.APIClient, cid: str, since: float) -> list[str]:
    """The container's lifecycle events (kill, die, stop, start, restart...) from ``since`` until now."""
    events = api.events(since=f"{since:.6f}", until=f"{time.time():.6f}", filters={"container": cid}, decode=True)
    return [str(e.get("Action") or e.get("status")) for e in events if e.get("Type", "container") == "container"]


def _protected(containers: Containers, name: str, value: str = "true") -> str:
    return containers.run(name, QUICK_STOP, labels={"dockbell.protected": value})


def _started(api: docker.APIClient, name: str) -> str:
    return str(api.inspect_container(name)["State"]["StartedAt"])


# ---- the tests -------------------------------------------------------------------------------------


async def test_the_requester_and_a_non_approver_are_refused_and_nothing_happens(
    rig: Rig, slack: SlackSender, containers: Containers, docker_api: docker.APIClient
) -> None:
    fake = rig.fake
    name = _protected(containers, "appr-self")
    cid, before, since = docker_api.inspect_container(name)["Id"], _started(docker_api, name), time.time()
    asked = await _ask(slack, fake, f"restart -t 1 {name}")

    request = _message_text(_current(fake, asked.ts))
    assert "<@U_REQ> asked to run `docker restart -t 1 " + name in request and "`local`" in request
    assert f"<!subteam^{APPROVERS}>" in request and "Approvals: 0 of 1" in request
    notice = all_text(asked.notice)
    assert "needs approval" in notice and "https://fake.slack.com/archives/C_GENERAL/p" in notice
    assert f"/docker approvals cancel {asked.approval_id}" in notice

    own = await _click(slack, fake, asked.ts, APPROVE_ACTION, "U_REQ")
    assert f"You asked for this; someone in <!subteam^{APPROVERS}> must approve it." in own
    other = await _click(slack, fake, asked.ts, APPROVE_ACTION, "U_OUT")
    assert "You are not an approver for this rule (approvals[0] (protected container))" in other
    deny = await _click(slack, fake, asked.ts, DENY_ACTION, "U_OUT")
    assert "You are not an approver" in deny and not fake.views

    assert "Approvals: 0 of 1" in _message_text(_current(fake, asked.ts))
    assert _started(docker_api, name) == before
    assert _events(docker_api, cid, since) == []
    await run_command(slack, fake, f"approvals cancel {asked.approval_id}", user_id="U_REQ")


async def test_an_approver_runs_it_once_despite_simultaneous_clicks_and_retried_deliveries(
    rig: Rig, slack: SlackSender, containers: Containers, docker_api: docker.APIClient
) -> None:
    fake = rig.fake
    name = _protected(containers, "appr-once")
    cid, before = docker_api.inspect_container(name)["Id"], _started(docker_api, name)
    asked = await _ask(slack, fake, f"restart -t 1 {name}")
    since = time.time()
    message = _current(fake, asked.ts)
    acks = await asyncio.gather(
        *(
            slack.click(message, APPROVE_ACTION, user_id=user, channel_id=CHANNEL, message_ts=asked.ts)
            for user in ("U_APP1", "U_APP2", "U_APP1")
        )
    )
    retried = await asyncio.gather(*(slack.redeliver(str(ack.response_url)) for ack in acks))
    assert all(a.status == 200 for a in (*acks, *retried))

    result = await _until_message(fake, asked.ts, "Result: job", timeout=30)
    assert "Approved by <@U_APP" in result and "succeeded" in result
    assert _started(docker_api, name) != before
    # Once: one restart on the engine, one job status message in the request's thread.
    assert _events(docker_api, cid, since).count("restart") == 1
    jobs_in_thread = [t for t in _thread(fake, asked.ts) if "docker restart -t 1" in t]
    assert len(jobs_in_thread) == 1 and "succeeded" in jobs_in_thread[0]
    answers = [all_text(p.body) for p in fake.response_posts if p.url in {a.response_url for a in acks}]
    assert any("closed" in a or "already" in a for a in answers), answers


async def test_two_approvals_are_needed_with_count_2(
    rig: Rig, slack: SlackSender, containers: Containers, docker_api: docker.APIClient
) -> None:
    fake = rig.fake
    name = _protected(containers, "appr-two", "two")
    before = _started(docker_api, name)
    asked = await _ask(slack, fake, f"restart -t 1 {name}")
    assert "2 approvals by different people" in _message_text(_current(fake, asked.ts))

    first = await _click(slack, fake, asked.ts, APPROVE_ACTION, "U_APP1")
    assert "Counted: 1 of 2" in first
    assert "Approvals: 1 of 2 (<@U_APP1>)" in _message_text(_current(fake, asked.ts))
    again = await _click(slack, fake, asked.ts, APPROVE_ACTION, "U_APP1")
    assert "already (1 of 2)" in again
    assert _started(docker_api, name) == before

    await _press(slack, fake, asked.ts, APPROVE_ACTION, "U_APP2")
    result = await _until_message(fake, asked.ts, "Result: job")
    assert "Approved by <@U_APP1> and <@U_APP2>" in result
    assert _started(docker_api, name) != before
    assert any("<@U_APP1> approved (1 of 2)" in t for t in _thread(fake, asked.ts))


async def test_deny_with_a_reason_closes_the_request(
    rig: Rig, slack: SlackSender, containers: Containers, docker_api: docker.APIClient
) -> None:
    fake = rig.fake
    name = _protected(containers, "appr-deny")
    before = _started(docker_api, name)
    asked = await _ask(slack, fake, f"stop -t 1 {name}")
    since = len(fake.calls)
    ack = await slack.click(_current(fake, asked.ts), DENY_ACTION, user_id="U_APP2", channel_id=CHANNEL)
    assert ack.status == 200
    opened = await fake.wait_for_call("views.open", since=since, timeout=10)
    assert opened.ok, opened.response
    view_id = str(opened.response["view"]["id"])
    submitted = await slack.submit_view(
        view_id, {REASON_BLOCK: {REASON_ACTION: "not during the sale"}}, user_id="U_APP2"
    )
    assert submitted.status == 200 and submitted.text == "" and fake.views[view_id].closed

    text = await _until_message(fake, asked.ts, "Denied by <@U_APP2>")
    assert "not during the sale. Nothing ran." in text and "Approve" not in str(_current(fake, asked.ts).blocks)
    assert any("<@U_APP2> denied it: not during the sale" in t for t in _thread(fake, asked.ts))
    late = await slack.click(
        {"blocks": _first_version(fake, asked.ts), "ts": asked.ts},
        APPROVE_ACTION,
        user_id="U_APP1",
        channel_id=CHANNEL,
        message_ts=asked.ts,
    )
    answer = await fake.wait_for_response(lambda p: p.url == late.response_url, timeout=10)
    assert "is closed" in all_text(answer.body) and "Denied by <@U_APP2>" in all_text(answer.body)
    assert _started(docker_api, name) == before and docker_api.inspect_container(name)["State"]["Running"]


async def test_a_deny_form_slack_would_not_open_changes_nothing_and_says_so(
    rig: Rig, slack: SlackSender, containers: Containers
) -> None:
    fake = rig.fake
    name = _protected(containers, "appr-trigger")
    asked = await _ask(slack, fake, f"restart -t 1 {name}")
    fake.fail_next("views.open", error="expired_trigger_id")  # the worker answered after Slack's 3 s
    told = await _click(slack, fake, asked.ts, DENY_ACTION, "U_APP1")
    assert "Slack did not open the Deny form (expired_trigger_id); click Deny again. Nothing was changed." in told
    assert "Approvals: 0 of 1" in _message_text(_current(fake, asked.ts)) and "Deny" in str(
        _current(fake, asked.ts).blocks
    )
    # A retried delivery of the command itself asks nothing twice.
    since = len(fake.calls)
    await slack.command(f"restart -t 1 {name}", user_id="U_REQ", channel_id=CHANNEL, response_url=asked.url)
    listed = output_text(await run_command(slack, fake, "approvals", user_id="U_REQ"))
    assert listed.count(asked.approval_id) == 1 and listed.count(name) == 1
    assert not [c for c in fake.calls[since:] if c.method == "chat.postMessage" and "Approval needed" in _text(c)]
    await run_command(slack, fake, f"approvals cancel {asked.approval_id}", user_id="U_REQ")


def _first_version(fake: FakeSlack, ts: str) -> list[Any]:
    """The request message's blocks as first posted (with its buttons): a stale copy still on screen."""
    message = _current(fake, ts)
    return list(message.edits[0].old_blocks or []) if message.edits else list(message.blocks or [])


async def test_expiry_replaces_the_buttons_and_nothing_runs(
    rig: Rig, slack: SlackSender, containers: Containers, docker_api: docker.APIClient
) -> None:
    fake = rig.fake
    name = _protected(containers, "appr-expire")
    cid, before, since = docker_api.inspect_container(name)["Id"], _started(docker_api, name), time.time()
    asked = await _ask(slack, fake, f"restart -t 1 {name}")
    rig.clock.offset = 16 * 60  # past the rule's 15m: the worker's sweep expires it
    text = await _until_message(fake, asked.ts, "Expired after 15m: nothing ran.", timeout=20)
    assert "Approve" not in str(_current(fake, asked.ts).blocks) and "Expires in" not in text
    late = await slack.click(
        {"blocks": _first_version(fake, asked.ts), "ts": asked.ts},
        APPROVE_ACTION,
        user_id="U_APP1",
        channel_id=CHANNEL,
        message_ts=asked.ts,
    )
    answer = await fake.wait_for_response(lambda p: p.url == late.response_url, timeout=10)
    assert "Expired after 15m" in all_text(answer.body)
    assert _started(docker_api, name) == before and _events(docker_api, cid, since) == []


async def test_a_container_recreated_under_the_same_name_voids_the_approval(
    rig: Rig, slack: SlackSender, containers: Containers, docker_api: docker.APIClient
) -> None:
    fake = rig.fake
    name = _protected(containers, "appr-void")
    old = docker_api.inspect_container(name)["Id"]
    asked = await _ask(slack, fake, f"restart -t 1 {name}")
    docker_api.remove_container(old, force=True)
    replacement = docker_api.create_container(
        TEST_IMAGE, QUICK_STOP, name=name, labels={TEST_LABEL: containers.session, "dockbell.protected": "true"}
    )
    containers.created.append(str(replacement["Id"]))
    docker_api.start(replacement["Id"])
    before, since = _started(docker_api, name), time.time()

    await _press(slack, fake, asked.ts, APPROVE_ACTION, "U_APP1")
    text = await _until_message(fake, asked.ts, "Void:")
    assert f"container {name} was recreated or replaced ({old[:12]} is now {replacement['Id'][:12]})" in text
    assert "Nothing ran." in text
    told = await fake.wait_for_response(lambda p: p.url == asked.url and "Not run" in all_text(p.body), timeout=10)
    assert f"Not run: the approval of `{asked.approval_id}` is void" in all_text(told.body)
    assert _started(docker_api, name) == before
    assert "restart" not in _events(docker_api, str(replacement["Id"]), since)


async def test_a_pending_request_survives_a_restart_of_serve_and_the_worker(
    rig: Rig, slack: SlackSender, containers: Containers, docker_api: docker.APIClient
) -> None:
    fake = rig.fake
    name = _protected(containers, "appr-durable")
    before = _started(docker_api, name)
    asked = await _ask(slack, fake, f"restart -t 1 {name}")
    await rig.restart()
    async with rig.sender() as after:
        await _press(after, fake, asked.ts, APPROVE_ACTION, "U_APP2")
        result = await _until_message(fake, asked.ts, "Result: job")
    assert "Approved by <@U_APP2>" in result and "succeeded" in result
    assert _started(docker_api, name) != before


async def test_the_preview_lists_a_compose_dependent_and_a_shared_volume(
    rig: Rig, slack: SlackSender, containers: Containers, docker_api: docker.APIClient
) -> None:
    fake = rig.fake
    project = f"dbt{containers.session}"
    volume = f"dockbell-t{containers.session}-data"
    docker_api.create_volume(volume, labels={TEST_LABEL: containers.session})
    try:
        api = _compose_container(docker_api, containers, project, "api", volume, protected=True)
        _compose_container(docker_api, containers, project, "db", volume)
        _compose_container(docker_api, containers, project, "web", None, depends_on="api:service_started:false")
        asked = await _ask(slack, fake, f"restart -t 1 {api}")
        preview = _message_text(_current(fake, asked.ts))
        assert f"project {project}, service api" in preview
        assert f"depend on it  web ({project}-web-1)" in preview
        assert f"{volume} at /data: shared with {project}-db-1" in preview
        assert "restart" in preview and "no healthcheck" in preview and "running, up" in preview
        await run_command(slack, fake, f"approvals cancel {asked.approval_id}", user_id="U_REQ")
    finally:
        for cid in list(containers.created):
            info = _maybe_inspect(docker_api, cid)
            if info and info["Config"]["Labels"].get("com.docker.compose.project") == project:
                docker_api.remove_container(cid, force=True)
        docker_api.remove_volume(volume, force=True)


def _maybe_inspect(api: docker.APIClient, cid: str) -> dict[str, Any] | None:
    try:
        return dict(api.inspect_container(cid))
    except docker.errors.NotFound:
        return None


def _compose_container(
    api: docker.APIClient,
    containers: Containers,
    project: str,
    service: str,
    volume: str | None,
    *,
    protected: bool = False,
    depends_on: str = "",
) -> str:
    """A container labelled as compose labels the containers of a service (no compose file needed)."""
    name = f"{project}-{service}-1"
    labels = {
        TEST_LABEL: containers.session,
        "com.docker.compose.project": project,
        "com.docker.compose.service": service,
        "com.docker.compose.container-number": "1",
        "com.docker.compose.oneoff": "False",
    }
    if protected:
        labels["dockbell.protected"] = "true"
    if depends_on:
        labels["com.docker.compose.depends_on"] = depends_on
    host_config = api.create_host_config(binds={volume: {"bind": "/data", "mode": "rw"}} if volume else None)
    created = api.create_container(TEST_IMAGE, QUICK_STOP, name=name, labels=labels, host_config=host_config)
    containers.created.append(str(created["Id"]))
    api.start(created["Id"])
    return name


async def test_approvals_lists_what_each_person_can_act_on_and_cancel_withdraws(
    rig: Rig, slack: SlackSender, containers: Containers, docker_api: docker.APIClient
) -> None:
    fake = rig.fake
    name = _protected(containers, "appr-list")
    asked = await _ask(slack, fake, f"restart -t 1 {name}")
    listed = output_text(await run_command(slack, fake, "approvals", user_id="U_APP1"))
    assert asked.approval_id in listed and "may approve or deny" in listed and "0 of 1" in listed
    mine = output_text(await run_command(slack, fake, "approvals", user_id="U_REQ"))
    assert asked.approval_id in mine and "requested it" in mine
    none = all_text(await run_command(slack, fake, "approvals", user_id="U_OUT"))
    assert asked.approval_id not in none and "no open approval requests for you" in none

    refused = all_text(await run_command(slack, fake, f"approvals cancel {asked.approval_id}", user_id="U_OUT"))
    assert f"no request {asked.approval_id} of yours" in refused
    done = all_text(await run_command(slack, fake, f"approvals cancel {asked.approval_id}", user_id="U_REQ"))
    assert "Withdrawn" in done
    await _until_message(fake, asked.ts, "Withdrawn by <@U_REQ>")
    assert "Approve" not in str(_current(fake, asked.ts).blocks)


async def test_exec_waits_for_approval_and_answers_its_requester_privately(
    rig: Rig, slack: SlackSender, containers: Containers
) -> None:
    fake = rig.fake
    name = _protected(containers, "appr-exec")
    ack = await slack.command(f"exec {name} echo approved-exec", user_id="U_REQ", channel_id=CHANNEL)
    posted = await fake.wait_for_call("chat.postMessage", lambda c: "Approval needed" in _text(c), timeout=15)
    ts = str(posted.response["ts"])
    assert not any("approved-exec\n" in all_text(p.body) for p in fake.response_posts)
    await _press(slack, fake, ts, APPROVE_ACTION, "U_APP1")
    answer = await fake.wait_for_response(
        lambda p: p.url == ack.response_url and any(b.get("block_id", "").startswith("out-") for b in p.body["blocks"]),
        timeout=20,
    )
    assert output_text(answer.body) == "approved-exec"
    await _until_message(fake, ts, "its answer went to <@U_REQ> privately")


async def test_audit_shows_the_approval_chain_of_a_job(rig: Rig, slack: SlackSender, containers: Containers) -> None:
    fake = rig.fake
    name = _protected(containers, "appr-audit")
    asked = await _ask(slack, fake, f"restart -t 1 {name}")
    await _press(slack, fake, asked.ts, APPROVE_ACTION, "U_APP1")
    result = await _until_message(fake, asked.ts, "Result: job")
    job_id = next(w.strip("`") for w in result.split() if w.strip("`").startswith("j-"))
    chain = output_text(await run_command(slack, fake, f"audit {job_id}", user_id="U_OUT"))
    assert f"approval {asked.approval_id} requested" in chain
    assert f"approved {asked.approval_id} (1 of 1)" in chain and "U_APP1" in chain
    assert "job succeeded" in chain and job_id in chain
