"""The fake Slack's change feed: every record, shown ack and reset moves it on; waiters wake."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from bot.fakeslack import FakeSlack
from bot.fakeslack.feed import ChangeFeed

pytestmark = [pytest.mark.asyncio(loop_scope="session")]


async def test_a_waiter_wakes_at_the_next_change_and_a_late_one_returns_at_once() -> None:
    feed = ChangeFeed()
    waiter = asyncio.create_task(feed.wait(0))
    await asyncio.sleep(0)
    assert not waiter.done()
    assert feed.touch() == 1
    assert await waiter == 1
    assert await feed.wait(0) == 1  # already past: no wait
    assert await feed.wait(1, timeout=0.01) == 1  # nothing new: the timeout ends it, with the version


async def test_web_api_calls_acks_shown_and_resets_move_the_feed() -> None:
    async with FakeSlack(bot_token="xoxb-feed") as fake:
        start = fake.feed.version
        async with aiohttp.ClientSession() as session:
            headers = {"Authorization": "Bearer xoxb-feed"}
            body = {"channel": "C_GENERAL", "text": "hi"}
            async with session.post(fake.api_url + "chat.postMessage", json=body, headers=headers) as response:
                assert (await response.json())["ok"] is True
        after_call = fake.feed.version
        assert after_call > start
        url = fake.new_response_url(channel="C_GENERAL", user="U_ALICE")
        assert fake.show_ack(url, {"text": "ack"}) == []
        assert fake.feed.version > after_call
        before_reset = fake.feed.version
        fake.reset()
        assert fake.feed.version > before_reset
