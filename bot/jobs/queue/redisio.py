"""Turning "Redis is not there" into QueueUnavailable, with where we looked."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.jobs.queue.errors import QueueUnavailable

# OSError: a refused or reset socket can surface raw from the asyncio transport.
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


def where(redis: aioredis.Redis) -> str:
    kwargs = redis.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}"
    return f"redis://{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


def unavailable(redis: aioredis.Redis, err: BaseException) -> QueueUnavailable:
    return QueueUnavailable(f"cannot reach Redis at {where(redis)} ({err}); the job queue is unavailable")


@contextmanager
def reaching(redis: aioredis.Redis) -> Iterator[None]:
    """Wrap Redis calls: connection failures become QueueUnavailable, other errors pass through."""
    try:
        yield
    except REDIS_DOWN as err:
        raise unavailable(redis, err) from err


def is_nogroup(err: ResponseError) -> bool:
    """The stream or its consumer group is missing (first start, or Redis lost its data)."""
    return str(err).startswith("NOGROUP")


def honour_lost_cancel() -> None:
    """Raise CancelledError if this task was cancelled but the cancellation got lost on the way.

    Python 3.11's asyncio.wait_for, which redis-py uses to send every command, returns the
    result and drops a cancellation that arrives as the send completes (gh-86296, fixed in
    3.12).  The request is still counted on the task, so loops check it once per round.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
