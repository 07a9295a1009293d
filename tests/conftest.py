"""Session-wide test rig: real redis-server, real Docker engine, fake Slack, a running dockbell."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Iterator

import docker
import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from bot.config import Config, parse_config
from bot.fakeslack import FakeSlack, SlackSender
from bot.jobs.queue import host_is_live
from bot.policy import yaml_with_lines
from bot.settings import Settings
from tests.markers import pytest_collection_modifyitems  # noqa: F401  (marks unit/integration/e2e)
from tests.rig import Containers, RedisServer, docker_client, ensure_test_image
from tests.stack import Stack, start_stack

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"

# Alice is an admin; Bob sees only containers labelled team=payments; Carol is an auditor
# through a user group; anyone typing in C_OPS is a viewer there; Erin is a viewer on host
# local only; Rita (U_RUNNER) may run and create containers, with no flag capabilities;
# Oscar may operate (exec, kill, wait...) containers labelled team=ops, with no flag
# capabilities; Paula (U_PAYRUN) may run and create containers labelled team=payments.
# Anyone else (U_DAVE, say) has only the basics.
TEST_CONFIG = """
hosts:
  local: {}
  elsewhere: {url: "unix:///nonexistent/dockbell-test.sock"}
permissions:
  contact: "#ops or @oncall"
  roles:
    basics:   {allow: [help, whoami, can-i]}
    viewer:   {allow: [read]}
    payments: {allow: [read], on: {labels: {team: payments}}}
    auditor:  {allow: [audit]}
    admin:    {allow: ["*"], flags: ["*"]}
    local-viewer: {allow: [read], on: {hosts: [local]}}
    runner:   {allow: [read, run, create]}
    ops-operator: {allow: [read, operate], on: {labels: {team: ops}}}
    pay-runner: {allow: [read, run, create], on: {labels: {team: payments}}}
  bindings:
    - {everyone: true, role: basics}
    - {users: [U_ALICE], role: admin}
    - {users: [U_BOB], role: payments}
    - {usergroups: [S_AUDIT], role: auditor}
    - {channels: [C_OPS], role: viewer}
    - {users: [U_ERIN], role: local-viewer}
    - {users: [U_RUNNER], role: runner}
    - {users: [U_OSCAR], role: ops-operator}
    - {users: [U_PAYRUN], role: pay-runner}
  deny:
    - {verbs: [logs], on: {names: ["*-secretive"]}, reason: "these logs are private"}
    - {verbs: [exec], on: {labels: {dockbell.no-exec: "true"}}, reason: "this container does not allow shells"}
"""


def make_test_config() -> Config:
    data, lines = yaml_with_lines(TEST_CONFIG, "test-config.yml")
    return parse_config(data, "test-config.yml", lines)
BOT_TOKEN = "xoxb-test-token"
QUEUE_SECRET = "test-queue-secret-0123456789abcdef"

# slack_sdk ignores NO_PROXY, and Bolt turns on OAuth when these are set: neither may leak in.
for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
    os.environ.pop(var, None)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def docker_api() -> Iterator[docker.APIClient]:
    api = docker_client()
    api.ping()  # the rig needs a real engine: fail loudly rather than skip
    ensure_test_image(api)
    yield api
    api.close()


@pytest.fixture(scope="session")
def containers(docker_api: docker.APIClient) -> Iterator[Containers]:
    made = Containers(docker_api)
    yield made
    made.cleanup()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack(bot_token=BOT_TOKEN)
    fake.set_usergroup("S_AUDIT", ["U_CAROL"])
    await fake.start()
    yield fake
    await fake.stop()


async def wait_for_worker(redis_url: str, host: str, timeout: float = 15.0) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + timeout
        while not await host_is_live(client, host):
            if time.monotonic() > deadline:
                raise AssertionError(f"no live worker for host {host} after {timeout}s")
            await asyncio.sleep(0.1)
    finally:
        await client.aclose()


def bot_settings(fake: FakeSlack, redis_url: str, **overrides: str) -> Settings:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
        "REDIS_URL": redis_url,
        "DOCKBELL_QUEUE_SECRET": QUEUE_SECRET,
        **({"DOCKER_HOST": os.environ["DOCKER_HOST"]} if os.environ.get("DOCKER_HOST") else {}),
        **overrides,
    }
    return Settings.from_env(env)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def bot(
    fake_slack: FakeSlack, redis_server: RedisServer, docker_api: docker.APIClient
) -> AsyncIterator[Stack]:
    stack = await start_stack(bot_settings(fake_slack, redis_server.url), make_test_config())
    await wait_for_worker(redis_server.url, "local")
    yield stack
    await stack.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def slack(fake_slack: FakeSlack, bot: Stack, redis_server: RedisServer) -> AsyncIterator[SlackSender]:
    fake_slack.reset()
    # A synchronous fixture (an image build, say) holds the session's loop, and with it the
    # in-process workers' heartbeats: a test must not start before they are live again.
    for host in bot.workers:
        await wait_for_worker(redis_server.url, host)
    sender = SlackSender(fake_slack, bot.url + "/slack/events", SIGNING_SECRET)
    yield sender
    await sender.close()


@pytest.fixture(scope="module")
def remove_module_containers(containers: Containers) -> Iterator[None]:
    """Remove what a module made once it is done (a module opts in with usefixtures): the storm
    and crash-loop tests leave dozens of containers, some restarting, that would crowd every
    later `ps` and `system df` of the session."""
    before = len(containers.created)
    yield
    for cid in containers.created[before:]:
        with contextlib.suppress(docker.errors.APIError):
            containers.api.remove_container(cid, force=True)
    del containers.created[before:]
