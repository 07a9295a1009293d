"""What Redis keeps for Share clicks is bounded (issue 8, item 7): per answer, and in total, oldest out first."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import asdict

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from bot.core.shares import INDEX, SIZES, TOTAL, SharedAnswer, ShareStore, TooLargeToShare
from tests.rig import RedisServer

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def redis(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    # A database of its own: the session's dockbell keeps its answers in db 0.
    client = aioredis.Redis.from_url(redis_server.url.removesuffix("/0") + "/7")
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


def answer(output: str, user: str = "U_VIEWER") -> SharedAnswer:
    return SharedAnswer(user, "C_OPS", "ps", output, "ps.txt", as_file=False)


async def total(redis: aioredis.Redis) -> int:
    return int(await redis.get(TOTAL) or 0)


async def test_an_answer_over_the_limit_is_not_kept(redis: aioredis.Redis) -> None:
    store = ShareStore(redis, 60, "local", max_bytes=1000, store_bytes=10_000)
    with pytest.raises(TooLargeToShare) as raised:
        await store.put(answer("x" * 2000))
    assert raised.value.limit == 1000 and raised.value.size > 2000
    assert await redis.dbsize() == 0  # nothing stored, not even accounting


async def test_the_store_evicts_the_oldest_to_stay_in_its_budget(redis: aioredis.Redis) -> None:
    now = [1000.0]
    size = len(json.dumps(asdict(answer("y" * 700))))
    store = ShareStore(redis, 600, "local", max_bytes=1000, store_bytes=3 * size + 10, clock=lambda: now[0])
    ids = []
    for _ in range(5):
        now[0] += 1
        share_id = await store.put(answer("y" * 700))
        assert share_id is not None
        ids.append(share_id)
        assert await total(redis) <= 3 * size + 10
    # Three fit: the two oldest went first.
    assert [await store.take(i, "U_VIEWER") is not None for i in ids] == [False, False, True, True, True]
    assert await total(redis) == 0 and await redis.zcard(INDEX) == 0 and await redis.hlen(SIZES) == 0


async def test_the_accounting_forgets_answers_redis_expired(redis: aioredis.Redis) -> None:
    now = [1000.0]
    store = ShareStore(redis, 60, "local", max_bytes=1000, store_bytes=10_000, clock=lambda: now[0])
    first = await store.put(answer("z" * 500))
    assert first is not None
    await redis.delete(f"dockbell:share:{first}")  # as its TTL would
    now[0] += 61
    second = await store.put(answer("z" * 500))
    assert await redis.zrange(INDEX, 0, -1) == [f"dockbell:share:{second}".encode()]
    assert await total(redis) == int(await redis.hget(SIZES, f"dockbell:share:{second}") or 0) > 500


async def test_someone_elses_click_consumes_nothing(redis: aioredis.Redis) -> None:
    store = ShareStore(redis, 60, "local")
    share_id = await store.put(answer("mine"))
    assert share_id is not None
    kept = await total(redis)
    with pytest.raises(Exception, match=share_id):
        await store.take(share_id, "U_SOMEONE_ELSE")
    assert await total(redis) == kept
    taken = await store.take(share_id, "U_VIEWER")
    assert taken is not None and taken.output == "mine" and await total(redis) == 0
