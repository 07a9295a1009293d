"""Answers waiting for a "Share in channel" click, kept in Redis for as long as Slack lets us respond."""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import asdict, dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
KEY = "dockbell:share:{}"


@dataclass(frozen=True)
class SharedAnswer:
    user_id: str
    channel_id: str
    command_text: str
    output: str
    filename: str
    as_file: bool
    errors: tuple[str, ...] = ()


class ShareStore:
    def __init__(self, redis: aioredis.Redis, ttl_seconds: int) -> None:
        self.redis = redis
        self.ttl = ttl_seconds

    async def put(self, answer: SharedAnswer) -> str | None:
        """An id for the answer, or None when Redis is down (the answer is then shown unshareable)."""
        share_id = secrets.token_urlsafe(12)
        try:
            await self.redis.set(KEY.format(share_id), json.dumps(asdict(answer)), ex=self.ttl)
        except (RedisError, OSError) as err:
            log.warning("share store unavailable: %s", err)
            return None
        return share_id

    async def take(self, share_id: str) -> SharedAnswer | None:
        """The answer, removed so that a double click does not share it twice."""
        raw: Any = await self.redis.getdel(KEY.format(share_id))
        if raw is None:
            return None
        data = json.loads(raw)
        data["errors"] = tuple(data.get("errors", ()))
        return SharedAnswer(**data)
