"""Two Docker engines, two workers, one bot: a job goes to the host it names and nowhere else."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import docker
import pytest
import pytest_asyncio

from bot.config import Config
from bot.fakeslack import FakeSlack, SlackSender
from tests.conftest import SIGNING_SECRET, bot_settings, wait_for_worker
from tests.helpers import all_text, output_text, run_command
from tests.rig import TEST_IMAGE, TEST_LABEL, RedisServer, SecondEngine
from tests.stack import start_stack

pytestmark = pytest.mark.asyncio(loop_scope="session")

POLICY = """
hosts:
  local: {{}}
  second: {{url: "{url}"}}
permissions:
  roles:
    admin: {{allow: ["*"]}}
    second-only: {{allow: [read, operate], on: {{hosts: [second]}}}}
  bindings:
    - {{users: [U_ALICE], role: admin}}
    - {{users: [U_BOB], role: second-only}}
"""


@pytest.fixture(scope="module")
def second() -> Iterator[SecondEngine]:
    engine = SecondEngine.start()
    try:
        yield engine
    finally:
        engine.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def two_host_bot(
    fake_slack: FakeSlack, redis_server: RedisServer, second: SecondEngine
) -> AsyncIterator[tuple[SlackSender, Config]]:
    from bot.config import parse_config
    from bot.policy import yaml_with_lines

    data, lines = yaml_with_lines(POLICY.format(url=second.base_url), "two-hosts.yml")
    config = parse_config(data, "two-hosts.yml", lines)
    # A Redis of its own: the session's worker for "local" (another config) must not take these commands.
    own = RedisServer.start()
    settings = bot_settings(fake_slack, own.url)
    app = await start_stack(settings, config, workers=("local", "second"))
    await wait_for_worker(own.url, "local")
    await wait_for_worker(own.url, "second")
    fake_slack.reset()
    sender = SlackSender(fake_slack, app.url + "/slack/events", SIGNING_SECRET)
    yield sender, config
    await sender.close()
    await app.stop()
    own.stop()


def _make(api: docker.APIClient, name: str) -> str:
    cid = api.create_container(TEST_IMAGE, ["sleep", "3600"], name=name, labels={TEST_LABEL: "two-hosts"})["Id"]
    api.start(cid)
    return str(cid)


async def test_jobs_and_reads_go_to_the_named_host(
    two_host_bot: tuple[SlackSender, Config],
    fake_slack: FakeSlack,
    second: SecondEngine,
    docker_api: docker.APIClient,
) -> None:
    slack, _ = two_host_bot
    api2 = second.client()
    _make(api2, "dockbell-two-hosts-web")
    before = api2.inspect_container("dockbell-two-hosts-web")["State"]["StartedAt"]
    reply = await run_command(slack, fake_slack, "ps --format '{{.Names}}' -H second")
    assert output_text(reply) == "dockbell-two-hosts-web"
    # The local engine has no such container; the second one does.
    since = len(fake_slack.calls)
    await slack.command("-H second restart -t 1 dockbell-two-hosts-web")
    post = await fake_slack.wait_for_call("chat.postMessage", lambda c: "two-hosts-web" in str(c.args), since=since)
    ts = str(post.response["ts"])
    final = await fake_slack.wait_for_call(
        "chat.update", lambda c: c.args.get("ts") == ts and "succeeded" in str(c.args), timeout=30
    )
    assert "on `second`" in str(final.args)
    assert api2.inspect_container("dockbell-two-hosts-web")["State"]["StartedAt"] != before
    assert not docker_api.containers(all=True, filters={"name": "dockbell-two-hosts-web"})
    reply = await run_command(slack, fake_slack, "hosts")
    table = output_text(reply)
    assert "local (default)" in table and "\nsecond " in table and "no live worker" not in table


async def test_a_host_scoped_role_stays_on_its_host(
    two_host_bot: tuple[SlackSender, Config], fake_slack: FakeSlack, second: SecondEngine
) -> None:
    slack, _ = two_host_bot
    reply = await run_command(slack, fake_slack, "ps -H second --format '{{.Names}}'", user_id="U_BOB")
    assert "dockbell-two-hosts-web" in output_text(reply)
    reply = await run_command(slack, fake_slack, "ps", user_id="U_BOB")
    assert "Not allowed" in all_text(reply) or output_text(reply) == ""
    reply = await run_command(slack, fake_slack, "-H nowhere ps", user_id="U_ALICE")
    assert "unknown Docker host 'nowhere'" in all_text(reply)


REMOTE = """
hosts:
  local: {{}}
  remote: {{}}
permissions:
  roles:
    admin: {{allow: ["*"]}}
  bindings:
    - {{users: [U_ALICE], role: admin}}
"""


async def test_a_host_without_url_is_answered_by_its_worker(
    fake_slack: FakeSlack, redis_server: RedisServer, second: SecondEngine
) -> None:
    """`serve` cannot reach "remote" (no URL); the worker beside that engine answers, reads included."""
    from bot.config import parse_config
    from bot.policy import yaml_with_lines

    data, lines = yaml_with_lines(REMOTE.format(), "remote.yml")
    config = parse_config(data, "remote.yml", lines)
    own = RedisServer.start()
    app = await start_stack(bot_settings(fake_slack, own.url), config)
    # The worker runs where the engine is: DOCKER_HOST there is that engine's socket.
    await app.add_worker(bot_settings(fake_slack, own.url, DOCKER_HOST=second.base_url), config, "remote")
    sender = SlackSender(fake_slack, app.url + "/slack/events", SIGNING_SECRET)
    try:
        await wait_for_worker(own.url, "remote")
        api2 = second.client()
        _make(api2, "dockbell-remote-only")
        only = "ps -a --filter name=dockbell-remote-only --format '{{.Names}}'"
        reply = await run_command(sender, fake_slack, f"-H remote {only}")
        assert "dockbell-remote-only" in output_text(reply)
        reply = await run_command(sender, fake_slack, only)
        assert "dockbell-remote-only" not in all_text(reply).replace("name=dockbell-remote-only", "")
        reply = await run_command(sender, fake_slack, "-H remote logs dockbell-no-such")
        assert "No such container: dockbell-no-such" in all_text(reply)
    finally:
        await sender.close()
        await app.stop()
        own.stop()
