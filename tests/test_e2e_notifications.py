"""Crash notifications end to end: real engine, real Redis, the fake Slack with its per-channel limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import docker
import pytest
import pytest_asyncio

from bot.slack import render_notifications as rn
from tests.conftest import SIGNING_SECRET, TEST_CONFIG, bot_settings, wait_for_worker
from tests.fakeslack import FakeSlack, SlackSender
from tests.helpers import eventually
from tests.notify_rig import (
    ALERTS,
    PAY_ALERTS,
    NotifyBot,
    db_url,
    flush,
    make_container,
    naming,
    notify_config,
    prepare_slack,
    rate_limited,
    replies,
    text_of,
    top_level,
)
from tests.rig import Containers, RedisServer
from tests.stack import start_stack

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def notify(
    fake_slack: FakeSlack, redis_server: RedisServer, docker_api: docker.APIClient, containers: Containers
) -> AsyncIterator[NotifyBot]:
    url = db_url(redis_server.url, 7)
    await flush(url)
    config = notify_config(TEST_CONFIG, containers.session)
    settings = bot_settings(fake_slack, url)
    stack = await start_stack(settings, config)
    await wait_for_worker(url, "local")
    bot = NotifyBot(stack, settings, config, url)
    await asyncio.wait_for(bot.watcher.caught_up.wait(), 10)
    yield bot
    await stack.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def clicks(fake_slack: FakeSlack, notify: NotifyBot) -> AsyncIterator[SlackSender]:
    sender = SlackSender(fake_slack, notify.stack.url + "/slack/events", SIGNING_SECRET)
    yield sender
    await sender.close()


async def _async(value: object) -> object:
    return value


async def one_message(fake: FakeSlack, name: str, channel: str = ALERTS, timeout: float = 15.0) -> str:
    async def found() -> str | None:
        got = naming(fake, name, channel)
        return text_of(got[0]) if got else None

    return await eventually(found, what=f"a notification naming {name} in {channel}", timeout=timeout)


async def test_exit_code_explained_with_the_line_it_printed(
    notify: NotifyBot, containers: Containers, fake_slack: FakeSlack
) -> None:
    prepare_slack(fake_slack)
    name = make_container(
        containers,
        "n-exit3",
        ["sh", "-c", "echo starting; echo 'FATAL: config file /etc/app.conf missing' >&2; exit 3"],
    )
    text = await one_message(fake_slack, name)
    assert "exited with code 3" in text
    assert "FATAL: config file /etc/app.conf missing" in text
    assert "dockbell-test/busybox" in text and "`local`" in text
    await asyncio.sleep(2.0)
    assert len(naming(fake_slack, name)) == 1  # one notification, not one per event
    message = naming(fake_slack, name)[0]
    actions = [e["action_id"] for b in message.blocks or [] if b["type"] == "actions" for e in b["elements"]]
    assert rn.RESTART_ACTION in actions and rn.SNOOZE_1H_ACTION in actions
    assert rn.STOP_LOOP_ACTION not in actions  # no loop, no breaker


async def test_oom_killed_is_called_out_of_memory(
    notify: NotifyBot, containers: Containers, fake_slack: FakeSlack
) -> None:
    prepare_slack(fake_slack)
    name = make_container(containers, "n-oom", ["sh", "-c", "x=a; while :; do x=$x$x; done"], mem="8m")
    text = await one_message(fake_slack, name, timeout=30)
    assert "out of memory (OOM-killed)" in text
    assert "8.0 MiB" in text
    assert "137" in text


async def test_exit_137_without_oom_is_not_called_oom(
    notify: NotifyBot, containers: Containers, fake_slack: FakeSlack, docker_api: docker.APIClient
) -> None:
    prepare_slack(fake_slack)
    by_itself = make_container(containers, "n-137", ["sh", "-c", "exit 137"])
    killed = make_container(containers, "n-killed", ["sleep", "300"])
    await asyncio.sleep(0.5)
    docker_api.kill(killed)  # an outside SIGKILL: kill 9, die 137, and no stop
    for name in (by_itself, killed):
        text = await one_message(fake_slack, name)
        assert "killed (SIGKILL): a stop timeout or an outside kill" in text
        assert "out of memory" not in text.lower() and "oom" not in text.lower()


async def test_routes_and_the_silence_label(notify: NotifyBot, containers: Containers, fake_slack: FakeSlack) -> None:
    prepare_slack(fake_slack)
    paid = make_container(containers, "n-route", ["sh", "-c", "exit 4"], labels={"team": "payments"})
    quiet = make_container(containers, "n-quiet", ["sh", "-c", "exit 5"], labels={"dockbell.notify": "false"})
    loud = make_container(containers, "n-loud", ["sh", "-c", "sleep 0.5; exit 6"])
    await one_message(fake_slack, paid, PAY_ALERTS)
    await one_message(fake_slack, loud, ALERTS)
    await asyncio.sleep(1.5)
    assert not naming(fake_slack, paid, ALERTS)
    assert not naming(fake_slack, quiet, ALERTS) and not naming(fake_slack, quiet, PAY_ALERTS)


async def test_a_crash_loop_is_one_message_with_a_growing_count_then_the_breaker(
    notify: NotifyBot,
    containers: Containers,
    fake_slack: FakeSlack,
    docker_api: docker.APIClient,
    clicks: SlackSender,
) -> None:
    prepare_slack(fake_slack)
    name = make_container(containers, "n-loop", ["sh", "-c", "echo boom; exit 2"], restart="always")

    async def looping() -> str | None:
        got = naming(fake_slack, name)
        return text_of(got[0]) if got and "crash loop" in text_of(got[0]) else None

    text = await eventually(looping, what="the breaker on the loop's message", timeout=30)
    assert "exit 2" in text.lower() or "misuse" in text
    assert len(naming(fake_slack, name)) == 1  # still one top-level message
    message = naming(fake_slack, name)[0]
    assert message.edits, "the count grows in place"
    thread = fake_slack.thread(ALERTS, message.ts)
    assert any("Crash 2" in text_of(m) for m in thread[1:])
    assert any("Crash loop" in text_of(m) for m in thread[1:])
    assert rate_limited(fake_slack) == 0  # the watcher alone kept under the channel's limit
    # Stop the loop: `update --restart=no` as a job, by the clicker, through the gate.
    ack = await clicks.click(message, rn.STOP_LOOP_ACTION, channel_id=ALERTS)
    assert ack.status == 200

    async def stopped() -> bool:
        return docker_api.inspect_container(name)["HostConfig"]["RestartPolicy"]["Name"] in ("no", "")

    await eventually(stopped, what="the restart policy set to no", timeout=20)
    # The job's status message shares the channel's limit with the notifications: a 429 then
    # is waited out (Retry-After) by both, and everything is delivered.
    assert await notify.watcher.idle(20)
    await eventually(
        lambda: _async([m for m in top_level(fake_slack) if m.text.startswith("docker -H local update")]),
        what="the update job's status message",
    )


async def test_fifty_containers_dying_together_make_a_handful_of_messages(
    notify: NotifyBot, containers: Containers, fake_slack: FakeSlack, docker_api: docker.APIClient
) -> None:
    prepare_slack(fake_slack)
    names = [
        make_container(containers, f"n-storm{i:02d}", ["sh", "-c", "read x; echo going down; exit 1"], start=False)
        for i in range(50)
    ]
    for name in names:  # stdin is /dev/null: each one's `read` fails and it exits 1 at once
        docker_api.start(name)

    async def all_named() -> bool:
        text = "\n".join(text_of(m) for m in top_level(fake_slack))
        return all(n in text for n in names)

    await eventually(all_named, what="every container named at the top level", timeout=30)
    assert len(top_level(fake_slack)) <= 5, [m.text[:80] for m in top_level(fake_slack)]
    assert rate_limited(fake_slack) == 0
    await asyncio.wait_for(notify.watcher.idle(60), 70)
    # The summaries name them all; their thread has each one's details.
    details = "\n".join(text_of(m) for m in replies(fake_slack))
    summaries = [m for m in top_level(fake_slack) if "containers" in m.text]
    in_summaries = [n for n in names if any(n in text_of(m) for m in summaries)]
    assert all(n in details for n in in_summaries)
    assert rate_limited(fake_slack) == 0
