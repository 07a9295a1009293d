"""Answers waiting for a "Share in channel" click, kept in Redis for as long as Slack lets us respond.

What Redis holds for them is bounded two ways, so that a burst of commands cannot fill it
(8,000 answers of 20 KB were 158 MB for half an hour):

* an answer over ``max_bytes`` is not kept at all: :meth:`ShareStore.put` raises
  :class:`TooLargeToShare`, and the answer is shown without a Share button, saying why;
* all kept answers together stay under ``store_bytes``: storing one evicts the oldest until
  it fits.  An evicted answer's button then says it has expired, as after its TTL.

The accounting (an index by age, each answer's size, the total) lives beside the answers
and is changed only by the Lua scripts below, so concurrent workers keep it exact.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
KEY = "dockbell:share:{}"
# Share ids are "HOST/TOKEN", so these names never collide with an answer's key.
INDEX = "dockbell:share:index"  # sorted set: answer key -> when it was stored
SIZES = "dockbell:share:sizes"  # hash: answer key -> bytes
TOTAL = "dockbell:share:bytes"  # bytes of all the answers in INDEX

MAX_BYTES = 1024 * 1024
STORE_BYTES = 64 * 1024 * 1024

_DROP = """
local function drop(key)
  local size = tonumber(redis.call('HGET', KEYS[3], key) or '0')
  redis.call('HDEL', KEYS[3], key)
  redis.call('ZREM', KEYS[2], key)
  redis.call('DECRBY', KEYS[4], size)
  redis.call('DEL', key)
end
"""

# KEYS: answer, index, sizes, total.  ARGV: value, ttl, now, budget.  Returns how many were evicted.
_PUT = (
    _DROP
    + """
local size, ttl, now, budget = string.len(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
for _, key in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - ttl)) do
  drop(key)  -- expired by Redis already: only the accounting is left
end
local evicted = 0
while tonumber(redis.call('GET', KEYS[4]) or '0') + size > budget do
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)
  if #oldest == 0 then break end
  drop(oldest[1])
  evicted = evicted + 1
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl)
redis.call('ZADD', KEYS[2], now, KEYS[1])
redis.call('HSET', KEYS[3], KEYS[1], size)
redis.call('INCRBY', KEYS[4], size)
return evicted
"""
)

# KEYS: answer, index, sizes, total.  The answer, removed with its accounting (nil if gone).
_TAKE = (
    _DROP
    + """
local value = redis.call('GET', KEYS[1])
drop(KEYS[1])
return value
"""
)


@dataclass(frozen=True)
class SharedAnswer:
    user_id: str
    channel_id: str
    command_text: str
    output: str
    filename: str
    as_file: bool
    errors: tuple[str, ...] = ()


class NotYours(Exception):
    """A click on someone else's Share button: refused, and the answer stays for its owner."""


class TooLargeToShare(Exception):
    """An answer over the per-answer limit: shown, but not kept for sharing."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"{size} bytes, over the {limit} bytes an answer may keep for sharing")
        self.size = size
        self.limit = limit


class ShareStore:
    """Ids are "HOST/TOKEN": serve routes a Share click to the worker that holds the answer."""

    def __init__(
        self,
        redis: aioredis.Redis,
        ttl_seconds: int,
        host: str,
        *,
        max_bytes: int = MAX_BYTES,
        store_bytes: int = STORE_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.ttl = ttl_seconds
        self.host = host
        self.max_bytes = max_bytes
        self.store_bytes = store_bytes
        self.clock = clock
        self._put = redis.register_script(_PUT)
        self._take = redis.register_script(_TAKE)

    async def put(
        self, answer: SharedAnswer, *, max_bytes: int | None = None, store_bytes: int | None = None
    ) -> str | None:
        """An id for the answer, or None when Redis is down (the answer is then shown unshareable).

        Raises TooLargeToShare, storing nothing, for an answer over ``max_bytes``; the
        limits default to the store's own (the runner passes the config's).
        """
        max_bytes = self.max_bytes if max_bytes is None else max_bytes
        store_bytes = self.store_bytes if store_bytes is None else store_bytes
        value = json.dumps(asdict(answer))
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            raise TooLargeToShare(size, max_bytes)
        share_id = f"{self.host}/{secrets.token_urlsafe(12)}"
        try:
            evicted = await self._put(
                keys=[KEY.format(share_id), INDEX, SIZES, TOTAL],
                args=[value, self.ttl, self.clock(), store_bytes],
            )
        except (RedisError, OSError) as err:
            log.warning("share store unavailable: %s", err)
            return None
        if evicted:
            log.info("share store full: evicted the %d oldest answer(s)", evicted)
        return share_id

    async def take(self, share_id: str, user_id: str) -> SharedAnswer | None:
        """The answer, removed so that a double click does not share it twice.

        Raises NotYours, leaving the answer in place, when ``user_id`` did not ask for it:
        the owner is checked before anything is consumed.
        """
        key = KEY.format(share_id)
        peek = _decode(await self.redis.get(key))
        if peek is None:
            return None
        if peek.user_id != user_id:
            raise NotYours(share_id)
        # None: a concurrent double click got it first
        return _decode(await self._take(keys=[key, INDEX, SIZES, TOTAL]))


def _decode(raw: Any) -> SharedAnswer | None:
    if raw is None:
        return None
    data = json.loads(raw)
    data["errors"] = tuple(data.get("errors", ()))
    return SharedAnswer(**data)
