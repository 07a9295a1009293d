"""Live streams in Redis: who may start one (the limits), which are live, which were left behind.

dockbell:stream:<id>              JSON StreamRecord (kept a day past the longest stream)
dockbell:streams:user:<user>      zset id -> lease expiry: live streams per person (all hosts)
dockbell:streams:channel:<chan>   zset id -> lease expiry: per channel (all hosts)
dockbell:streams:host:<host>      zset id -> lease expiry: per host
dockbell:streams:open:<host>      zset id -> lease expiry: streams not yet ended in their thread
dockbell:stream-stop:<id>         string: who asked a stream held by another process to stop

A running stream renews its lease every batch.  A stream whose worker died stops counting
against the limits once its lease lapses; the host's sweep then ends it in its thread
(whoever removes it from ``open`` says so, once).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import redis.asyncio as aioredis

PREFIX = "dockbell:stream"
LEASE = 15.0  # seconds a stream counts as live without a renewal
RECORD_TTL = 2 * 86400


@dataclass(frozen=True)
class StreamRecord:
    id: str
    host: str
    kind: str  # logs | attach | stats | events
    verb: str  # the policy verb a Stop by someone else is judged on
    shown: str  # the command as typed
    user_id: str
    channel: str
    header_ts: str
    started_at: float
    container_id: str = ""  # "" for a stream of several (stats) or none (events)
    container_name: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    image: str = ""
    ended_at: float = 0.0  # 0 while live

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str | bytes) -> StreamRecord:
        data = json.loads(raw)
        data["labels"] = tuple(tuple(pair) for pair in data.get("labels") or ())
        return cls(**data)


def record_key(stream_id: str) -> str:
    return f"{PREFIX}:{stream_id}"


def stop_key(stream_id: str) -> str:
    return f"{PREFIX}-stop:{stream_id}"


def _count_keys(record: StreamRecord) -> list[str]:
    return [
        f"{PREFIX}s:user:{record.user_id}",
        f"{PREFIX}s:channel:{record.channel}",
        f"{PREFIX}s:host:{record.host}",
    ]


def open_key(host: str) -> str:
    return f"{PREFIX}s:open:{host}"


# KEYS: user, channel, host zsets, then the open zset; ARGV: now, expiry, id, the three limits.
# Returns 0 when admitted, else the 1-based index of the first limit reached.
_ADMIT = """
for i = 1, 3 do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', ARGV[1])
  if redis.call('ZCARD', KEYS[i]) >= tonumber(ARGV[3 + i]) then
    return i
  end
end
for i = 1, 4 do
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[3])
end
return 0
"""

LIMIT_NAMES = {1: "per_user", 2: "per_channel", 3: "per_host"}


class StreamRegistry:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._admit = redis.register_script(_ADMIT)

    async def admit(self, record: StreamRecord, now: float, limits: tuple[int, int, int]) -> str:
        """Count ``record`` as live; "" when admitted, else the name of the limit it met."""
        keys = [*_count_keys(record), open_key(record.host)]
        hit = int(await self._admit(keys=keys, args=[now, now + LEASE, record.id, *limits]))
        return LIMIT_NAMES.get(hit, "")

    async def save(self, record: StreamRecord) -> None:
        await self.redis.set(record_key(record.id), record.to_json(), ex=RECORD_TTL)

    async def get(self, stream_id: str) -> StreamRecord | None:
        raw = await self.redis.get(record_key(stream_id))
        return StreamRecord.from_json(raw) if raw is not None else None

    async def renew(self, record: StreamRecord, now: float) -> str:
        """Renew the lease; who asked the stream to stop from another process ("" if nobody)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in [*_count_keys(record), open_key(record.host)]:
                pipe.zadd(key, {record.id: now + LEASE}, xx=True)
            pipe.get(stop_key(record.id))
            results = await pipe.execute()
        stopper = results[-1]
        return stopper.decode() if isinstance(stopper, bytes) else str(stopper or "")

    async def ask_stop(self, stream_id: str, user_id: str) -> None:
        await self.redis.set(stop_key(stream_id), user_id, ex=int(LEASE * 4))

    async def release(self, record: StreamRecord) -> bool:
        """The stream has ended in its thread; True if this call ended it (nobody else will say so)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in _count_keys(record):
                pipe.zrem(key, record.id)
            pipe.zrem(open_key(record.host), record.id)
            pipe.delete(stop_key(record.id))
            results = await pipe.execute()
        return bool(results[3])

    async def live(self, host: str, now: float) -> list[StreamRecord]:
        ids = await self.redis.zrangebyscore(open_key(host), now, "+inf")
        records = [await self.get(i.decode() if isinstance(i, bytes) else str(i)) for i in ids]
        return [r for r in records if r is not None]

    async def abandoned(self, host: str, now: float) -> list[str]:
        """Ids of streams on ``host`` whose lease lapsed without an end: their worker died."""
        ids = await self.redis.zrangebyscore(open_key(host), "-inf", now)
        return [i.decode() if isinstance(i, bytes) else str(i) for i in ids]

    async def claim_abandoned(self, host: str, stream_id: str) -> bool:
        """Take the abandoned stream for ending; only one caller gets True."""
        return bool(await self.redis.zrem(open_key(host), stream_id))
