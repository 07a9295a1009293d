"""End to end: follow-ups to a crash notification, by mentions in its thread that leave the container out.

The crash-notification stack of tests/test_e2e_notifications.py (its config, channels and Redis database).
"""

from __future__ import annotations

import docker
import pytest
import redis.asyncio as aioredis

from bot.fakeslack import FakeSlack, Message, SentEvent, SlackSender
from bot.jobs.threads import ThreadMap, ThreadSubject
from tests.conftest import SIGNING_SECRET
from tests.helpers import eventually, output_text
from tests.notify_rig import ALERTS, NotifyBot, make_container, naming, prepare_slack, text_of
from tests.rig import Containers

# The notification module's stack, as a fixture of this module too.
from tests.test_e2e_notifications import notify as notify

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.usefixtures("remove_module_containers")]


async def _reply(fake: FakeSlack, sent: SentEvent) -> Message:
    root = str(sent.event.get("thread_ts") or sent.ts)

    async def found() -> Message | None:
        return next((m for m in fake.thread(sent.channel, root) if m.bot_id and m.ts > sent.ts), None)

    return await eventually(found, what=f"an answer in thread {root}", timeout=15)


async def test_mentions_in_a_crash_notification_thread_act_on_the_crashed_container(
    notify: NotifyBot, containers: Containers, fake_slack: FakeSlack, docker_api: docker.APIClient
) -> None:
    prepare_slack(fake_slack)
    name = make_container(containers, "mention-crash", ["sh", "-c", "echo booting; echo 'cannot bind :80'; exit 3"])
    cid = docker_api.inspect_container(name)["Id"]

    async def notified() -> Message | None:
        found = naming(fake_slack, name)
        return found[0] if found else None

    notification = await eventually(notified, what=f"a notification for {name}", timeout=20)
    assert "exited with code 3" in text_of(notification)
    async with aioredis.Redis.from_url(notify.redis_url) as redis:
        subject = await ThreadMap(redis).lookup(ALERTS, notification.ts)
    assert subject == ThreadSubject("local", cid, name, "notification")

    async with SlackSender(fake_slack, notify.stack.url + "/slack/events", SIGNING_SECRET) as slack:
        logs = await slack.mention("logs --tail 1", channel_id=ALERTS, thread_ts=notification.ts)
        answer = await _reply(fake_slack, logs)
        assert answer.thread_ts == notification.ts and output_text(answer.to_dict()) == "cannot bind :80"
        code = await slack.mention("inspect -f '{{.State.ExitCode}}'", channel_id=ALERTS, thread_ts=notification.ts)
        assert output_text((await _reply(fake_slack, code)).to_dict()) == "3"
