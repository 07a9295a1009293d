"""bot.slack.socket_link against the fake Slack's Socket Mode link, with a real Bolt app.

The app here is a minimal Bolt AsyncApp with a /docker listener that acks; what serve wires
around the link (health, start-up, `dockbell check`) is tested where serve is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ConfigError
from bot.fakeslack import FakeSlack, SocketSender
from bot.ops.health import Status
from bot.slack.socket_link import SDK_LOG, LinkOpener, SocketLink, check_app_token, open_link

pytestmark = pytest.mark.integration

# Short timings so outages take a second, not Bolt's 10 s ping interval.
FAST: dict[str, float] = {"grace": 0.5, "ping_interval": 0.2, "poll": 0.05}


@pytest.fixture
def fake(fake_slack: FakeSlack) -> FakeSlack:
    fake_slack.reset()
    return fake_slack


def docker_app(fake: FakeSlack) -> AsyncApp:
    app = AsyncApp(
        client=AsyncWebClient(token=fake.bot_token, base_url=fake.api_url),
        request_verification_enabled=False,  # as serve builds it in Socket Mode
    )

    @app.command("/docker")
    async def on_docker(ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack(f"running `docker {command['text']}`")

    return app


@pytest.fixture
async def link(fake: FakeSlack) -> AsyncIterator[SocketLink]:
    opened = await open_link(docker_app(fake), fake.app_token, **FAST)
    yield opened
    await opened.close()


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.02)


def opens(fake: FakeSlack) -> int:
    return sum(1 for c in fake.calls if c.method == "apps.connections.open")


async def test_a_slash_command_over_the_link_is_acked(fake: FakeSlack, link: SocketLink) -> None:
    status = link.status()
    assert (status.connected, status.ok, status.down_since) == (True, True, None)
    assert opens(fake) == 1  # the token check's URL is the one the client connected with
    async with SocketSender(fake) as slack:
        result = await slack.command("ps -a")
    result.assert_ok()
    ack = fake.link.acks[-1]
    assert ack.payload == {"text": "running `docker ps -a`"}
    assert fake.link.envelopes[-1].type == "slash_commands"
    assert fake.link.envelopes[-1].payload["text"] == "ps -a"


@pytest.mark.parametrize("revoke", [False, True])
async def test_a_refused_app_token_fails_at_once_with_one_line(fake: FakeSlack, revoke: bool) -> None:
    if revoke:
        fake.revoke_app_token()
    token = fake.app_token if revoke else "xapp-1-A_DOCKBELL-1-wrong"
    started = time.monotonic()
    with pytest.raises(ConfigError) as raised:
        await open_link(docker_app(fake), token, **FAST)
    code = "token_revoked" if revoke else "invalid_auth"
    assert str(raised.value) == f"SLACK_APP_TOKEN was refused by Slack ({code})"
    assert time.monotonic() - started < 2.0 and opens(fake) == 1  # asked once, no retry loop
    assert not fake.link.connections


async def test_the_bot_token_in_place_of_the_app_token_is_named(fake: FakeSlack) -> None:
    with pytest.raises(ConfigError, match=r"^SLACK_APP_TOKEN was refused by Slack \(not_allowed_token_type\); "):
        await open_link(docker_app(fake), fake.bot_token, **FAST)


@pytest.mark.parametrize("abrupt", [False, True])
async def test_an_outage_turns_status_down_after_the_grace_and_up_after_reconnect(
    fake: FakeSlack, link: SocketLink, abrupt: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    first = fake.link.current()
    await fake.link.drop(refuse_for=1.5, abrupt=abrupt)
    await eventually(lambda: not link.status().connected, timeout=2.0)
    down = link.status()
    assert down.ok and down.down_since is not None and "within the 0.5 s grace" in down.detail
    await eventually(lambda: not link.status().ok, timeout=2.0)
    late = link.status()
    assert not late.connected and late.detail.startswith("Socket Mode link down for ")
    assert late.down_since == down.down_since
    back = await fake.link.wait_for_connection(after=first.id, timeout=10.0)
    await eventually(lambda: link.status().connected)
    assert link.status() == type(late)(True, None, "Socket Mode link up", ok=True)
    async with SocketSender(fake) as slack:
        (await slack.command("ps")).assert_ok()
    assert fake.link.acks[-1].connection == back.id
    assert fake.link.refused_handshakes > 0  # reconnects really were refused meanwhile
    sdk_lines = [r for r in caplog.records if r.name == SDK_LOG.name]
    assert any("Failed to connect" in r.getMessage() for r in sdk_lines)
    assert all(r.exc_info is None for r in sdk_lines)  # one line each, no tracebacks


async def test_a_refresh_does_not_flap_health(fake: FakeSlack, link: SocketLink) -> None:
    first = fake.link.current()
    seen: list[bool] = []
    await fake.link.disconnect("refresh_requested")
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and not any(c.id > first.id and c.open for c in fake.link.connections):
        seen.append(link.status().ok)
        await asyncio.sleep(0.01)
    await fake.link.wait_for_connection(after=first.id)
    await eventually(lambda: link.status().connected)
    assert all(seen)


async def test_a_link_that_cannot_connect_at_start_comes_up_later(fake: FakeSlack) -> None:
    await fake.link.drop(refuse_for=1.2)  # the socket edge refuses; the Web API answers
    link = await open_link(docker_app(fake), fake.app_token, connect_wait=0.2, **FAST)
    try:
        assert not link.status().connected
        await eventually(lambda: not link.status().ok, timeout=2.0)
        await fake.link.wait_for_connection(timeout=10.0)
        await eventually(lambda: link.status().connected)
        async with SocketSender(fake) as slack:
            (await slack.command("ps")).assert_ok()
    finally:
        await link.close()
    assert link.status().detail == "Socket Mode link closed" and not link.status().ok


async def test_a_slack_error_at_start_is_left_to_the_sdk_retries(fake: FakeSlack) -> None:
    fake.fail_next("apps.connections.open", error="internal_error")
    link = await open_link(docker_app(fake), fake.app_token, **FAST)
    try:
        assert link.status().connected
        assert opens(fake) == 2  # ours failed; the client asked for its own URL
    finally:
        await link.close()


async def test_close_closes_the_socket(fake: FakeSlack) -> None:
    link = await open_link(docker_app(fake), fake.app_token, **FAST)
    conn = fake.link.current()
    await link.close()
    await fake.link.wait_closed(conn)
    await link.close()  # twice is harmless


async def test_check_app_token(fake: FakeSlack) -> None:
    assert await check_app_token(fake.api_url, fake.app_token) == (
        True,
        "Slack accepts SLACK_APP_TOKEN (apps.connections.open)",
    )
    assert await check_app_token(fake.api_url, "xapp-1-A_DOCKBELL-1-wrong") == (
        False,
        "SLACK_APP_TOKEN was refused by Slack (invalid_auth)",
    )
    assert not fake.link.connections  # a check opens no connection
    ok, detail = await check_app_token("http://127.0.0.1:9/api/", fake.app_token)
    assert not ok and detail.startswith("cannot reach Slack at http://127.0.0.1:9/api/: ")


async def test_the_opener_serve_wires(fake: FakeSlack) -> None:
    opener = LinkOpener(fake.app_token, **FAST)
    assert await opener.check() == Status(False, "Socket Mode link not opened yet")
    close = await opener.open(docker_app(fake))
    try:
        assert await opener.check() == Status(True, "Socket Mode link up")
    finally:
        await close()
    assert not (await opener.check()).ok
