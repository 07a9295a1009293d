"""End to end: a protected restart asked for with `@dockbell`, approved by a click, then followed up
in the approval request's thread by mentions that leave the container out.

The approvals stack of tests/test_e2e_approvals.py (its policy, users and Redis database).
"""

from __future__ import annotations

import docker
import pytest
import redis.asyncio as aioredis

from bot.fakeslack import FakeSlack, Message, SentEvent, SlackSender
from bot.jobs.threads import ThreadMap, ThreadSubject
from bot.slack.render_approvals import APPROVE_ACTION
from tests.helpers import all_text, eventually, output_text
from tests.rig import Containers
from tests.test_e2e_approvals import CHANNEL, Rig, _message_text, _press, _protected, _started, _until_message

# The approvals module's stack and sender, as fixtures of this module too.
from tests.test_e2e_approvals import rig as rig
from tests.test_e2e_approvals import slack as slack

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.e2e]


async def _reply(fake: FakeSlack, sent: SentEvent, words: str) -> Message:
    root = str(sent.event.get("thread_ts") or sent.ts)

    async def found() -> Message | None:
        return next(
            (m for m in fake.thread(sent.channel, root) if m.bot_id and m.ts > sent.ts and words in _message_text(m)),
            None,
        )

    return await eventually(found, what=f"{words!r} in thread {root}", timeout=15)


async def test_a_mentioned_restart_waits_for_approval_and_its_thread_knows_the_container(
    rig: Rig,
    slack: SlackSender,
    containers: Containers,
    docker_api: docker.APIClient,
) -> None:
    fake = rig.fake
    name = _protected(containers, "mention-appr")
    cid, before = docker_api.inspect_container(name)["Id"], _started(docker_api, name)
    since = len(fake.calls)
    asked = await slack.mention(f"restart -t 1 {name}", user_id="U_REQ", channel_id=CHANNEL)
    request = await fake.wait_for_call(
        "chat.postMessage", lambda c: "Approval needed" in all_text(dict(c.args)), timeout=15, since=since
    )
    request_ts = str(request.response["ts"])
    # The requester hears it waits, in the mention's thread (a mention has no private answers).
    notice = await _reply(fake, asked, "needs approval")
    assert notice.thread_ts == asked.ts
    async with aioredis.Redis.from_url(rig.redis_url) as redis:
        assert await ThreadMap(redis).lookup(CHANNEL, request_ts) == ThreadSubject("local", cid, name, "approval")

    await _press(slack, fake, request_ts, APPROVE_ACTION, "U_APP1")
    result = await _until_message(fake, request_ts, "Result: job", timeout=30)
    assert "succeeded" in result and _started(docker_api, name) != before

    follow = await slack.mention(
        "inspect -f '{{.State.Running}}'", user_id="U_REQ", channel_id=CHANNEL, thread_ts=request_ts
    )
    answer = await _reply(fake, follow, "inspect")
    assert answer.thread_ts == request_ts and output_text(answer.to_dict()) == "true"
