"""How dockbell connects to Redis (one place for the timeouts)."""

from __future__ import annotations

import redis.asyncio as aioredis


def redis_client(url: str) -> aioredis.Redis:
    # Short timeouts: a Redis outage must turn into a clear message, not a stuck command.
    # socket_timeout stays above the worker's 1 s blocking read.
    return aioredis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=2.0, retry_on_timeout=False)
