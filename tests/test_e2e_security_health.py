"""Forged and stale requests never reach a handler; health and outages are reported, and recovered from."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from bot.fakeslack import FakeSlack, SlackSender
from tests.conftest import SIGNING_SECRET, bot_settings, make_test_config, wait_for_worker
from tests.helpers import all_text, output_text, run_command
from tests.rig import Containers, RedisServer
from tests.stack import Stack, start_stack

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"bad_signature": True},
        {"sign": False},
        {"timestamp": int(time.time()) - 301},
    ],
    ids=["forged", "unsigned", "stale"],
)
async def test_bad_requests_are_rejected(
    slack: SlackSender, fake_slack: FakeSlack, bot: Stack, kwargs: dict[str, object]
) -> None:
    received = _received_commands(bot)
    ack = await slack.command("ps", **kwargs)  # type: ignore[arg-type]
    assert ack.status == 401
    # Serve's listener counts each command right after acking it: one more, for a good command
    # sent after the bad one and answered, means the bad one reached no listener, so nothing was
    # queued that could still answer its response_url.
    await run_command(slack, fake_slack, "whoami")
    assert _received_commands(bot) == received + 1
    assert not [p for p in fake_slack.response_posts if p.url == ack.response_url]


def _received_commands(stack: Stack) -> float:
    """Slash commands serve's listener took (counted right after the ack, before anything else)."""
    count = stack.front.metrics.registry.get_sample_value("dockbell_received_total", {"kind": "command"})
    return count or 0.0


async def test_healthz_and_metrics(slack: SlackSender, fake_slack: FakeSlack, bot: Stack) -> None:
    await run_command(slack, fake_slack, "version")
    async with aiohttp.ClientSession() as http:
        async with http.get(bot.url + "/healthz") as resp:
            body = await resp.json()
            # Serve reports Redis, Slack and each host's worker from its heartbeats; never Docker.
            assert body["redis"]["ok"] and body["slack"]["ok"] and body["worker:local"]["ok"], body
            assert "docker" not in body
            assert not body["worker:elsewhere"]["ok"] and resp.status == 503  # no worker runs for it
        async with http.get(bot.url + "/livez") as resp:
            assert resp.status == 200
        async with http.get(bot.url + "/metrics") as resp:
            assert 'dockbell_received_total{kind="command"}' in await resp.text()
    text = bot.workers["local"].metrics.expose().decode()
    assert 'dockbell_commands_total{command="version",outcome="ok"}' in text
    assert "dockbell_command_seconds_bucket" in text


class DockerSocketProxy:
    """A unix socket that forwards to the real engine only while switched on: Docker 'down' without
    touching the daemon."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.path = os.path.join(tempfile.mkdtemp(prefix="dockbell-proxy-"), "docker.sock")
        self.server: asyncio.AbstractServer | None = None

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_unix_connection(self.target)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def up(self) -> None:
        self.server = await asyncio.start_unix_server(self._handle, path=self.path)

    async def down(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        Path(self.path).unlink(missing_ok=True)


@pytest_asyncio.fixture(loop_scope="session")
async def fragile_bot(
    fake_slack: FakeSlack, redis_server: RedisServer
) -> AsyncIterator[tuple[Stack, SlackSender, DockerSocketProxy, RedisServer]]:
    """A second dockbell whose Docker socket and Redis server the test can take away."""
    target = (os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock").removeprefix("unix://")
    proxy = DockerSocketProxy(target)
    own_redis = RedisServer.start()
    settings = bot_settings(fake_slack, own_redis.url, DOCKER_HOST="unix://" + proxy.path)
    app = await start_stack(settings, make_test_config())
    await wait_for_worker(own_redis.url, "local")
    fake_slack.reset()
    sender = SlackSender(fake_slack, app.url + "/slack/events", SIGNING_SECRET)
    yield app, sender, proxy, own_redis
    await sender.close()
    await app.stop()
    await proxy.down()
    own_redis.stop()


async def _health(url: str) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as http, http.get(url + "/healthz") as resp:
        return resp.status, await resp.json()


async def test_docker_down_then_back(
    fragile_bot: tuple[Stack, SlackSender, DockerSocketProxy, RedisServer], fake_slack: FakeSlack
) -> None:
    app, sender, proxy, _ = fragile_bot
    worker = app.workers["local"]
    reply = await run_command(sender, fake_slack, "ps")
    assert "Cannot connect to the Docker daemon at unix://" in all_text(reply)
    assert "Is the docker daemon running?" in all_text(reply)
    # Docker is the worker's business: its readiness fails; serve's never asks Docker.
    report = await worker.readiness.report()
    assert not report["ok"] and not report["docker"]["ok"]
    _status, body = await _health(app.url)
    assert "docker" not in body
    await proxy.up()
    reply = await run_command(sender, fake_slack, "version --format '{{.Server.Version}}'")
    assert output_text(reply)[0].isdigit()
    assert (await worker.readiness.report())["ok"]


async def test_redis_down_then_back(
    fragile_bot: tuple[Stack, SlackSender, DockerSocketProxy, RedisServer], fake_slack: FakeSlack
) -> None:
    app, sender, proxy, own_redis = fragile_bot
    await proxy.up()
    own_redis.stop()
    reply = await run_command(sender, fake_slack, "version --format '{{.Server.Version}}'")
    # Redis carries every command to the worker: serve says why nothing can run, at once.
    assert "cannot reach Redis" in all_text(reply), all_text(reply)
    status, body = await _health(app.url)
    assert status == 503 and not body["redis"]["ok"]  # type: ignore[index]
    restarted = RedisServer.start(own_redis.port)
    own_redis.process, own_redis.workdir = restarted.process, restarted.workdir
    for _ in range(100):
        status, body = await _health(app.url)
        if body["redis"]["ok"] and body["worker:local"]["ok"]:  # type: ignore[index]
            break
        await asyncio.sleep(0.2)
    assert body["redis"]["ok"] and body["worker:local"]["ok"], body  # type: ignore[index]
    reply = await run_command(sender, fake_slack, "version --format '{{.Server.Version}}'")
    assert output_text(reply)[0].isdigit() and "cannot reach Redis" not in all_text(reply)


async def test_jobs_while_redis_is_down_and_after(
    fragile_bot: tuple[Stack, SlackSender, DockerSocketProxy, RedisServer],
    fake_slack: FakeSlack,
    containers: Containers,
) -> None:
    _app, sender, proxy, own_redis = fragile_bot
    await proxy.up()
    name = containers.run("fragile-job", ["sleep", "3600"])
    own_redis.stop()
    reply = await run_command(sender, fake_slack, f"restart -t 0 {name}")
    assert "cannot reach Redis" in all_text(reply), all_text(reply)
    restarted = RedisServer.start(own_redis.port)
    own_redis.process, own_redis.workdir = restarted.process, restarted.workdir
    # The embedded worker comes back by itself (no restart) and takes work again.
    await wait_for_worker(own_redis.url, "local", timeout=30)
    since = len(fake_slack.calls)
    await sender.command(f"restart -t 0 {name}")
    post = await fake_slack.wait_for_call("chat.postMessage", lambda c: name in str(c.args), since=since)
    ts = str(post.response["ts"])
    await fake_slack.wait_for_call(
        "chat.update", lambda c: c.args.get("ts") == ts and "succeeded" in str(c.args), timeout=30
    )
