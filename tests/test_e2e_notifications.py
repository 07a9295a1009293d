"""Crash notifications end to end: real engine, real Redis, the fake Slack with its per-channel limits."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import docker
import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from bot.bootstrap.check import run_check
from bot.fakeslack import FakeSlack, SlackSender
from bot.fakeslack.records import Message
from bot.jobs.watcher.reachability import HostWatch
from bot.slack import render_notifications as rn
from bot.slack.paced import PacedSlack
from tests.conftest import SIGNING_SECRET, TEST_CONFIG, bot_settings, wait_for_worker
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

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.usefixtures("remove_module_containers")]


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

    async def told_in_thread() -> bool | None:  # replies follow the edit, paced in the channel's slots
        thread = [text_of(m) for m in fake_slack.thread(ALERTS, message.ts)[1:]]
        return (any("Crash 2" in t for t in thread) and any("Crash loop" in t for t in thread)) or None

    await eventually(told_in_thread, what="the crashes and the loop in the thread", timeout=15)
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
    # ... in the notification's thread, beside the incident, not at the top of the channel.
    await eventually(
        lambda: _async(
            [m for m in fake_slack.thread(ALERTS, message.ts)[1:] if m.text.startswith("docker -H local update")]
        ),
        what="the update job's status message in the notification's thread",
    )
    assert not [m for m in top_level(fake_slack) if m.text.startswith("docker -H local update")]


@pytest.mark.xfail(
    reason="a 429 in some whole-suite runs: the delivery paces from send and answer, the fake counts arrivals",
    strict=False,
)
async def test_fifty_containers_dying_together_make_a_handful_of_messages(
    notify: NotifyBot, containers: Containers, fake_slack: FakeSlack, docker_api: docker.APIClient
) -> None:
    prepare_slack(fake_slack)
    names = [
        make_container(containers, f"n-storm{i:02d}", ["sh", "-c", "read x; echo going down; exit 1"], start=False)
        for i in range(50)
    ]

    def start_all() -> None:  # stdin is /dev/null: each one's `read` fails and it exits 1 at once
        for name in names:
            docker_api.start(name)

    # Off the loop: fifty blocking calls on it would hold the watcher, then hand it the storm at once.
    await asyncio.to_thread(start_all)

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


async def test_intended_stops_raise_no_alert(
    notify: NotifyBot, containers: Containers, fake_slack: FakeSlack, docker_api: docker.APIClient, clicks: SlackSender
) -> None:
    prepare_slack(fake_slack)
    by_job = make_container(containers, "n-jobrestart", ["sleep", "300"])  # ignores SIGTERM: killed after -t
    by_hand = make_container(containers, "n-handstop", ["sleep", "300"])
    await asyncio.sleep(0.5)
    ack = await clicks.command(f"restart -t 1 {by_job}", user_id="U_ALICE", channel_id="C_GENERAL")
    assert ack.status == 200

    async def restarted() -> bool:
        state = docker_api.inspect_container(by_job)["State"]
        return (
            bool(state["Running"])
            and docker_api.inspect_container(by_job)["RestartCount"] == 0
            and bool([m for m in fake_slack.messages.get("C_GENERAL", []) if "restarted" in text_of(m)])
        )

    await eventually(restarted, what="the restart job to finish", timeout=30)
    docker_api.stop(by_hand, timeout=1)  # kill 15, kill 9, die 137, stop: someone stopped it
    await asyncio.sleep(3.0)
    assert not naming(fake_slack, by_job) and not naming(fake_slack, by_hand)


def _redeploy(api: docker.APIClient, containers: Containers, old: str, project: str, n: int) -> str:
    """What `docker compose up` does to a changed service: stop and remove the old container, create and start anew."""
    api.stop(old, timeout=1)
    api.remove_container(old)
    labels = {"com.docker.compose.project": project, "com.docker.compose.service": "web"}
    return make_container(containers, f"n-{project}-web-{n}", ["sleep", "300"], labels=labels)


async def test_a_compose_redeploy_live_and_replayed_raises_no_alert(
    notify: NotifyBot, containers: Containers, fake_slack: FakeSlack, docker_api: docker.APIClient
) -> None:
    prepare_slack(fake_slack)
    labels = {"com.docker.compose.project": "nproj", "com.docker.compose.service": "web"}
    first = make_container(containers, "n-nproj-web-1", ["sleep", "300"], labels=labels)
    await asyncio.sleep(0.5)
    second = _redeploy(docker_api, containers, first, "nproj", 2)
    await asyncio.sleep(2.0)
    # The same while the worker is away: the replay after it comes back sees the same sequence.
    await notify.stack.stop_worker("local")
    crashed = make_container(containers, "n-whileaway", ["sh", "-c", "exit 7"])  # a real crash meanwhile
    third = _redeploy(docker_api, containers, second, "nproj", 3)
    await asyncio.sleep(1.0)
    await notify.stack.add_worker(notify.settings, notify.config, "local")
    await asyncio.wait_for(notify.watcher.caught_up.wait(), 15)
    text = await one_message(fake_slack, crashed)  # replayed from the cursor: reported once
    assert "exited with code 7" in text
    await asyncio.sleep(2.0)
    assert len(naming(fake_slack, crashed)) == 1
    for name in (first, second, third):
        assert not naming(fake_slack, name)


async def test_snooze_silences_then_ends_by_itself(
    notify: NotifyBot, containers: Containers, fake_slack: FakeSlack, docker_api: docker.APIClient, clicks: SlackSender
) -> None:
    prepare_slack(fake_slack)
    name = make_container(containers, "n-snooze", ["sh", "-c", "exit 9"])
    await one_message(fake_slack, name)
    message = naming(fake_slack, name)[0]
    ack = await clicks.click(message, rn.SNOOZE_1H_ACTION, channel_id=ALERTS)
    assert ack.status == 200
    answer = await fake_slack.wait_for_response(lambda p: p.url == ack.response_url, timeout=15)
    assert "snoozed for 1 h" in str(answer.body)

    async def announced(word: str) -> bool:
        return any(word in text_of(m) for m in fake_slack.thread(ALERTS, message.ts)[1:])

    await eventually(lambda: announced("snoozed crash notifications"), what="the snooze announced in the thread")
    before = len(fake_slack.thread(ALERTS, message.ts))
    docker_api.start(name)  # crashes again: silenced
    await asyncio.sleep(2.5)
    assert len(naming(fake_slack, name)) == 1
    assert len(fake_slack.thread(ALERTS, message.ts)) == before
    snoozes = notify.watcher.snoozes
    record = await snoozes.get(name)
    assert record is not None and record.suppressed == 1 and record.by == "U_ALICE"
    # Bring its end forward: the watcher notices, says so in the thread, and notifications are on again.
    await snoozes._write(dataclasses.replace(record, until=notify.watcher.clock() + 0.5))
    await eventually(lambda: announced("has ended"), what="the snooze's end announced", timeout=10)
    assert await snoozes.get(name) is None
    docker_api.start(name)

    async def counted() -> bool:
        return any(
            "Crash 2" in text_of(m) for m in fake_slack.thread(ALERTS, message.ts)[1:]
        )  # the silenced one is not counted

    await eventually(counted, what="the next crash reported again", timeout=10)


async def test_a_dead_worker_is_one_host_alert_and_its_return_reports_what_it_missed(
    notify: NotifyBot, containers: Containers, fake_slack: FakeSlack
) -> None:
    prepare_slack(fake_slack)
    redis = aioredis.Redis.from_url(notify.redis_url)
    watch = HostWatch(
        redis, PacedSlack(notify.settings.slack_bot_token, notify.settings.slack_api_url), notify.config, every=0.3
    )
    serve_side = asyncio.create_task(watch.run())  # what serve runs (bot/bootstrap/serve.py)
    try:
        # The worker dies: its task is cancelled, its heartbeats stop.
        proc = notify.stack.workers.pop("local")
        run = notify.stack.runs.pop("local")
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
        await proc.close()
        missed = [make_container(containers, f"n-missed{i}", ["sh", "-c", f"exit {20 + i}"]) for i in range(2)]

        async def alerted() -> list[Message]:
            return [m for m in top_level(fake_slack) if "is unreachable" in text_of(m)]

        alert = (await eventually(alerted, what="the host unreachable alert", timeout=15))[0]
        await asyncio.sleep(2.0)
        assert len(await alerted()) == 1 and watch.alerts == 1  # one alert, however long it lasts
        assert not any(n in text_of(m) for m in top_level(fake_slack) for n in missed)  # nothing yet: no watcher
        await notify.stack.add_worker(notify.settings, notify.config, "local")
        for name in missed:
            text = await one_message(fake_slack, name, timeout=20)
            assert "exited with code 2" in text

        async def back() -> bool:
            thread = fake_slack.thread(ALERTS, alert.ts)
            return "reachable again" in text_of(thread[0]) and any(
                all(n in text_of(m) for n in missed) for m in thread[1:]
            )

        await eventually(back, what="the alert edited and the missed crashes listed in its thread", timeout=20)
        for name in missed:
            assert len(naming(fake_slack, name)) == 1
    finally:
        serve_side.cancel()
        await asyncio.gather(serve_side, return_exceptions=True)
        await redis.aclose()


async def test_unhealthy_that_lasts_is_reported_with_its_checks_and_recovery_edits_it(
    notify: NotifyBot, containers: Containers, fake_slack: FakeSlack
) -> None:
    prepare_slack(fake_slack)
    health = {
        "test": ["CMD-SHELL", "test ! -e /tmp/bad || (echo db unreachable; exit 1)"],
        "interval": 500_000_000,
        "timeout": 1_000_000_000,
        "retries": 1,
    }
    sick = make_container(
        containers,
        "n-sick",
        ["sh", "-c", "sleep 1; touch /tmp/bad; sleep 10; rm /tmp/bad; sleep 300"],
        healthcheck=health,
    )
    text = await one_message(fake_slack, sick, timeout=30)  # a loaded machine runs health checks late
    assert "is unhealthy" in text and "db unreachable" in text
    message = naming(fake_slack, sick)[0]

    async def recovered() -> bool:
        thread = fake_slack.thread(ALERTS, message.ts)
        return "recovered" in text_of(thread[0]) and any("Recovered" in text_of(m) for m in thread[1:])

    await eventually(recovered, what="the unhealthy message edited to recovered, and a reply", timeout=20)
    # A crash that is followed by steady running is announced as recovered too.
    once = make_container(
        containers,
        "n-once",
        ["sh", "-c", "[ -e /tmp/once ] && exec sleep 300; touch /tmp/once; exit 5"],
        restart="always",
    )
    await one_message(fake_slack, once)
    crashed = naming(fake_slack, once)[0]

    async def steady() -> bool:
        return "recovered" in text_of(fake_slack.thread(ALERTS, crashed.ts)[0])

    await eventually(steady, what="the crash message edited to recovered", timeout=20)


async def test_dockbell_check_says_whether_the_bot_can_post_in_each_channel(
    notify: NotifyBot, containers: Containers, fake_slack: FakeSlack, capsys: pytest.CaptureFixture[str]
) -> None:
    prepare_slack(fake_slack)
    config = notify_config(TEST_CONFIG, containers.session)
    config = dataclasses.replace(
        config,
        notifications=dataclasses.replace(
            config.notifications,  # type: ignore[arg-type]
            routes=(
                *config.notifications.routes,
                dataclasses.replace(config.notifications.routes[0], channel="C_OTHER"),
            ),  # type: ignore[union-attr]
        ),
    )
    code = await run_check(notify.settings, config)
    out = capsys.readouterr().out
    assert code == 1
    assert "ok    notify C_ALERTS crash notifications can be posted in #alerts (C_ALERTS)" in out
    assert "FAIL  notify C_OTHER dockbell is not in #other (C_OTHER): invite it" in out
    assert not [c for c in fake_slack.calls if c.method == "chat.postMessage"]  # a check posts nothing
