"""Contract tests for the fake Slack's Socket Mode: driven by slack_sdk's real aiohttp SocketModeClient.

If the SDK changes how it opens, pings, acks or reconnects, or the fake drifts from Slack's
shapes, these fail before the bot's Socket Mode tests start lying.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.fakeslack import APP_ID, DEFAULT_APP_TOKEN, FakeSlack

pytestmark = pytest.mark.integration

PING = 0.2  # the SDK's ping_interval; also its reconnect pause, so keep it short here


@pytest.fixture(scope="module")
async def module_fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def fake(module_fake: FakeSlack) -> FakeSlack:
    module_fake.reset()
    return module_fake


@pytest.fixture
def web(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)


class Recorder:
    """What a SocketModeClient saw: raw messages and Socket Mode requests."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.requests: list[SocketModeRequest] = []

    async def on_message(self, client: AsyncBaseSocketModeClient, message: dict[str, Any], raw: str | None) -> None:
        self.messages.append(message)

    async def on_request(self, client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        self.requests.append(request)
        payload = {"text": f"ack of {request.type}"} if request.accepts_response_payload else None
        await client.send_socket_mode_response(SocketModeResponse(request.envelope_id, payload))


@pytest.fixture
async def sdk(fake: FakeSlack, web: AsyncWebClient) -> AsyncIterator[tuple[SocketModeClient, Recorder]]:
    client = SocketModeClient(app_token=fake.app_token, web_client=web, ping_interval=PING)
    recorder = Recorder()
    client.message_listeners.append(recorder.on_message)
    client.socket_mode_request_listeners.append(recorder.on_request)
    await client.connect()  # type: ignore[no-untyped-call]
    yield client, recorder
    await client.close()  # type: ignore[no-untyped-call]


async def eventually(check: Callable[[], bool | Awaitable[bool]], timeout: float = 5.0) -> None:
    """Poll ``check`` (sync or async) until it holds: the SDK's state has no events to wait on."""
    deadline = time.monotonic() + timeout
    while not await _value(check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.05)


# --- apps.connections.open ---------------------------------------------------------------------


async def test_connections_open_returns_a_link_url_on_the_fake(fake: FakeSlack, web: AsyncWebClient) -> None:
    response = await web.apps_connections_open(app_token=fake.app_token)
    url = urlsplit(str(response["url"]))
    assert (url.scheme, url.netloc, url.path) == ("ws", urlsplit(fake.base_url).netloc, "/link/")
    query = parse_qs(url.query)
    assert query["app_id"] == [APP_ID] and len(query["ticket"][0]) >= 16
    assert response.headers["x-oauth-scopes"] == "connections:write"
    call = await fake.wait_for_call("apps.connections.open")
    assert call.headers["Authorization"] == f"Bearer {DEFAULT_APP_TOKEN}"


@pytest.mark.parametrize(
    ("token", "error"),
    [
        ("xapp-1-A_OTHER-1-wrong", "invalid_auth"),
        ("xoxb-test-token", "not_allowed_token_type"),  # the bot token is not an app-level token
        ("", "not_authed"),
    ],
)
async def test_connections_open_refuses_other_tokens(
    fake: FakeSlack, web: AsyncWebClient, token: str, error: str
) -> None:
    with pytest.raises(SlackApiError) as raised:
        await web.apps_connections_open(app_token=token)
    assert raised.value.response["error"] == error


async def test_connections_open_needs_connections_write() -> None:
    async with FakeSlack(app_scopes=("authorizations:read",)) as fake:
        web = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        with pytest.raises(SlackApiError) as raised:
            await web.apps_connections_open(app_token=fake.app_token)
    assert raised.value.response["error"] == "missing_scope"
    assert raised.value.response["needed"] == "connections:write"


async def test_revoked_app_token_and_app_token_elsewhere(fake: FakeSlack) -> None:
    as_app = AsyncWebClient(token=fake.app_token, base_url=fake.api_url)
    with pytest.raises(SlackApiError) as raised:
        await as_app.chat_postMessage(channel="C_GENERAL", text="hi")
    assert raised.value.response["error"] == "not_allowed_token_type"
    fake.revoke_app_token()
    with pytest.raises(SlackApiError) as raised:
        await as_app.apps_connections_open(app_token=fake.app_token)
    assert raised.value.response["error"] == "token_revoked"


async def test_tickets_are_single_use(fake: FakeSlack, web: AsyncWebClient) -> None:
    url = str((await web.apps_connections_open(app_token=fake.app_token))["url"])
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url) as ws:
            hello = json.loads((await ws.receive()).data)
            with pytest.raises(aiohttp.WSServerHandshakeError) as again:
                await session.ws_connect(url)
            assert again.value.status == 401
        with pytest.raises(aiohttp.WSServerHandshakeError) as unknown:
            await session.ws_connect(url.replace("ticket=", "ticket=x"))
        assert unknown.value.status == 401
    assert hello["type"] == "hello"
    assert hello["connection_info"] == {"app_id": APP_ID}
    assert hello["num_connections"] == 1 and "host" in hello["debug_info"]


# --- the link, with the real SDK client -----------------------------------------------------------


async def test_client_connects_gets_hello_and_its_pings_are_answered(
    fake: FakeSlack, sdk: tuple[SocketModeClient, Recorder]
) -> None:
    client, recorder = sdk
    assert await client.is_connected()
    await eventually(lambda: any(m.get("type") == "hello" for m in recorder.messages))
    # the SDK's first ping carries sdk-ping-pong:<t>; only a pong echoing it sets this
    await eventually(lambda: client.last_ping_pong_time is not None)
    await asyncio.sleep(PING * 5)  # past 4 × ping_interval: the link must not be called stale
    assert await client.is_connected() and not client.stale
    assert len(fake.link.open_connections()) == 1


async def test_slash_command_envelope_is_delivered_and_acked_with_payload(
    fake: FakeSlack, sdk: tuple[SocketModeClient, Recorder]
) -> None:
    _, recorder = sdk
    payload = {"command": "/docker", "text": "ps", "user_id": "U_ALICE", "response_url": "http://x/hooks/1"}
    envelope = await fake.link.push("slash_commands", payload)
    ack = await fake.link.wait_for_ack(envelope.envelope_id)
    request = recorder.requests[-1]
    assert (request.type, request.envelope_id, request.payload) == ("slash_commands", envelope.envelope_id, payload)
    assert request.accepts_response_payload is True
    assert ack.payload == {"text": "ack of slash_commands"}
    assert ack.raw == {"envelope_id": envelope.envelope_id, "payload": {"text": "ack of slash_commands"}}
    assert ack.elapsed < 3.0


async def test_interactive_and_events_envelopes(fake: FakeSlack, sdk: tuple[SocketModeClient, Recorder]) -> None:
    _, recorder = sdk
    click = await fake.link.push("interactive", {"type": "block_actions", "actions": [{"action_id": "share"}]})
    event = await fake.link.push("events_api", {"type": "event_callback", "event": {"type": "app_mention"}})
    click_ack = await fake.link.wait_for_ack(click.envelope_id)
    event_ack = await fake.link.wait_for_ack(event.envelope_id)
    assert click_ack.raw == {"envelope_id": click.envelope_id}  # no payload: accepts_response_payload false
    assert event_ack.payload is None
    by_id = {r.envelope_id: r for r in recorder.requests}
    assert by_id[click.envelope_id].accepts_response_payload is False
    assert (by_id[event.envelope_id].retry_attempt, by_id[event.envelope_id].retry_reason) == (0, "")


async def test_disconnect_message_makes_the_client_move_to_a_new_connection(
    fake: FakeSlack, sdk: tuple[SocketModeClient, Recorder]
) -> None:
    client, _ = sdk
    first = fake.link.current()
    await fake.link.disconnect("refresh_requested")
    second = await fake.link.wait_for_connection(after=first.id)
    await fake.link.wait_closed(first)  # the SDK closes the old socket itself
    opens = [c for c in fake.calls if c.method == "apps.connections.open"]
    assert len(opens) == 2  # a new URL for the new connection
    envelope = await fake.link.push("events_api", {"type": "event_callback"})
    ack = await fake.link.wait_for_ack(envelope.envelope_id)
    assert ack.connection == second.id
    assert await client.is_connected()


@pytest.mark.parametrize("abrupt", [False, True])
async def test_outage_refuses_reconnects_then_the_client_comes_back(
    fake: FakeSlack, sdk: tuple[SocketModeClient, Recorder], abrupt: bool
) -> None:
    client, _ = sdk
    first = fake.link.current()
    await fake.link.drop(refuse_for=1.0, abrupt=abrupt)
    assert not first.open and fake.link.down
    await eventually(lambda: _not(client.is_connected()))
    await eventually(lambda: fake.link.refused_handshakes > 0)  # it tried, and was refused
    assert not fake.link.open_connections()
    back = await fake.link.wait_for_connection(after=first.id, timeout=10.0)
    assert not fake.link.down
    await eventually(client.is_connected)
    envelope = await fake.link.push("slash_commands", {"command": "/docker", "text": "ps"})
    assert (await fake.link.wait_for_ack(envelope.envelope_id)).connection == back.id


async def test_outage_can_take_connections_open_down_too(fake: FakeSlack, web: AsyncWebClient) -> None:
    await fake.link.drop(refuse_for=0.5, api_too=True)
    with pytest.raises(SlackApiError) as raised:
        await web.apps_connections_open(app_token=fake.app_token)
    assert raised.value.response.status_code == 503
    await asyncio.sleep(0.6)
    assert (await web.apps_connections_open(app_token=fake.app_token))["ok"]


async def test_push_without_a_connection_fails_loudly(fake: FakeSlack) -> None:
    with pytest.raises(AssertionError, match="no open Socket Mode connection"):
        await fake.link.push("slash_commands", {})
    with pytest.raises(ValueError, match="unknown envelope type"):
        await fake.link.push("slash_command", {})


async def _value(result: bool | Awaitable[bool]) -> bool:
    return await result if inspect.isawaitable(result) else result


async def _not(value: Awaitable[bool]) -> bool:
    return not await value
