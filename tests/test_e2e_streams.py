"""End to end: live output in threads (logs -f, attach, stats, events), bounded and stoppable.

Signed slash commands and clicks in; a real engine and Redis; what the fake Slack received
is checked: the header in the channel, the output in its thread, the end said once.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import docker
import pytest

from bot.fakeslack import FakeSlack, Message, SlackSender
from bot.jobs.streams.desk import StreamDesk
from bot.jobs.streams.registry import StreamRecord
from bot.slack.render_streams import FILE_ACTION, STOP_ACTION
from tests.helpers import all_text, eventually, run_command
from tests.rig import TEST_IMAGE, TEST_LABEL, Containers
from tests.stack import Stack
from tests.stream_helpers import CHANNEL, ended, replies, shown_lines, start_stream

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.usefixtures("remove_module_containers")]


async def click_stop(slack: SlackSender, fake: FakeSlack, header: Message, user: str = "U_ALICE") -> str:
    current = fake.workspace.find_message(CHANNEL, header.ts)
    assert current is not None
    ack = await slack.click(current, STOP_ACTION, user_id=user, channel_id=CHANNEL, message_ts=header.ts)
    assert ack.status == 200
    answer = await fake.wait_for_response(lambda p: p.url == ack.response_url, timeout=20)
    return all_text(answer.body)


def desk(bot: Stack) -> StreamDesk:
    streams = bot.workers["local"].worker.streams
    assert streams is not None
    return streams


async def run_in(containers: Containers, name: str, script: str, **kw: Any) -> str:
    return await asyncio.to_thread(containers.run, name, ["sh", "-c", script], **kw)


async def test_forty_numbered_lines_arrive_in_order_in_one_thread_none_twice(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers
) -> None:
    name = await run_in(
        containers, "counter", 'sleep 1; i=1; while [ $i -le 40 ]; do echo "line $i"; i=$((i+1)); sleep 0.25; done'
    )
    header = await start_stream(slack, fake_slack, f"logs -f {name}")
    end = await ended(fake_slack, header)
    assert "exited with code 0" in end, end
    assert shown_lines(fake_slack, header) == [f"line {i}" for i in range(1, 41)]
    assert "40 lines shown" in end, end
    final = fake_slack.workspace.find_message(CHANNEL, header.ts)
    assert final is not None and "Ended: the container exited with code 0" in all_text(final.to_dict())
    assert STOP_ACTION not in str(final.blocks)  # no Stop on an ended stream
    # Batched: far fewer messages than lines, each edited until full.
    assert len(replies(fake_slack, header)) <= 3


async def test_a_container_that_exits_ends_the_stream_with_its_exit_code(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers
) -> None:
    name = await run_in(containers, "exits", "sleep 2; echo 'about to fail'; exit 3")
    header = await start_stream(slack, fake_slack, f"logs -f --tail 5 {name}")
    end = await ended(fake_slack, header)
    assert "the container exited with code 3" in end
    assert shown_lines(fake_slack, header) == ["about to fail"]


async def test_stop_ends_the_stream_at_once_and_says_who(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, bot: Stack
) -> None:
    name = await run_in(containers, "forever", "while true; do echo tick; sleep 0.2; done")
    header = await start_stream(slack, fake_slack, f"logs -f {name}")
    await eventually(lambda: _some(shown_lines(fake_slack, header)), what="a first line")
    answer = await click_stop(slack, fake_slack, header)
    assert "stopped" in answer, answer  # said only once it has ended
    end = await ended(fake_slack, header, timeout=1)
    assert "<@U_ALICE> stopped it" in end
    assert not desk(bot).live
    # The container goes on: Stop ends the stream, never the container.
    state = await asyncio.to_thread(docker.APIClient().inspect_container, name)
    assert state["State"]["Running"]


async def _some(lines: list[str]) -> list[str] | None:
    return lines or None


async def test_someone_who_may_not_read_the_container_cannot_stop_its_stream(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers
) -> None:
    name = await run_in(containers, "guarded", "while true; do echo tick; sleep 0.5; done")
    header = await start_stream(slack, fake_slack, f"logs -f {name}")
    # Bob sees only team=payments containers: this stream is as missing to him as the container.
    assert "No such stream" in await click_stop(slack, fake_slack, header, user="U_BOB")
    # Dave has the basics only: refused, naming what is lacking.
    refusal = await click_stop(slack, fake_slack, header, user="U_DAVE")
    assert "No such stream" in refusal or "not allowed" in refusal.lower(), refusal
    # Erin may read everything on host local: she may stop it.
    assert "stopped" in await click_stop(slack, fake_slack, header, user="U_ERIN")
    assert "<@U_ERIN> stopped it" in await ended(fake_slack, header)


async def test_a_chatty_container_is_sampled_within_the_rate_and_memory_bounds(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, bot: Stack
) -> None:
    name = await run_in(
        containers, "stream-chatty", "sleep 1; yes 'a very chatty line of output, and again' | head -n 300000; sleep 9"
    )
    calls_before = len(fake_slack.calls)
    started = time.monotonic()
    header = await start_stream(slack, fake_slack, f"logs -f {name}")
    stream = await eventually(lambda: _first(desk(bot).live), what="the live stream")
    await eventually(lambda: _some([x for x in shown_lines(fake_slack, header) if "skipped" in x]), what="a skip note")
    peak = stream.buffer.peak_bytes
    await click_stop(slack, fake_slack, header)
    end = await ended(fake_slack, header)
    took = time.monotonic() - started
    assert "skipped" in end and re.search(r"[\d,]+ skipped", end), end
    assert peak <= stream.settings.buffer_bytes
    # At most one edit and one post per batch, plus the header's own updates and the end.
    thread_calls = [
        c
        for c in fake_slack.calls[calls_before:]
        if c.method in ("chat.postMessage", "chat.update") and c.args.get("channel") == CHANNEL
    ]
    batches = took / stream.batch + 2
    assert len(thread_calls) <= 2 * batches + took / 10 + 6, (len(thread_calls), took)
    assert not [c for c in fake_slack.calls[calls_before:] if c.http_status == 429]
    final = fake_slack.workspace.find_message(CHANNEL, header.ts)
    assert final is not None and "Full log as a file" in str(final.blocks)


async def _first(items: list[Any]) -> Any:
    return items[0] if items else None


async def test_stats_edits_one_table_in_place(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers
) -> None:
    name = await run_in(containers, "busy", "while true; do :; done")
    header = await start_stream(slack, fake_slack, f"stats {name} --duration 6s")
    end = await ended(fake_slack, header, timeout=30)
    assert "time limit" in end
    outputs = [m for m in replies(fake_slack, header) if not m.text.startswith("Stream ended")]
    assert len(outputs) == 1, [m.text for m in outputs]
    table = shown_lines(fake_slack, header)
    assert table[0].split()[:5] == ["CONTAINER", "ID", "NAME", "CPU", "%"], table
    assert len(table) == 2 and table[1].split()[1] == name, table
    assert outputs[0].edits, "the table was never updated in place"


async def test_events_show_a_start_and_a_die_of_a_test_container_and_nothing_hidden(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers
) -> None:
    session = containers.session
    header = await start_stream(slack, fake_slack, f"events --filter label={TEST_LABEL}={session}", user="U_BOB")
    await asyncio.sleep(2)
    seen = await run_in(containers, "ev-payments", "exit 0", labels={"team": "payments"}, wait_exit=True)
    hidden = await run_in(containers, "ev-other", "exit 0", wait_exit=True)

    async def both() -> list[str] | None:
        lines = shown_lines(fake_slack, header)
        have = [x for x in lines if f"name={seen}" in x]
        return (
            lines if any(" container start " in x for x in have) and any(" container die " in x for x in have) else None
        )

    lines = await eventually(both, what="start and die events", timeout=20)
    assert not [x for x in lines if hidden in x], "an event of a container Bob may not see was shown"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z container \w+ [0-9a-f]{64} \(", lines[0]), lines[0]
    await click_stop(slack, fake_slack, header, user="U_BOB")
    await ended(fake_slack, header)


async def test_attach_reads_output_and_never_forwards_input(
    slack: SlackSender, fake_slack: FakeSlack, docker_api: docker.APIClient, containers: Containers
) -> None:
    # stdin open: had dockbell attached it, closing the stream would end `read` and the container.
    def create() -> str:
        full = f"dockbell-t{containers.session}-attached"
        cid = docker_api.create_container(
            TEST_IMAGE,
            ["sh", "-c", '(while true; do echo tick; sleep 0.3; done) & read line; echo "stdin got: $line"; exit 9'],
            name=full,
            labels={TEST_LABEL: containers.session},
            stdin_open=True,
        )["Id"]
        containers.created.append(cid)
        docker_api.start(cid)
        return full

    name = await asyncio.to_thread(create)
    header = await start_stream(slack, fake_slack, f"attach {name}")
    await eventually(lambda: _some([x for x in shown_lines(fake_slack, header) if x == "tick"]), what="output")
    await click_stop(slack, fake_slack, header)
    await ended(fake_slack, header)
    await asyncio.sleep(1)
    state = await asyncio.to_thread(docker_api.inspect_container, name)
    assert state["State"]["Running"], "the container's stdin was closed: dockbell had attached it"
    assert b"stdin got" not in await asyncio.to_thread(docker_api.logs, name)


async def test_limits_per_person_refuse_with_the_rule(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers
) -> None:
    name = await run_in(containers, "limited", "while true; do echo tick; sleep 1; done")
    first = await start_stream(slack, fake_slack, f"logs -f {name}", user="U_ERIN")
    second = await start_stream(slack, fake_slack, f"logs -f --tail 1 {name}", user="U_ERIN")
    answer = await run_command(slack, fake_slack, f"logs -f --tail 2 {name}", user_id="U_ERIN")
    assert "streams.per_user" in all_text(answer), all_text(answer)
    for header in (first, second):
        await click_stop(slack, fake_slack, header, user="U_ERIN")
        await ended(fake_slack, header)


async def test_a_stopping_worker_ends_its_streams_in_their_threads(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, bot: Stack
) -> None:
    name = await run_in(containers, "deploy", "while true; do echo tick; sleep 0.5; done")
    header = await start_stream(slack, fake_slack, f"logs -f {name}")
    await desk(bot).close()
    assert "the worker is stopping" in await ended(fake_slack, header, timeout=2)


async def test_a_dead_workers_stream_is_ended_by_the_sweep(
    slack: SlackSender, fake_slack: FakeSlack, bot: Stack
) -> None:
    # As a killed worker leaves it: registered, its header live, its lease lapsed, nobody to end it.
    streams = desk(bot)
    ts = await streams.slack.post_message(CHANNEL, {"text": "is following logs -f gone"})
    record = StreamRecord(
        id="deadbeef0001",
        host="local",
        kind="logs",
        verb="logs",
        shown="logs -f gone",
        user_id="U_ALICE",
        channel=CHANNEL,
        header_ts=ts,
        started_at=time.time() - 60,
    )
    await streams.registry.save(record)
    assert await streams.registry.admit(record, time.time() - 60, (9, 9, 9)) == ""
    assert await streams.sweep() == 1
    assert await streams.sweep() == 0  # said once
    header = fake_slack.workspace.find_message(CHANNEL, ts)
    assert header is not None
    assert "its worker stopped unexpectedly" in await ended(fake_slack, header)
    assert "Ended: its worker stopped unexpectedly" in all_text(header.to_dict())


async def test_refusals_name_their_rule_and_start_nothing(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, bot: Stack
) -> None:
    name = await run_in(containers, "x-secretive", "while true; do echo secret; sleep 1; done")
    denied = all_text(await run_command(slack, fake_slack, f"logs -f {name}", user_id="U_ERIN"))
    assert "these logs are private" in denied, denied
    missing = all_text(await run_command(slack, fake_slack, "logs -f dockbell-no-such-container"))
    assert "No such container: dockbell-no-such-container" in missing
    hidden = all_text(await run_command(slack, fake_slack, f"logs -f {name}", user_id="U_BOB"))
    assert f"No such container: {name}" in hidden
    open_one = await run_in(containers, "x-open", "while true; do echo hi; sleep 1; done")
    too_long = all_text(await run_command(slack, fake_slack, f"logs -f --duration 3h {open_one}"))
    assert "streams.max_duration" in too_long
    until = all_text(await run_command(slack, fake_slack, f"logs -f --until 1m {open_one}"))
    assert "--until cannot be used with --follow" in until
    assert not desk(bot).live


async def test_secrets_are_redacted_and_the_whole_window_goes_up_as_a_file_on_request(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers
) -> None:
    script = 'sleep 1; i=1; while [ $i -le 5 ]; do echo "line $i token=$API_TOKEN"; i=$((i+1)); sleep 0.2; done'
    name = await run_in(containers, "secretful", script, env=["API_TOKEN=s3cr3t-value-0042"])
    header = await start_stream(slack, fake_slack, f"logs -f {name}")
    await ended(fake_slack, header)
    lines = shown_lines(fake_slack, header)
    assert len(lines) == 5 and not [x for x in lines if "s3cr3t-value-0042" in x], lines
    final = fake_slack.workspace.find_message(CHANNEL, header.ts)
    assert final is not None
    ack = await slack.click(final, FILE_ACTION, user_id="U_ALICE", channel_id=CHANNEL, message_ts=header.ts)
    assert ack.status == 200
    answer = await fake_slack.wait_for_response(lambda p: p.url == ack.response_url, timeout=20)
    assert "is in its thread" in all_text(answer.body), all_text(answer.body)
    (upload,) = [f for f in fake_slack.files.values() if f.thread_ts == header.ts and f.completed]
    content = upload.content.decode()
    assert "line 1 token=" in content and "line 5 token=" in content
    assert "s3cr3t-value-0042" not in content
