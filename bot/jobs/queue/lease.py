"""Leases: one holder at a time for a duty named by a job (following its status message).

A lease is a key holding its holder's token, with a TTL: taken with SET NX PX, so of two
processes asking at once exactly one gets it.  The holder refreshes all its leases in one
script call a few times per TTL; a holder that dies (kill -9) stops refreshing, its leases
lapse, and another process may take the duty over.  A holder that finds a lease held by
someone else (it lapsed while this holder could not reach Redis, and was taken) lets the
duty go.
"""

from __future__ import annotations

import os
import secrets
import socket

import redis.asyncio as aioredis

from bot.jobs.queue.redisio import reaching

# Refresh what this holder holds; take back what lapsed and nobody took (a Redis restart that
# lost the keys, an outage longer than the TTL).  KEYS: the leases.  ARGV: token, TTL ms.
_REFRESH = r"""
local out = {}
for i, key in ipairs(KEYS) do
  local holder = redis.call('GET', key)
  if holder == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
    out[i] = 1
  elseif not holder then
    redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
"""

# KEYS: the lease.  ARGV: token.
_RELEASE = r"""
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Leases:
    """The leases of one holder (a process's JobDesk) under ``prefix``; every call may raise QueueUnavailable."""

    def __init__(self, redis: aioredis.Redis, prefix: str, *, ttl: float, holder: str | None = None) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_ms = int(ttl * 1000)
        self.holder = holder or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"
        self._refresh = redis.register_script(_REFRESH)
        self._release = redis.register_script(_RELEASE)

    async def acquire(self, name: str) -> bool:
        """Take the lease if nobody holds it (or this holder does already)."""
        with reaching(self.redis):
            if await self.redis.set(self.prefix + name, self.holder, nx=True, px=self.ttl_ms):
                return True
            held = await self.redis.get(self.prefix + name)
        return held is not None and (held.decode() if isinstance(held, bytes) else str(held)) == self.holder

    async def refresh(self, names: list[str]) -> set[str]:
        """Extend the leases of ``names``; the names this holder still holds (lost ones are left out)."""
        if not names:
            return set()
        with reaching(self.redis):
            reply = await self._refresh(keys=[self.prefix + n for n in names], args=[self.holder, self.ttl_ms])
        return {name for name, kept in zip(names, reply, strict=True) if int(kept)}

    async def release(self, name: str) -> None:
        """Give the lease up, if this holder has it: another process may take the duty at once."""
        with reaching(self.redis):
            await self._release(keys=[self.prefix + name], args=[self.holder])

    async def holder_of(self, name: str) -> str | None:
        with reaching(self.redis):
            held = await self.redis.get(self.prefix + name)
        if held is None:
            return None
        return held.decode() if isinstance(held, bytes) else str(held)
