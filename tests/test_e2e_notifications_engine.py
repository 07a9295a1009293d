"""No crash lost or doubled across a dockerd restart, a worker restart and a gap wider than the engine's memory.

The engine restarted here is a second dockerd this test starts (tests/rig.py SecondEngine),
never the machine's own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import docker
import pytest
import pytest_asyncio

from bot.fakeslack import FakeSlack
from tests.conftest import TEST_CONFIG, bot_settings, wait_for_worker
from tests.helpers import eventually
from tests.notify_rig import (
    ALERTS,
    NotifyBot,
    db_url,
    flush,
    make_container,
    notify_config,
    prepare_slack,
    rate_limited,
    remove_quietly,
    replies,
    text_of,
    top_level,
)
from tests.rig import Containers, RedisServer, SecondEngine
from tests.stack import start_stack

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.usefixtures("remove_module_containers")]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def engine() -> AsyncIterator[SecondEngine]:
    second = await asyncio.to_thread(SecondEngine.start)
    yield second
    await asyncio.to_thread(second.stop)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def second_bot(
    fake_slack: FakeSlack, redis_server: RedisServer, engine: SecondEngine, containers: Containers
) -> AsyncIterator[NotifyBot]:
    url = db_url(redis_server.url, 8)
    await flush(url)
    base = TEST_CONFIG.replace(
        '  elsewhere: {url: "unix:///nonexistent/dockbell-test.sock"}', f'  second: {{url: "{engine.base_url}"}}'
    )
    config = notify_config(base, containers.session)
    settings = bot_settings(fake_slack, url)
    stack = await start_stack(settings, config, workers=("second",))
    await wait_for_worker(url, "second")
    bot = NotifyBot(stack, settings, config, url, host="second")
    await asyncio.wait_for(bot.watcher.caught_up.wait(), 15)
    yield bot
    await stack.stop()


def mentions(fake: FakeSlack, name: str) -> int:
    """How many times ``name`` is reported at the top level (alone, or in a summary's table)."""
    return sum(1 for m in top_level(fake) if name in text_of(m))


async def reported_once(fake: FakeSlack, names: list[str], timeout: float = 30.0) -> None:
    async def all_there() -> bool:
        return all(mentions(fake, n) >= 1 for n in names)

    await eventually(all_there, what=f"notifications naming {names}", timeout=timeout)
    await asyncio.sleep(2.0)
    assert {n: mentions(fake, n) for n in names} == dict.fromkeys(names, 1)


async def test_no_crash_lost_or_doubled_across_engine_and_worker_restarts(
    second_bot: NotifyBot, engine: SecondEngine, containers: Containers, fake_slack: FakeSlack
) -> None:
    prepare_slack(fake_slack)
    api = engine.client()
    try:
        crash = ["sh", "-c", "echo dying; exit 11"]
        before = make_container(containers, "e-before", crash, api=api)
        steady = make_container(containers, "e-steady", ["sleep", "300"], restart="unless-stopped", api=api)
        await reported_once(fake_slack, [before])

        # dockerd restarts (its shutdown stops `steady`, which it starts again); crashes right after.
        await asyncio.to_thread(engine.restart)
        after = [make_container(containers, f"e-after{i}", crash, api=api) for i in range(3)]
        await reported_once(fake_slack, [before, *after])

        # The worker restarts while containers crash.
        await second_bot.stack.stop_worker("second")
        away = [make_container(containers, f"e-away{i}", crash, api=api) for i in range(2)]
        await asyncio.sleep(0.5)
        await second_bot.stack.add_worker(second_bot.settings, second_bot.config, "second")
        await reported_once(fake_slack, [before, *after, *away])

        # A gap wider than the engine's memory of 256 events: found from the containers' state.
        await second_bot.stack.stop_worker("second")
        lost = make_container(containers, "e-lost", crash, api=api)
        await asyncio.sleep(0.5)
        await asyncio.to_thread(_noise, api, containers.session, 150)  # 300 events push the ring over
        await second_bot.stack.add_worker(second_bot.settings, second_bot.config, "second")
        await reported_once(fake_slack, [before, *after, *away, lost])
        late = next(m for m in top_level(fake_slack) if lost in text_of(m))
        assert "Found late" in text_of(late) or any("found late" in text_of(r) for r in replies(fake_slack))
        assert mentions(fake_slack, steady) == 0  # stopped by the engine's own shutdown: not a crash
        assert rate_limited(fake_slack) == 0
        assert ALERTS in fake_slack.messages
    finally:
        api.close()


def _noise(api: docker.APIClient, session: str, count: int) -> None:
    for i in range(count):
        made = api.create_container("dockbell-test/busybox:latest", ["true"], name=f"dockbell-t{session}-noise{i}")
        remove_quietly(api, str(made["Id"]))
