"""A redis-server of the queue tests' own (the suite must not lean on tests/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from tests.queue.helpers import connect
from tests.rig import RedisServer


@pytest.fixture(scope="session")
def queue_redis_server() -> Iterator[RedisServer]:
    server = RedisServer.start()
    yield server
    server.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def redis(queue_redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = connect(queue_redis_server.url)
    yield client
    await client.aclose()


@pytest.fixture
def host() -> str:
    """A host name of the test's own: tests share one Redis but never each other's queues."""
    return f"h{uuid.uuid4().hex[:8]}"
