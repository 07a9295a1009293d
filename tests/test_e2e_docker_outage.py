"""Issue 8 item 6: truthful errors while Docker is down, and a job after it came back retries its connection once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import docker
import pytest
import pytest_asyncio

from bot.fakeslack import Call, FakeSlack, SlackSender
from tests.conftest import SIGNING_SECRET, bot_settings, make_test_config, wait_for_worker
from tests.helpers import all_text, run_command
from tests.rig import Containers, RedisServer
from tests.stack import Stack, start_stack
from tests.test_e2e_security_health import DockerSocketProxy

pytestmark = pytest.mark.asyncio(loop_scope="session")


class OutageProxy(DockerSocketProxy):
    """The engine's socket, switched off as an engine that died is (every open connection cut), and
    able to cut the next request that contains some bytes: the dead pooled connection a job meets
    right after an engine restart."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.links: set[asyncio.StreamWriter] = set()
        self.cut: list[bytes] = []

    async def _forward(
        self, reader: asyncio.StreamReader, up: asyncio.StreamWriter, down: asyncio.StreamWriter
    ) -> None:
        try:
            while data := await reader.read(65536):
                hit = next((c for c in self.cut if c in data), None)
                if hit is not None:
                    self.cut.remove(hit)
                    break  # the request never reaches the engine; the client sees the connection drop
                up.write(data)
                await up.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            up.close()
            down.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.links.add(writer)
        up_reader, up_writer = await asyncio.open_unix_connection(self.target)
        self.links.add(up_writer)
        try:
            await asyncio.gather(self._forward(reader, up_writer, writer), self._pipe(up_reader, writer))
        finally:
            self.links.discard(writer)
            self.links.discard(up_writer)

    async def down(self) -> None:
        await super().down()
        for link in list(self.links):
            link.close()
        self.links.clear()


@pytest_asyncio.fixture(loop_scope="session")
async def outage_bot(
    fake_slack: FakeSlack,
) -> AsyncIterator[tuple[Stack, SlackSender, OutageProxy]]:
    target = (os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock").removeprefix("unix://")
    proxy = OutageProxy(target)
    await proxy.up()
    own_redis = RedisServer.start()  # its own: a second worker for host local must not share the stream
    settings = bot_settings(fake_slack, own_redis.url, DOCKER_HOST="unix://" + proxy.path)
    app = await start_stack(settings, make_test_config())
    await wait_for_worker(own_redis.url, "local")
    fake_slack.reset()
    sender = SlackSender(fake_slack, app.url + "/slack/events", SIGNING_SECRET)
    yield app, sender, proxy
    await sender.close()
    await app.stop()
    await proxy.down()
    with contextlib.suppress(OSError):
        Path(proxy.path).parent.rmdir()
    own_redis.stop()


def _text(call: Call) -> str:
    return all_text({"text": call.args.get("text", ""), "blocks": call.args.get("blocks") or []})


async def _job_outcome(sender: SlackSender, fake: FakeSlack, text: str) -> str:
    """Send a job command as Alice; the text of its status message once finished."""
    since = len(fake.calls)
    ack = await sender.command(text, user_id="U_ALICE")
    assert ack.status == 200
    posted = await fake.wait_for_call("chat.postMessage", lambda c: text in json.dumps(c.args), since=since)
    ts = str(posted.response["ts"]) if posted.response else ""
    final = await fake.wait_for_call(
        "chat.update",
        lambda c: c.args.get("ts") == ts and any(w in _text(c) for w in ("succeeded", "failed", "interrupted")),
        timeout=30,
        since=since,
    )
    return _text(final)


async def test_docker_down_says_so_and_a_job_after_it_retries_once(
    outage_bot: tuple[Stack, SlackSender, OutageProxy],
    fake_slack: FakeSlack,
    containers: Containers,
    docker_api: docker.APIClient,
) -> None:
    _app, sender, proxy = outage_bot
    name = containers.run("outage-web", ["sleep", "3600"])
    cid = str(docker_api.inspect_container(name)["Id"])
    assert "restarted" in await _job_outcome(sender, fake_slack, f"restart -t 1 {name}")  # pooled connections now

    await proxy.down()
    # The gate must not judge the typed name when it cannot look it up: that would say "No such container".
    for user, text in (("U_ALICE", f"restart -t 1 {name}"), ("U_ALICE", "restart -t 1 web"), ("U_BOB", f"logs {name}")):
        reply = all_text(await run_command(sender, fake_slack, text, user_id=user))
        assert "Cannot connect to the Docker daemon" in reply and "Is the docker daemon running?" in reply, reply
        assert "No such container" not in reply

    await proxy.up()
    # The job's first request after the outage meets a dead connection: it connects again, once.
    proxy.cut.append(f"/containers/{cid}/json".encode())
    before = docker_api.inspect_container(cid)["State"]["StartedAt"]
    outcome = await _job_outcome(sender, fake_slack, f"restart -t 1 {name}")
    assert "succeeded" in outcome and f"{name}: restarted" in outcome, outcome
    assert not proxy.cut  # the cut did happen
    assert docker_api.inspect_container(cid)["State"]["StartedAt"] != before
