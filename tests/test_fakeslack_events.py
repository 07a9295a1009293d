"""The fake Slack's Events API sender against slack_sdk's verifier: Slack's contract for event deliveries.

Every delivery is an ``event_callback`` JSON body, signed like commands (slack-platform.md §2.1);
a retry is the same body and event_id with ``X-Slack-Retry-Num``; the person's message is stored,
so a reply in its thread is accepted.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.fakeslack import BOT_USER_ID, FakeSlack, SlackSender

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.integration]

SECRET = "events-secret-0123456789"


class Receiver:
    """A bot's request URL that records what arrives and acks with an empty 200."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], dict[str, Any], bool]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.text()
        valid = SignatureVerifier(SECRET).is_valid_request(raw, dict(request.headers))
        body = json.loads(raw)
        self.received.append((dict(request.headers), body, valid))
        if body.get("type") == "url_verification":
            return web.json_response({"challenge": body["challenge"]})
        return web.Response(status=200)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/slack/events", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/slack/events"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest_asyncio.fixture(loop_scope="session")
async def rig() -> AsyncIterator[tuple[FakeSlack, Receiver, SlackSender]]:
    receiver = Receiver()
    await receiver.start()
    async with FakeSlack() as fake:
        sender = SlackSender(fake, receiver.url, SECRET)
        yield fake, receiver, sender
        await sender.close()
    await receiver.stop()


async def test_mention_is_a_signed_event_callback_and_its_thread_takes_replies(
    rig: tuple[FakeSlack, Receiver, SlackSender],
) -> None:
    fake, receiver, sender = rig
    sent = await sender.mention("ps -a", channel_id="C_GENERAL")
    assert sent.ack.status == 200
    headers, body, valid = receiver.received[-1]
    assert valid and headers["Content-Type"] == "application/json"
    assert body["type"] == "event_callback" and body["event_id"] == sent.event_id
    assert body["authorizations"][0]["user_id"] == BOT_USER_ID and isinstance(body["event_time"], int)
    event = body["event"]
    assert event["type"] == "app_mention" and event["text"] == f"<@{BOT_USER_ID}> ps -a"
    assert event["channel"] == "C_GENERAL" and event["user"] == "U_ALICE" and "thread_ts" not in event
    # The app answers in the thread under the mention: the fake knows the parent.
    web_client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    reply = await web_client.chat_postMessage(channel="C_GENERAL", text="hi", thread_ts=sent.ts)
    assert reply["message"]["thread_ts"] == sent.ts
    follow = await sender.mention("restart", thread_ts=reply["ts"])
    assert follow.event["thread_ts"] == sent.ts  # a reply's ts maps to its thread's parent
    assert [m.ts for m in fake.thread("C_GENERAL", sent.ts)] == [sent.ts, reply["ts"], follow.ts]


async def test_dm_edit_delete_retry_and_bots(rig: tuple[FakeSlack, Receiver, SlackSender]) -> None:
    _fake, receiver, sender = rig
    sent = await sender.dm("ps", user_id="U_BOB")
    event = receiver.received[-1][1]["event"]
    assert event["type"] == "message" and event["channel_type"] == "im" and event["channel"].startswith("D")
    assert "subtype" not in event
    await sender.edit(sent, "ps -a")
    changed = receiver.received[-1][1]["event"]
    assert changed["subtype"] == "message_changed" and changed["message"]["text"] == "ps -a"
    assert changed["previous_message"]["text"] == "ps"
    await sender.delete(sent)
    assert receiver.received[-1][1]["event"]["deleted_ts"] == sent.ts
    again = await sender.redeliver_event(sent)
    headers, body, valid = receiver.received[-1]
    assert valid and headers["X-Slack-Retry-Num"] == "1" and headers["X-Slack-Retry-Reason"] == "http_timeout"
    assert body["event_id"] == sent.event_id and again.retry_num == 1
    silent = await sender.bot_message("deploy done")  # a channel message: only with channels:history
    assert silent.ack.status == 0 and "channels:history" in silent.ack.text
    await sender.bot_message(f"<@{BOT_USER_ID}> deploy done")
    from_bot = receiver.received[-1][1]["event"]
    assert from_bot["type"] == "app_mention" and from_bot["bot_id"] == "B_OTHER" and "user" not in from_bot
    await sender.own_message(sent.channel, "answer")
    own = receiver.received[-1][1]["event"]
    assert own["user"] == BOT_USER_ID and own["bot_id"] and "subtype" not in own
    ack = await sender.url_verification("challenge-123")
    assert ack.json == {"challenge": "challenge-123"}


async def test_events_need_their_scopes(rig: tuple[FakeSlack, Receiver, SlackSender]) -> None:
    _fake, receiver, sender_in_rig = rig
    async with FakeSlack(scopes=("commands", "chat:write")) as bare, SlackSender(bare, receiver.url, SECRET) as sender:
        before = len(receiver.received)
        mention = await sender.mention("ps")
        dm = await sender.dm("ps")
        assert (mention.ack.status, dm.ack.status) == (0, 0)
        assert "app_mentions:read" in mention.ack.text and "im:history" in dm.ack.text
        assert len(receiver.received) == before
    outside = await sender_in_rig.mention("ps", channel_id="C_OTHER")  # the seed channel the bot is not in
    assert outside.ack.status == 0 and "not in #other" in outside.ack.text
