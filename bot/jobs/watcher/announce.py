"""A line in a container's incident thread, from outside the watcher (the snooze command)."""

from __future__ import annotations

import contextlib

import redis.asyncio as aioredis

from bot.errors import SlackRefused
from bot.jobs.watcher import keys
from bot.jobs.watcher.incidents import Incident
from bot.slack.out import SlackOut
from bot.slack.render_notifications import thread_reply, when


async def in_incident_thread(redis: aioredis.Redis, slack: SlackOut, host: str, name: str, line: str) -> bool:
    """Post ``line`` in the thread of ``name``'s incident on ``host``; False when it has none (or Slack refused)."""
    raw = await redis.hget(keys.incidents(host), name)
    incident = Incident.from_json(raw) if raw else None
    if incident is None or not incident.ts:
        return False
    with contextlib.suppress(SlackRefused):
        await slack.post_message(incident.channel, thread_reply([line]), thread_ts=incident.ts)
        return True
    return False


def moment(epoch: float) -> str:
    """A time as Slack shows it to each reader, in their own time zone."""
    return when(epoch)
