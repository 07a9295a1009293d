"""Which container and host a dockbell thread is about, so a mention in it can leave them out.

Every message dockbell starts a thread under (a crash notification, an approval request, a
job's status message, a live stream's header) records its subject here.  A mention in that
thread that names no container (``@dockbell logs --tail 200``) acts on the subject.

dockbell:thread:<channel>:<ts>   JSON {"host", "container", "name", "kind"}, with the thread's
                                 lifetime as TTL (refreshed by each new record for it)
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

PREFIX = "dockbell:thread:"
THREAD_TTL = 7 * 86400  # seconds: a week of follow-ups, long past any incident's interest


@dataclass(frozen=True)
class ThreadSubject:
    host: str
    container: str  # the container's ID: a rename or a new container of that name is not it
    name: str  # its name when the thread started, for what dockbell says
    kind: str  # notification | approval | job | stream


def thread_key(channel: str, ts: str) -> str:
    return f"{PREFIX}{channel}:{ts}"


class ThreadMap:
    def __init__(self, redis: aioredis.Redis, ttl: int = THREAD_TTL) -> None:
        self.redis = redis
        self.ttl = ttl

    async def remember(self, channel: str, ts: str, subject: ThreadSubject) -> None:
        """Record the thread under ``ts``; never fails the work that started it (Redis down is logged)."""
        try:
            await self.redis.set(thread_key(channel, ts), json.dumps(asdict(subject)), ex=self.ttl)
        except RedisError as err:
            log.warning("could not record the subject of thread %s/%s: %s", channel, ts, err)

    async def lookup(self, channel: str, ts: str) -> ThreadSubject | None:
        """The subject of the thread ``ts`` in ``channel``, or None for a thread dockbell does not own."""
        raw = await self.redis.get(thread_key(channel, ts))
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            return ThreadSubject(
                host=str(data["host"]), container=str(data["container"]), name=str(data["name"]), kind=str(data["kind"])
            )
        except (ValueError, KeyError, TypeError):
            return None
