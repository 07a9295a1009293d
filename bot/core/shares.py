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


class NotYours(Exception):
    """A click on someone else's Share button: refused, and the answer stays for its owner."""


class ShareStore:
    """Ids are "HOST/TOKEN": serve routes a Share click to the worker that holds the answer."""

    def __init__(self, redis: aioredis.Redis, ttl_seconds: int, host: str) -> None:
        self.redis = redis
        self.ttl = ttl_seconds
        self.host = host

    async def put(self, answer: SharedAnswer) -> str | None:
        """An id for the answer, or None when Redis is down (the answer is then shown unshareable)."""
        share_id = f"{self.host}/{secrets.token_urlsafe(12)}"
        try:
            await self.redis.set(KEY.format(share_id), json.dumps(asdict(answer)), ex=self.ttl)
        except (RedisError, OSError) as err:
            log.warning("share store unavailable: %s", err)
            return None
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
        return _decode(await self.redis.getdel(key))  # None: a concurrent double click got it first


def _decode(raw: Any) -> SharedAnswer | None:
    if raw is None:
        return None
    data = json.loads(raw)
    data["errors"] = tuple(data.get("errors", ()))
    return SharedAnswer(**data)
