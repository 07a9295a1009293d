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
    assert "dockbell_share" not in str(reply.blocks)  # already visible in the thread: nothing to share
    assert not fake_slack.response_posts and not fake_slack.ephemerals
    records = await _audit_since(redis_server.url, started - 1)
    mine = [r for r in records if r.command.startswith("ps -a") and name in r.command]
    assert mine and mine[-1].user_id == "U_ALICE" and mine[-1].channel_id == "C_GENERAL"
