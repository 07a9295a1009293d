"""The watcher's position in the events stream, and which crashes it has reported, kept in Redis.

The position is the last event whose effects are stored (its incident written, its key in
``seen``): after a reconnect, an engine restart or a worker restart the watcher replays
from there with ``since`` (inclusive to the nanosecond), and ``seen`` drops what it had
already reported, so every crash is reported once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis.asyncio as aioredis

from bot.jobs.watcher import keys

SEEN_KEEP = 2 * 86400  # seconds a reported crash's key is kept: well past any replay


@dataclass(frozen=True)
class Position:
    ns: int
    key: str  # the event's key (bot.jobs.watcher.classify.Event.key)


class Cursor:
    def __init__(self, redis: aioredis.Redis, host: str) -> None:
        self.redis = redis
        self.host = host
        self._saved: Position | None = None

    async def load(self) -> Position | None:
        raw = await self.redis.get(keys.cursor(self.host))
        if not raw:
            return None
        try:
            data = json.loads(raw)
            self._saved = Position(int(data["ns"]), str(data["key"]))
        except (ValueError, KeyError, TypeError):
            return None
        return self._saved

    async def save(self, position: Position) -> None:
        if self._saved is not None and position.ns < self._saved.ns:
            return  # never backwards: a replayed event is older than where we are
        if position == self._saved:
            return
        await self.redis.set(keys.cursor(self.host), json.dumps({"ns": position.ns, "key": position.key}))
        self._saved = position

    async def seen(self, key: str) -> bool:
        return await self.redis.zscore(keys.seen(self.host), key) is not None

    async def mark(self, key: str, ns: int) -> None:
        name = keys.seen(self.host)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(name, {key: ns / 1e9})
            pipe.zremrangebyscore(name, "-inf", ns / 1e9 - SEEN_KEEP)
            await pipe.execute()
