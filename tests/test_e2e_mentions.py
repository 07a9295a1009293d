"""End to end: `@dockbell <command>` in channels and threads, and commands in a DM.

Signed Events API requests (``app_mention``, ``message.im``) go through serve and the worker on
the real engine and Redis; the assertions are on what the fake Slack received, the jobs in
Redis and the audit trail.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import docker
import pytest
import redis.asyncio as aioredis

from bot.fakeslack import FakeSlack, Message, SentEvent, SlackSender, SocketSender
from bot.jobs.queue import Job, JobQueue
from bot.jobs.threads import ThreadMap, ThreadSubject
from bot.ops.audit import AuditLog, AuditRecord
from bot.slack.http import SlackFront
from bot.slack.render import CANCEL_ACTION, SHARE_ACTION
from tests.helpers import all_text, eventually, output_text
from tests.rig import Containers, RedisServer
from tests.stack import Stack

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _replies(fake: FakeSlack, sent: SentEvent, count: int = 1, timeout: float = 15.0) -> list[Message]:
    """dockbell's replies in the thread the answer to ``sent`` goes to (its own, or the one it was in)."""
    root = str(sent.event.get("thread_ts") or sent.ts)

    async def found() -> list[Message] | None:
        replies = [m for m in fake.thread(sent.channel, root) if m.bot_id and m.ts > sent.ts]
        return replies if len(replies) >= count else None

    return await eventually(found, what=f"{count} repl(ies) in thread {root}", timeout=timeout)


async def _dm_replies(fake: FakeSlack, sent: SentEvent, count: int = 1, timeout: float = 15.0) -> list[Message]:
    async def found() -> list[Message] | None:
        replies = [m for m in fake.messages.get(sent.channel, []) if m.bot_id and m.ts > sent.ts]
        return replies if len(replies) >= count else None

    return await eventually(found, what=f"{count} repl(ies) in {sent.channel}", timeout=timeout)


def _text(message: Message) -> str:
    return all_text(message.to_dict())


async def _audit_since(redis_url: str, since: float) -> list[AuditRecord]:
    async with aioredis.Redis.from_url(redis_url) as redis:
        return await AuditLog(redis, max_entries=1, max_age_seconds=1).query(since=since)


async def _jobs(redis_url: str) -> list[Job]:
    async with aioredis.Redis.from_url(redis_url) as redis:
        return await JobQueue(redis).list("local", limit=200)


async def test_a_mention_in_a_channel_is_answered_in_its_thread(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, redis_server: RedisServer
) -> None:
    name = containers.run("mention-ps", ["sleep", "3600"])
    started = time.time()
    sent = await slack.mention(f"ps -a --filter name={name} --format '{{{{.Names}}}}'")
    assert sent.ack.status == 200 and sent.ack.elapsed < 3.0
    reply = (await _replies(fake_slack, sent))[0]
    assert reply.thread_ts == sent.ts and reply.channel == "C_GENERAL"
    assert output_text(reply.to_dict()) == name
    assert SHARE_ACTION not in str(reply.blocks)  # already visible in the thread: nothing to share
    assert not fake_slack.response_posts and not fake_slack.ephemerals
    records = await _audit_since(redis_server.url, started)
    mine = [r for r in records if r.command.startswith("ps -a") and name in r.command]
    assert mine and mine[-1].user_id == "U_ALICE" and mine[-1].channel_id == "C_GENERAL"


async def _drain(front: SlackFront) -> None:
    """Wait for the work serve's listeners started after their acks (the Handoff's drain, one of its closers)."""
    drains = [close for close in front.closers if getattr(close, "__name__", "") == "drain"]
    assert drains, "serve's front no longer drains its handoff on close"
    for drain in drains:
        await drain()


def _counted(stack: Stack, kind: str) -> float:
    value: float = stack.front.metrics.received.labels(kind=kind)._value.get()
    return value


async def _final_status(fake: FakeSlack, channel: str, ts: str, timeout: float = 30.0) -> str:
    """The text of the status message ``ts`` once its job has finished."""

    async def final() -> str | None:
        message = fake.workspace.find_message(channel, ts)
        text = _text(message) if message is not None else ""
        return text if any(w in text for w in ("succeeded", "failed", "cancelled", "interrupted")) else None

    return await eventually(final, what=f"the final state of status message {ts}", timeout=timeout)


async def _status_message(fake: FakeSlack, since: int, channel: str = "C_GENERAL", thread_ts: str | None = None) -> str:
    """The ts of the first job status message posted since call ``since`` (in ``thread_ts``'s thread if given)."""

    def is_status(c: Any) -> bool:
        return c.args.get("channel") == channel and c.args.get("thread_ts") == thread_ts and "queued" in str(c.args)

    call = await fake.wait_for_call("chat.postMessage", is_status, timeout=15, since=since)
    assert call.ok, call.response
    return str(call.response["ts"])


async def test_a_mention_in_a_job_thread_acts_on_its_container(
    slack: SlackSender,
    fake_slack: FakeSlack,
    containers: Containers,
    docker_api: docker.APIClient,
    redis_server: RedisServer,
) -> None:
    name = containers.run("mention-job", ["sh", "-c", "echo first; echo second; exec sleep 3600"])
    cid = docker_api.inspect_container(name)["Id"]
    since = len(fake_slack.calls)
    ack = await slack.command(f"restart -t 1 {name}")
    assert ack.status == 200
    status_ts = await _status_message(fake_slack, since)
    assert "succeeded" in await _final_status(fake_slack, "C_GENERAL", status_ts)
    async with aioredis.Redis.from_url(redis_server.url) as redis:
        subject = await ThreadMap(redis).lookup("C_GENERAL", status_ts)
    assert subject == ThreadSubject("local", cid, name, "job")

    # `@dockbell logs --tail 5` in the status message's thread: that container's logs, in the thread.
    started = time.time()
    logs = await slack.mention("logs --tail 1", thread_ts=status_ts)
    reply = (await _replies(fake_slack, logs))[0]
    assert reply.thread_ts == status_ts
    assert output_text(reply.to_dict()) == "second"
    assert cid[:12] in _text(reply)  # the echo shows the command that ran, container and all

    # `@dockbell restart -t 1` there: a job on that container, its status message in the same thread.
    before = docker_api.inspect_container(cid)["State"]["StartedAt"]
    since = len(fake_slack.calls)
    await slack.mention("restart -t 1", thread_ts=status_ts)
    job_ts = await _status_message(fake_slack, since, thread_ts=status_ts)
    assert "succeeded" in await _final_status(fake_slack, "C_GENERAL", job_ts)
    assert docker_api.inspect_container(cid)["State"]["StartedAt"] != before
    restarts = [j for j in await _jobs(redis_server.url) if j.verb == "restart" and j.created_at >= started]
    assert [j.target for j in restarts] == [cid]
    records = await _audit_since(redis_server.url, started)
    restart_records = [r for r in records if r.command.startswith("restart")]
    assert restart_records and all(name in r.target for r in restart_records), restart_records
    assert all(r.decision == "allow" and r.user_id == "U_ALICE" for r in restart_records)
    log_records = [r for r in records if r.command.startswith("logs")]
    assert log_records and name in log_records[0].target and cid[:12] in log_records[0].command


async def test_a_mention_in_another_thread_that_names_no_container_runs_nothing(
    slack: SlackSender, fake_slack: FakeSlack, redis_server: RedisServer
) -> None:
    top = await slack.mention("version --format '{{.Client.Version}}'")
    await _replies(fake_slack, top)
    started = time.time()
    follow = await slack.mention("restart", thread_ts=top.ts)
    reply = (await _replies(fake_slack, follow))[0]
    assert reply.thread_ts == top.ts
    assert '"docker restart" requires at least 1 argument.' in _text(reply)
    assert not [j for j in await _jobs(redis_server.url) if j.verb == "restart" and j.created_at >= started]
    records = [r for r in await _audit_since(redis_server.url, started) if r.command == "restart"]
    assert [r.outcome for r in records] == ["user_error"] and not records[0].target


async def test_commands_in_a_dm_run_privately_without_channel_roles(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers
) -> None:
    name = containers.run("mention-dm", ["sleep", "3600"])
    sent = await slack.dm(f"ps -a --filter name={name} --format '{{{{.Names}}}}'")
    assert sent.channel.startswith("D") and sent.ack.status == 200
    reply = (await _dm_replies(fake_slack, sent))[0]
    assert reply.thread_ts is None and output_text(reply.to_dict()) == name
    # Dave is a viewer in #ops by its channel binding; in a DM he has the basics only.
    in_ops = await slack.mention(
        f"ps -a --filter name={name} --format '{{{{.Names}}}}'", user_id="U_DAVE", channel_id="C_OPS"
    )
    assert output_text((await _replies(fake_slack, in_ops))[0].to_dict()) == name
    refused = await slack.dm("ps", user_id="U_DAVE")
    assert "not allowed" in _text((await _dm_replies(fake_slack, refused))[0]).lower()
    who = await slack.dm("whoami", user_id="U_DAVE")
    text = output_text((await _dm_replies(fake_slack, who))[0].to_dict())
    assert "Slack user:  U_DAVE" in text and "a direct message with dockbell" in text
    assert "Roles bound to channels do not apply in a direct message" in text
    assert "viewer" not in text


async def test_edits_bots_own_messages_and_retries_run_nothing(
    slack: SlackSender, fake_slack: FakeSlack, bot: Stack, redis_server: RedisServer, containers: Containers
) -> None:
    name = containers.run("mention-ignored", ["sleep", "3600"])
    first = await slack.dm(f"ps -a --filter name={name} --format '{{{{.Names}}}}'")
    await _dm_replies(fake_slack, first)
    started = time.time()
    posts = len([c for c in fake_slack.calls if c.method == "chat.postMessage"])
    ignored = _counted(bot, "ignored")
    sent = [
        await slack.edit(first, f"restart {name}"),
        await slack.delete(first),
        await slack.bot_message(f"<@U_BOT> restart {name}"),
        await slack.own_message(first.channel, f"restart {name}"),
        await slack.mention("", whole_text=f"is {name} down? ask <@U_BOT> restart {name}"),  # not at the start
        await slack.mention(""),  # nothing after the mention
    ]
    assert all(s.ack.status == 200 and s.ack.elapsed < 3.0 for s in sent)
    # The listener decides before it acks: each was counted as ignored by the time its ack came, but
    # dockbell's own message, which Bolt's self-events middleware acks and drops before any listener.
    assert _counted(bot, "ignored") - ignored == len(sent) - 1
    retried = await slack.redeliver_event(first)
    assert retried.ack.status == 200
    # A command after them all, answered: then nothing else was posted, queued or audited.
    sentinel = await slack.dm("version --format '{{.Client.Version}}'")
    await _dm_replies(fake_slack, sentinel)
    await _drain(bot.front)  # every acked message has been taken or dropped by now
    assert len([c for c in fake_slack.calls if c.method == "chat.postMessage"]) == posts + 1
    assert len([m for m in fake_slack.messages[first.channel] if m.bot_id and m.ts > first.ts]) >= 1
    commands = [j for j in await _jobs(redis_server.url) if j.created_at >= started]
    assert [str(j.args.get("text")) for j in commands] == ["version --format '{{.Client.Version}}'"]
    records = await _audit_since(redis_server.url, started)
    assert [r.command for r in records] == ["version --format '{{.Client.Version}}'"]


async def test_a_mention_over_socket_mode(
    fake_slack: FakeSlack, bot: Stack, redis_server: RedisServer, containers: Containers
) -> None:
    from bot.bootstrap.serve import build_front
    from tests.conftest import QUEUE_SECRET, bot_settings, make_test_config

    fake_slack.reset()
    name = containers.run("mention-socket", ["sleep", "3600"])
    settings = bot_settings(fake_slack, redis_server.url, SLACK_APP_TOKEN=fake_slack.app_token)
    front = build_front(settings, make_test_config(), QUEUE_SECRET)
    await front.start("127.0.0.1", 0)
    try:
        async with SocketSender(fake_slack) as socket:
            sent = await socket.mention(f"ps -a --filter name={name} --format '{{{{.Names}}}}'", channel_id="C_OPS")
            assert sent.ack.status == 200 and sent.ack.elapsed < 3.0
            assert fake_slack.link.envelopes[-1].type == "events_api"
            reply = (await _replies(fake_slack, sent))[0]
            assert reply.thread_ts == sent.ts and output_text(reply.to_dict()) == name
            again = await socket.redeliver_event(sent)
            assert again.ack.status == 200
            await _drain(front)
            assert len([m for m in fake_slack.thread("C_OPS", sent.ts) if m.bot_id]) == 1
    finally:
        await front.stop()


async def test_a_long_answer_goes_up_as_a_file_in_the_thread(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers
) -> None:
    name = containers.run("mention-long", ["sh", "-c", "seq 1 4000; exec sleep 3600"])
    await eventually(lambda: _has_lines(containers, name, 4000), what="the container's 4000 lines")
    sent = await slack.mention(f"logs {name}")
    upload, summary = await _replies(fake_slack, sent, count=2)  # the file, then the summary beside it
    assert upload.files and upload.thread_ts == sent.ts
    assert "in this thread" in _text(summary) and summary.thread_ts == sent.ts
    uploaded = [f for f in fake_slack.files.values() if f.completed and f.channel == "C_GENERAL"]
    assert uploaded and uploaded[-1].thread_ts == sent.ts
    assert uploaded[-1].content.decode().split("\n")[-1] == "4000"
    assert not [c for c in fake_slack.calls if c.method == "conversations.open"]  # nothing went to a DM


async def test_an_unknown_command_is_told_in_the_thread_with_a_suggestion(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    sent = await slack.mention("pss -a")
    text = _text((await _replies(fake_slack, sent))[0])
    assert "docker: 'pss' is not a docker command." in text and "ps" in text


async def test_the_request_url_answers_slacks_url_verification(slack: SlackSender) -> None:
    ack = await slack.url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
    assert ack.status == 200 and ack.json == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


async def _has_lines(containers: Containers, name: str, count: int) -> bool:
    logs: bytes = await asyncio.to_thread(containers.api.logs, name)  # off the loop the worker shares
    return len(logs.splitlines()) >= count


async def test_cancel_works_on_a_job_a_mention_queued(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers
) -> None:
    name = containers.run("mention-cancel", ["sh", "-c", 'trap "" TERM; while true; do sleep 1; done'])
    since = len(fake_slack.calls)
    await slack.command(f"restart -t 3 {name}")  # holds the container for 3 s
    first_ts = await _status_message(fake_slack, since)
    since = len(fake_slack.calls)
    sent = await slack.mention(f"restart -t 0 {name}")
    second_ts = await _status_message(fake_slack, since, thread_ts=sent.ts)

    def waiting(c: Any) -> bool:
        return bool(c.args.get("ts") == second_ts and "waiting behind job" in str(c.args.get("blocks")))

    blocks = (await fake_slack.wait_for_call("chat.update", waiting, timeout=10)).args["blocks"]
    message = {"blocks": blocks, "ts": second_ts, "channel": "C_GENERAL"}
    ack = await slack.click(message, CANCEL_ACTION, channel_id="C_GENERAL", message_ts=second_ts)
    assert ack.status == 200
    answer = await fake_slack.wait_for_response(lambda p: p.url == ack.response_url, timeout=10)
    assert "cancelled" in all_text(answer.body) and "will not run" in all_text(answer.body)
    assert "cancelled by <@U_ALICE>" in await _final_status(fake_slack, "C_GENERAL", second_ts)
    assert "succeeded" in await _final_status(fake_slack, "C_GENERAL", first_ts)
