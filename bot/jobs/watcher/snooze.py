"""Snoozes: per container and host, for 1 h, 24 h, or until healthy; they end by themselves.

A record lives in Redis with a TTL a little past its end (a safety net: the watcher
announces the end in the incident's thread and deletes the record itself).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio as aioredis

from bot.jobs.watcher import keys

UNTIL_HEALTHY = "healthy"
DURATIONS = {"1h": 3600, "24h": 86400}
HEALTHY_TTL = 7 * 86400  # "until healthy" gives up after a week: nothing is silenced forever
GRACE = 300  # the record outlives its end by this much, so the watcher sees it end


@dataclass(frozen=True)
class Snooze:
    name: str
    mode: str  # 1h | 24h | healthy
    until: float  # epoch seconds (for healthy: the give-up time)
    by: str
    at: float
    suppressed: int = 0

    @property
    def label(self) -> str:
        return "until it is healthy again" if self.mode == UNTIL_HEALTHY else f"for {self.mode[:-1]} h"


class Snoozes:
    def __init__(self, redis: aioredis.Redis, host: str, clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.host = host
        self.clock = clock

    async def set(self, name: str, mode: str, by: str) -> Snooze:
        now = self.clock()
        seconds = HEALTHY_TTL if mode == UNTIL_HEALTHY else DURATIONS[mode]
        snooze = Snooze(name, mode, now + seconds, by, now)
        await self._write(snooze)
        return snooze

    async def _write(self, snooze: Snooze) -> None:
        ttl = max(1, int(snooze.until - self.clock()) + GRACE)
        data = {
            "name": snooze.name,
            "mode": snooze.mode,
            "until": snooze.until,
            "by": snooze.by,
            "at": snooze.at,
            "suppressed": snooze.suppressed,
        }
        await self.redis.set(keys.snooze(self.host, snooze.name), json.dumps(data), ex=ttl)

    async def get(self, name: str) -> Snooze | None:
        raw = await self.redis.get(keys.snooze(self.host, name))
        return _parse(raw) if raw else None

    async def count_suppressed(self, snooze: Snooze) -> None:
        await self._write(Snooze(snooze.name, snooze.mode, snooze.until, snooze.by, snooze.at, snooze.suppressed + 1))

    async def clear(self, name: str) -> Snooze | None:
        found = await self.get(name)
        await self.redis.delete(keys.snooze(self.host, name))
        return found

    async def all(self) -> list[Snooze]:
        out = []
        async for key in self.redis.scan_iter(match=keys.snooze_pattern(self.host), count=200):
            raw = await self.redis.get(key)
            if raw and (snooze := _parse(raw)) is not None:
                out.append(snooze)
        return out


def _parse(raw: str | bytes) -> Snooze | None:
    try:
        d = json.loads(raw)
        return Snooze(
            str(d["name"]), str(d["mode"]), float(d["until"]), str(d["by"]), float(d["at"]), int(d.get("suppressed", 0))
        )
    except (ValueError, KeyError, TypeError):
        return None
