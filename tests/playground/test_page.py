"""The playground's page server, with aiohttp's test client and a stand-in for dockbell.

The stand-in is a request URL that checks Slack's signature (slack_sdk's verifier) and records
what arrives, so these tests see exactly what the page's actions send: the same signed slash
commands, block_actions, view_submissions and Events API callbacks as Slack's. No Docker, no
Redis: what dockbell does with them is the browser test's business.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from slack_sdk.signature import SignatureVerifier

from bot.fakeslack import FakeSlack, Message, SlackSender
from bot.fakeslack.records import Ephemeral, OpenView, UploadedFile
from bot.playground.actions import Actions
from bot.playground.page import PageServer
from bot.playground.people import PEOPLE, seed
from bot.playground.run import default_policy

pytestmark = [pytest.mark.asyncio(loop_scope="session")]

SECRET = "page-secret-0123456789"
APPROVE = [{"type": "actions", "block_id": "b1", "elements": [
    {"type": "button", "action_id": "approve", "text": {"type": "plain_text", "text": "Approve"}, "style": "primary"}
]}]  # fmt: skip


@dataclass
class StandIn:
    """dockbell's /slack/events: verifies, records, answers with ``reply`` (status, JSON body or None)."""

    received: list[dict[str, Any]] = field(default_factory=list)
    reply: tuple[int, dict[str, Any] | None] = (200, None)

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.text()
        assert SignatureVerifier(SECRET).is_valid_request(raw, dict(request.headers)), "unsigned request"
        if request.content_type == "application/json":
            body: dict[str, Any] = json.loads(raw)
        else:
            form = dict(parse_qsl(raw))
            body = json.loads(form["payload"]) if "payload" in form else form
        self.received.append(body)
        status, answer = self.reply
        if answer is None:
            return web.Response(status=status)
        return web.json_response(answer, status=status)


@dataclass
class Rig:
    fake: FakeSlack
    bot: StandIn
    client: TestClient[web.Request, web.Application]

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post(path, json=body)
        assert response.status == 200, await response.text()
        answer: dict[str, Any] = await response.json()
        return answer

    async def state(self, user: str) -> dict[str, Any]:
        response = await self.client.get("/api/state", params={"as": user})
        assert response.status == 200
        state: dict[str, Any] = await response.json()
        return state


@pytest_asyncio.fixture(loop_scope="session")
async def rig() -> AsyncIterator[Rig]:
    fake = FakeSlack(bot_token="xoxb-page-test", team_id="T_PLAYGROUND")
    seed(fake)
    await fake.start()
    bot = StandIn()
    app = web.Application()
    app.router.add_post("/slack/events", bot.handle)
    bot_server = TestServer(app, host="127.0.0.1")
    await bot_server.start_server()
    sender = SlackSender(fake, str(bot_server.make_url("/slack/events")), SECRET, team_id=fake.team_id)
    page = PageServer(fake, Actions(fake, sender))
    client = TestClient(TestServer(page.app(), host="127.0.0.1"))
    await client.start_server()
    try:
        yield Rig(fake, bot, client)
    finally:
        await client.close()
        await sender.close()
        await bot_server.close()
        await fake.stop()


# --- the page itself --------------------------------------------------------------------------------


async def test_the_page_and_its_scripts_are_served_and_the_policy_ships(rig: Rig) -> None:
    assert default_policy().exists()  # config/playground-policy.yml, or its copy in the wheel
    index = await rig.client.get("/")
    assert index.status == 200 and "<title>dockbell playground</title>" in await index.text()
    for name in ("app.js", "blocks.js", "mrkdwn.js", "app.css"):
        static = await rig.client.get(f"/static/{name}")
        assert static.status == 200, name


async def test_only_loopback_hosts_and_json_posts_are_answered(rig: Rig) -> None:
    rebinding = await rig.client.get("/api/state", params={"as": "U_OSCAR"}, headers={"Host": "evil.example:8800"})
    assert rebinding.status == 403
    form = await rig.client.post("/api/send", data={"as": "U_OSCAR", "channel": "C_GENERAL", "text": "/docker ps"})
    assert form.status == 415
    assert rig.bot.received == []  # a cross-site form post sent nothing to dockbell
    stranger = await rig.client.get("/api/state", params={"as": "U_MALLORY"})
    assert stranger.status == 400


async def test_a_person_sees_the_channels_a_dm_and_the_four_people(rig: Rig) -> None:
    state = await rig.state("U_VERA")
    names = [(c["name"], c["kind"]) for c in state["conversations"]]
    assert names == [("general", "channel"), ("alerts", "channel"), ("dockbell", "dm")]
    assert [p["role"] for p in state["people"]] == ["admin", "operator", "viewer", "approver"]
    assert {p.id for p in PEOPLE} <= set(state["users"])


# --- slash commands ----------------------------------------------------------------------------------


async def test_a_slash_command_is_a_signed_command_and_its_ack_is_ephemeral_to_its_sender(rig: Rig) -> None:
    rig.bot.reply = (200, {"text": "hello *oscar*"})
    answer = await rig.post("/api/send", {"as": "U_OSCAR", "channel": "C_GENERAL", "text": "/docker ps -a"})
    assert answer == {"ok": True, "error": ""}
    sent = rig.bot.received[-1]
    fields = (sent["command"], sent["text"], sent["user_id"], sent["channel_id"])
    assert fields == ("/docker", "ps -a", "U_OSCAR", "C_GENERAL")
    assert sent["response_url"].startswith(rig.fake.base_url + "/hooks/commands/")
    mine = (await rig.state("U_OSCAR"))["messages"]["C_GENERAL"]
    assert [m["text"] for m in mine if m["ephemeral"]] == ["hello *oscar*"]
    theirs = (await rig.state("U_ADAM"))["messages"]["C_GENERAL"]
    assert not any(m["ephemeral"] for m in theirs)


async def test_what_slack_refuses_never_reaches_dockbell(rig: Rig) -> None:
    before = len(rig.bot.received)
    other = await rig.post("/api/send", {"as": "U_OSCAR", "channel": "C_GENERAL", "text": "/kubectl get pods"})
    assert other["ok"] is False and "/kubectl is not a valid command" in other["error"]
    parent = rig.fake.workspace.post(Message(rig.fake.workspace.next_ts(), "C_GENERAL", "a thread"))
    threaded = await rig.post(
        "/api/send", {"as": "U_OSCAR", "channel": "C_GENERAL", "text": "/docker ps", "thread_ts": parent.ts}
    )
    assert threaded["ok"] is False and "not supported in threads" in threaded["error"]
    elsewhere = await rig.post("/api/send", {"as": "U_OSCAR", "channel": "D_ADAM", "text": "/docker ps"})
    assert elsewhere == {"ok": False, "error": "you are not in that conversation"}
    assert len(rig.bot.received) == before


async def test_an_app_that_fails_its_ack_gets_slacks_words(rig: Rig) -> None:
    rig.bot.reply = (500, None)
    answer = await rig.post("/api/send", {"as": "U_OSCAR", "channel": "C_GENERAL", "text": "/docker ps"})
    assert answer == {"ok": False, "error": '/docker failed with the error "dispatch_failed"'}


# --- messages: mentions and DMs ----------------------------------------------------------------------


async def test_a_mention_is_an_app_mention_event_and_the_message_is_in_the_channel(rig: Rig) -> None:
    typed = {"as": "U_ALICE", "channel": "C_GENERAL", "text": "@dockbell logs web | head <3"}
    answer = await rig.post("/api/send", typed)
    assert answer["ok"] is True
    event = rig.bot.received[-1]["event"]
    assert event["type"] == "app_mention" and event["user"] == "U_ALICE"
    assert event["text"] == "<@U_BOT> logs web | head &lt;3"  # Slack escapes what people type
    shown = (await rig.state("U_VERA"))["messages"]["C_GENERAL"]
    assert any(m["user"] == "U_ALICE" and m["ts"] == event["ts"] and not m["bot"] for m in shown)


async def test_a_dm_is_a_message_im_event_and_plain_chatter_is_only_posted(rig: Rig) -> None:
    dm = next(c["id"] for c in (await rig.state("U_VERA"))["conversations"] if c["kind"] == "dm")
    await rig.post("/api/send", {"as": "U_VERA", "channel": dm, "text": "ps"})
    event = rig.bot.received[-1]["event"]
    assert (event["type"], event["channel_type"], event["text"]) == ("message", "im", "ps")
    before = len(rig.bot.received)
    await rig.post("/api/send", {"as": "U_VERA", "channel": "C_GENERAL", "text": "lunch?"})
    assert len(rig.bot.received) == before  # dockbell reads mentions in channels, not chatter
    assert any(m["text"] == "lunch?" for m in (await rig.state("U_OSCAR"))["messages"]["C_GENERAL"])


# --- buttons, modals, files --------------------------------------------------------------------------


async def test_a_click_is_signed_block_actions_from_the_person_acting(rig: Rig) -> None:
    posted = rig.fake.workspace.post(Message(rig.fake.workspace.next_ts(), "C_GENERAL", "approve?", APPROVE))
    answer = await rig.post("/api/click", {"as": "U_ADAM", "ts": posted.ts, "action_id": "approve"})
    assert answer["ok"] is True
    payload = rig.bot.received[-1]
    assert payload["type"] == "block_actions" and payload["user"]["id"] == "U_ADAM"
    assert payload["container"]["message_ts"] == posted.ts and payload["actions"][0]["action_id"] == "approve"
    gone = await rig.post("/api/click", {"as": "U_ADAM", "ts": posted.ts, "action_id": "deny"})
    assert gone == {"ok": False, "error": "that button is no longer there"}


async def test_nobody_clicks_in_someone_elses_ephemeral(rig: Rig) -> None:
    ws = rig.fake.workspace
    private = Ephemeral(ws.next_ts(), "C_GENERAL", "U_OSCAR", "share?", APPROVE)
    ws.ephemerals.append(private)
    before = len(rig.bot.received)
    answer = await rig.post("/api/click", {"as": "U_ADAM", "ts": private.ts, "action_id": "approve"})
    assert answer == {"ok": False, "error": "that message is not yours"} and len(rig.bot.received) == before


async def test_a_modal_is_shown_to_its_person_submitted_as_view_submission_and_closed(rig: Rig) -> None:
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Deny"}, "callback_id": "deny", "blocks": []}
    rig.fake.workspace.views["V1"] = OpenView("V1", "U_ADAM", view, "h1")
    assert [v["id"] for v in (await rig.state("U_ADAM"))["views"]] == ["V1"]
    assert (await rig.state("U_OSCAR"))["views"] == []
    rig.bot.reply = (200, None)
    answer = await rig.post("/api/submit", {"as": "U_ADAM", "view_id": "V1", "values": {"r": {"reason": "not now"}}})
    assert answer["ok"] is True
    submitted = rig.bot.received[-1]
    assert submitted["type"] == "view_submission"
    assert submitted["view"]["state"]["values"]["r"]["reason"]["value"] == "not now"
    assert (await rig.state("U_ADAM"))["views"] == []  # an empty ack closes it, as in Slack
    rig.fake.workspace.views["V2"] = OpenView("V2", "U_ADAM", view, "h2")
    await rig.post("/api/close", {"as": "U_ADAM", "view_id": "V2"})
    assert (await rig.state("U_ADAM"))["views"] == []


async def test_files_are_served_as_plain_text_inline_or_as_a_download(rig: Rig) -> None:
    upload = UploadedFile("F1", "web.log", 20, "t1", content=b"<script>x</script>\n", uploaded=True, completed=True)
    rig.fake.workspace.files["F1"] = upload
    rig.fake.workspace.post(Message(rig.fake.workspace.next_ts(), "C_GENERAL", "", files=["F1"]))
    listed = [f for m in (await rig.state("U_VERA"))["messages"]["C_GENERAL"] for f in m["files"]]
    assert listed[-1]["url"] == "/files/F1/web.log" and listed[-1]["size"] == 19
    inline = await rig.client.get("/files/F1/web.log")
    assert inline.content_type == "text/plain" and inline.headers["X-Content-Type-Options"] == "nosniff"
    assert inline.headers["Content-Disposition"].startswith("inline")
    assert await inline.read() == upload.content
    download = await rig.client.get("/files/F1/web.log", params={"download": "1"})
    assert download.headers["Content-Disposition"] == 'attachment; filename="web.log"'
    assert (await rig.client.get("/files/F9/x")).status == 404


async def test_the_websocket_pushes_a_new_view_after_each_change(rig: Rig) -> None:
    async with rig.client.ws_connect("/ws", params={"as": "U_VERA"}) as ws:
        first = json.loads((await ws.receive(timeout=5)).data)
        assert first["me"] == "U_VERA"
        rig.fake.workspace.post(Message(rig.fake.workspace.next_ts(), "C_ALERTS", "crashed"))
        rig.fake.feed.touch()
        pushed = json.loads((await ws.receive(timeout=5)).data)
        assert pushed["version"] > first["version"]
        assert [m["text"] for m in pushed["messages"]["C_ALERTS"]][-1] == "crashed"


async def test_a_stopped_dockbell_is_said_so_not_shown_as_a_traceback(rig: Rig) -> None:
    actions = Actions(rig.fake, SlackSender(rig.fake, "http://127.0.0.1:9/slack/events", SECRET))
    try:
        outcome = await actions.send("U_OSCAR", "C_GENERAL", "/docker ps", None)
    finally:
        await actions.sender.close()
    assert not outcome.ok and "dockbell is not answering" in outcome.error
