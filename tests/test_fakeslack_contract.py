"""Contract tests: the fake Slack driven by the real slack_sdk clients (and a real Bolt app).

If slack_sdk changes what it sends, or the fake drifts from Slack's answers, these fail before
the bot's own tests start lying.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.fakeslack import (
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_SCOPES,
    Ephemeral,
    FakeSlack,
    Message,
    SlackSender,
    validate_blocks,
)

# The fake against the real slack_sdk and Bolt, over HTTP on 127.0.0.1 (most tests start their own fake).
pytestmark = pytest.mark.integration

SECRET = "contract-signing-secret"


@dataclass
class ManualClock:
    now: float = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # slack_sdk ignores NO_PROXY: a proxy in the environment would swallow 127.0.0.1 traffic
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="module")
async def module_fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def fake(module_fake: FakeSlack) -> FakeSlack:
    module_fake.reset()
    return module_fake


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)


@pytest.fixture
async def clocked() -> AsyncIterator[tuple[FakeSlack, ManualClock]]:
    clock = ManualClock()
    async with FakeSlack(clock=clock) as fake:
        yield fake, clock


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def approve_blocks() -> list[dict[str, Any]]:
    return [
        section("Restart *web*?"),
        {
            "type": "actions",
            "block_id": "approval",
            "elements": [
                {
                    "type": "button",
                    "action_id": "approve",
                    "text": {"type": "plain_text", "text": "Approve"},
                    "value": "restart:web",
                    "style": "primary",
                },
                {
                    "type": "button",
                    "action_id": "deny",
                    "text": {"type": "plain_text", "text": "Deny"},
                    "value": "restart:web",
                    "style": "danger",
                },
            ],
        },
    ]


async def api_error(coro: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await coro
    return caught.value


async def raw_post(fake: FakeSlack, method: str, data: bytes, headers: dict[str, str]) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(fake.api_url + method, data=data, headers=headers) as response,
    ):
        assert response.status == 200
        body: dict[str, Any] = await response.json()
        return body


# --- auth, scopes, generic behaviour ---------------------------------------------------------


async def test_auth_test_shape_and_scopes_header(fake: FakeSlack, client: AsyncWebClient) -> None:
    response = await client.auth_test(team_id="T_TEST")  # Bolt adds team_id; must be tolerated
    assert response.data == {
        "ok": True,
        "url": "https://fake.slack.com/",
        "team": "Fake",
        "user": "dockerbot",
        "team_id": "T_TEST",
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }
    assert set(response.headers["x-oauth-scopes"].split(",")) == set(DEFAULT_SCOPES)
    call = fake.calls[-1]
    assert (call.method, call.args, call.http_status) == ("auth.test", {"team_id": "T_TEST"}, 200)
    assert call.headers["Authorization"] == f"Bearer {fake.bot_token}"


async def test_missing_token_is_not_authed(fake: FakeSlack) -> None:
    error = await api_error(AsyncWebClient(base_url=fake.api_url).auth_test())
    assert error.response["error"] == "not_authed"


async def test_wrong_token_is_invalid_auth(fake: FakeSlack) -> None:
    error = await api_error(AsyncWebClient(token="xoxb-nope", base_url=fake.api_url).auth_test())
    assert error.response["error"] == "invalid_auth"
    assert "x-oauth-scopes" in error.response.headers


async def test_revoked_token(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.revoke_token()
    assert (await api_error(client.auth_test())).response["error"] == "token_revoked"


async def test_token_as_form_argument_is_accepted(fake: FakeSlack) -> None:
    response = await AsyncWebClient(base_url=fake.api_url).api_call("auth.test", data={"token": fake.bot_token})
    assert response["ok"] is True
    assert "token" not in fake.calls[-1].args


async def test_token_inside_json_body_is_ignored_like_slack(fake: FakeSlack) -> None:
    body = json.dumps({"token": fake.bot_token, "channel": "C_GENERAL", "text": "hi"}).encode()
    answer = await raw_post(fake, "chat.postMessage", body, {"Content-Type": "application/json"})
    assert answer == {"ok": False, "error": "not_authed"}


async def test_missing_scope_reports_needed_and_provided() -> None:
    async with FakeSlack(scopes=("commands", "users:read")) as fake:
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        error = await api_error(client.chat_postMessage(channel="C_GENERAL", text="hi"))
    assert error.response.data == {
        "ok": False,
        "error": "missing_scope",
        "needed": "chat:write",
        "provided": "commands,users:read",
    }


async def test_unknown_method(client: AsyncWebClient) -> None:
    error = await api_error(client.api_call("docker.ps"))
    assert error.response.status_code == 200
    assert error.response["error"] == "unknown_method"


async def test_content_type_errors(fake: FakeSlack) -> None:
    auth = {"Authorization": f"Bearer {fake.bot_token}"}
    # aiohttp labels bytes application/octet-stream unless told not to
    async with (
        aiohttp.ClientSession() as session,
        session.post(fake.api_url + "auth.test", data=b"a=1", headers=auth, skip_auto_headers=["Content-Type"]) as r,
    ):
        no_type = await r.json()
    octets = await raw_post(fake, "auth.test", b"a=1", auth)
    xml = await raw_post(fake, "auth.test", b"<a/>", {**auth, "Content-Type": "text/xml"})
    bad_json = await raw_post(fake, "auth.test", b"{nope", {**auth, "Content-Type": "application/json"})
    charset = await raw_post(fake, "auth.test", b"a=1", {**auth, "Content-Type": "text/plain; charset=koi8-r"})
    assert no_type["error"] == "missing_post_type"
    assert octets["error"] == xml["error"] == "invalid_post_type"
    assert bad_json["error"] == "invalid_json"
    assert charset["error"] == "invalid_charset"


async def test_args_merge_query_form_and_json_encoded_blocks(fake: FakeSlack, client: AsyncWebClient) -> None:
    blocks = [section("from a form")]
    await client.api_call(
        "chat.postMessage",
        params={"channel": "C_GENERAL"},
        data={"text": "form text", "blocks": json.dumps(blocks)},
    )
    call = await fake.wait_for_call("chat.postMessage")
    assert call.args == {"channel": "C_GENERAL", "text": "form text", "blocks": blocks}
    assert fake.messages["C_GENERAL"][0].blocks == blocks


# --- chat.postMessage ------------------------------------------------------------------------


async def test_post_message_shape_and_storage(fake: FakeSlack, client: AsyncWebClient) -> None:
    blocks = [section("hello *world*")]
    response = await client.chat_postMessage(channel="C_GENERAL", text="hello world", blocks=blocks, team_id="T")
    message = response["message"]
    assert response["ok"] is True and response["channel"] == "C_GENERAL"
    assert message["type"] == "message" and message["ts"] == response["ts"]
    assert (message["text"], message["blocks"], message["bot_id"], message["user"]) == (
        "hello world",
        blocks,
        BOT_ID,
        BOT_USER_ID,
    )
    stored = fake.messages["C_GENERAL"]
    assert [m.ts for m in stored] == [response["ts"]]
    assert stored[0].text == "hello world" and stored[0].thread_ts is None


async def test_post_message_to_channel_name_and_user_dm(fake: FakeSlack, client: AsyncWebClient) -> None:
    by_name = await client.chat_postMessage(channel="#ops", text="hi ops")
    to_user = await client.chat_postMessage(channel="U_BOB", text="hi bob")
    assert by_name["channel"] == "C_OPS"
    assert to_user["channel"].startswith("D")
    assert fake.messages[to_user["channel"]][0].text == "hi bob"


async def test_post_message_threading(fake: FakeSlack, client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel="C_OPS", text="parent")
    reply = await client.chat_postMessage(channel="C_OPS", text="reply", thread_ts=parent["ts"])
    # a reply's ts as thread_ts lands in the parent's thread, as Slack advises
    nested = await client.chat_postMessage(channel="C_OPS", text="nested", thread_ts=reply["ts"])
    assert reply["message"]["thread_ts"] == parent["ts"]
    assert reply["message"]["parent_user_id"] == BOT_USER_ID
    assert nested["message"]["thread_ts"] == parent["ts"]
    assert [m.text for m in fake.thread("C_OPS", parent["ts"])] == ["parent", "reply", "nested"]


async def test_post_message_thread_ts_must_exist_in_that_channel(client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel="C_OPS", text="parent")
    elsewhere = await api_error(client.chat_postMessage(channel="C_GENERAL", text="x", thread_ts=parent["ts"]))
    unknown = await api_error(client.chat_postMessage(channel="C_OPS", text="x", thread_ts="1.000001"))
    assert elsewhere.response["error"] == unknown.response["error"] == "invalid_thread_ts"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"channel": "C_NOPE", "text": "x"}, "channel_not_found"),
        ({"channel": "C_OTHER", "text": "x"}, "not_in_channel"),
        ({"channel": "C_GENERAL", "text": "x", "markdown_text": "**x**"}, "markdown_text_conflict"),
    ],
)
async def test_post_message_errors(client: AsyncWebClient, kwargs: dict[str, Any], error: str) -> None:
    assert (await api_error(client.chat_postMessage(**kwargs))).response["error"] == error


async def test_post_message_without_channel_or_text(client: AsyncWebClient) -> None:
    # api_call skips slack_sdk's "missing text" UserWarning, which pytest turns into an error
    no_channel = await api_error(client.api_call("chat.postMessage", json={"text": "x"}))
    no_text = await api_error(client.api_call("chat.postMessage", json={"channel": "C_GENERAL", "text": ""}))
    assert no_channel.response["error"] == "channel_not_found"
    assert no_text.response["error"] == "no_text"


async def test_post_message_public_channel_with_chat_write_public() -> None:
    async with FakeSlack(scopes=(*DEFAULT_SCOPES, "chat:write.public")) as fake:
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        assert (await client.chat_postMessage(channel="C_OTHER", text="x"))["ok"] is True


async def test_post_message_truncates_at_40000_chars(fake: FakeSlack, client: AsyncWebClient) -> None:
    response = await client.chat_postMessage(channel="C_GENERAL", text="x" * 40_001)
    assert response["response_metadata"]["warnings"] == ["message_truncated"]
    assert len(fake.messages["C_GENERAL"][0].text) == 40_000


async def test_invalid_blocks_over_50_blocks(client: AsyncWebClient) -> None:
    blocks = [section(f"line {i}") for i in range(51)]
    error = await api_error(client.chat_postMessage(channel="C_GENERAL", text="many", blocks=blocks))
    assert error.response.data == {
        "ok": False,
        "error": "invalid_blocks",
        "errors": ["no more than 50 items allowed [json-pointer:/blocks]"],
        "response_metadata": {"messages": ["[ERROR] no more than 50 items allowed [json-pointer:/blocks]"]},
    }


async def test_invalid_blocks_3001_char_section(fake: FakeSlack, client: AsyncWebClient) -> None:
    blocks = [section("ok"), section("y" * 3001)]
    error = await api_error(client.chat_postMessage(channel="C_GENERAL", text="long", blocks=blocks))
    assert error.response["error"] == "invalid_blocks"
    assert error.response["errors"] == ["must be less than 3001 characters [json-pointer:/blocks/1/text/text]"]
    assert fake.messages["C_GENERAL"] == []
    await client.chat_postMessage(channel="C_GENERAL", text="fits", blocks=[section("y" * 3000)])


async def test_invalid_blocks_format(client: AsyncWebClient) -> None:
    error = await api_error(client.api_call("chat.postMessage", data={"channel": "C_GENERAL", "blocks": "[{"}))
    assert error.response["error"] == "invalid_blocks_format"


# --- chat.update / postEphemeral / delete ----------------------------------------------------


async def test_update_keeps_history_and_omitted_fields(fake: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C_OPS", text="v1", blocks=[section("one")])
    updated = await client.chat_update(channel="C_OPS", ts=posted["ts"], text="v2")
    await client.chat_update(channel="C_OPS", ts=posted["ts"], text="v3", blocks=[section("three")])
    assert updated["ok"] is True
    assert (updated["channel"], updated["ts"], updated["text"]) == ("C_OPS", posted["ts"], "v2")
    assert updated["message"]["blocks"] == [section("one")]  # blocks kept when omitted
    message = fake.messages["C_OPS"][0]
    assert [(e.old_text, e.text) for e in message.edits] == [("v1", "v2"), ("v2", "v3")]
    assert message.blocks == [section("three")]


async def test_update_msg_too_long(client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C_OPS", text="short")
    error = await api_error(client.chat_update(channel="C_OPS", ts=posted["ts"], text="z" * 4001))
    assert error.response["error"] == "msg_too_long"
    assert (await client.chat_update(channel="C_OPS", ts=posted["ts"], text="z" * 4000))["ok"]


async def test_update_errors(fake: FakeSlack, client: AsyncWebClient) -> None:
    human = fake.workspace.post(Message(fake.workspace.next_ts(), "C_OPS", "mine", user="U_ALICE", bot_id=None))
    not_ours = await api_error(client.chat_update(channel="C_OPS", ts=human.ts, text="x"))
    missing = await api_error(client.chat_update(channel="C_OPS", ts="1.000001", text="x"))
    eph = await client.chat_postEphemeral(channel="C_OPS", user="U_BOB", text="psst")
    ephemeral = await api_error(client.chat_update(channel="C_OPS", ts=eph["message_ts"], text="x"))
    no_text = await api_error(client.api_call("chat.update", json={"channel": "C_OPS", "ts": human.ts}))
    assert not_ours.response["error"] == "cant_update_message"
    assert missing.response["error"] == ephemeral.response["error"] == "message_not_found"
    assert no_text.response["error"] == "no_text"


async def test_post_ephemeral(fake: FakeSlack, client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel="C_OPS", text="parent")
    response = await client.chat_postEphemeral(channel="C_OPS", user="U_BOB", text="only bob", thread_ts=parent["ts"])
    assert set(response.data) == {"ok", "message_ts"}
    [ephemeral] = fake.ephemerals
    assert (ephemeral.ts, ephemeral.user, ephemeral.text) == (response["message_ts"], "U_BOB", "only bob")
    assert fake.messages["C_OPS"] == [fake.messages["C_OPS"][0]]  # not persisted as a message


async def test_post_ephemeral_errors(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.add_channel("C_SECRET", "secret").members = {"U_ALICE"}
    not_member = await api_error(client.chat_postEphemeral(channel="C_SECRET", user="U_BOB", text="x"))
    unknown = await api_error(client.chat_postEphemeral(channel="C_OPS", user="U_NOBODY", text="x"))
    bot_out = await api_error(client.chat_postEphemeral(channel="C_OTHER", user="U_BOB", text="x"))
    assert not_member.response["error"] == "user_not_in_channel"
    assert unknown.response["error"] == "user_not_found"
    assert bot_out.response["error"] == "not_in_channel"


async def test_delete(fake: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C_OPS", text="bye")
    response = await client.chat_delete(channel="C_OPS", ts=posted["ts"])
    assert response.data == {"ok": True, "channel": "C_OPS", "ts": posted["ts"]}
    assert fake.messages["C_OPS"] == [] and [m.text for m in fake.deleted_messages] == ["bye"]
    again = await api_error(client.chat_delete(channel="C_OPS", ts=posted["ts"]))
    assert again.response["error"] == "message_not_found"
    human = fake.workspace.post(Message(fake.workspace.next_ts(), "C_OPS", "mine", user="U_ALICE", bot_id=None))
    assert (await api_error(client.chat_delete(channel="C_OPS", ts=human.ts))).response["error"] == (
        "cant_delete_message"
    )


# --- conversations / users / usergroups ------------------------------------------------------


async def test_replies_needs_history_scope(client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C_OPS", text="parent")
    error = await api_error(client.conversations_replies(channel="C_OPS", ts=posted["ts"]))
    assert error.response["error"] == "missing_scope"
    assert error.response["needed"] == "channels:history"


async def test_replies_shape_and_pagination(
    fake: FakeSlack, client: AsyncWebClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fake, "scopes", fake.scopes | {"channels:history"})
    parent = await client.chat_postMessage(channel="C_OPS", text="parent")
    for i in range(3):
        await client.chat_postMessage(channel="C_OPS", text=f"r{i}", thread_ts=parent["ts"])
    await client.chat_postEphemeral(channel="C_OPS", user="U_BOB", text="hidden", thread_ts=parent["ts"])
    full = await client.conversations_replies(channel="C_OPS", ts=parent["ts"])
    head, *replies = full["messages"]
    assert [m["text"] for m in full["messages"]] == ["parent", "r0", "r1", "r2"]
    assert (head["reply_count"], head["thread_ts"], head["latest_reply"]) == (3, parent["ts"], replies[-1]["ts"])
    assert all(r["parent_user_id"] == BOT_USER_ID and r["thread_ts"] == parent["ts"] for r in replies)
    assert full["has_more"] is False
    page1 = await client.conversations_replies(channel="C_OPS", ts=parent["ts"], limit=3)
    cursor = page1["response_metadata"]["next_cursor"]
    page2 = await client.conversations_replies(channel="C_OPS", ts=parent["ts"], limit=3, cursor=cursor)
    assert page1["has_more"] is True and len(page1["messages"]) == 3
    assert [m["text"] for m in page2["messages"]] == ["r2"] and page2["has_more"] is False
    missing = await api_error(client.conversations_replies(channel="C_OPS", ts="1.000001"))
    assert missing.response["error"] == "thread_not_found"


async def test_conversations_open(fake: FakeSlack, client: AsyncWebClient) -> None:
    first = await client.conversations_open(users="U_BOB")
    again = await client.conversations_open(users="U_BOB")
    dm = first["channel"]["id"]
    assert dm.startswith("D") and first.data == {"ok": True, "channel": {"id": dm}}
    assert again["already_open"] is True and again["channel"]["id"] == dm
    await client.chat_postMessage(channel=dm, text="private")
    assert fake.messages[dm][0].text == "private"
    assert (await api_error(client.conversations_open(users="U_NOBODY"))).response["error"] == "user_not_found"
    nobody = await api_error(client.api_call("conversations.open"))  # the SDK itself refuses no args
    assert nobody.response["error"] == "users_list_not_supplied"


async def test_conversations_open_needs_im_write() -> None:
    async with FakeSlack(scopes=("chat:write",)) as fake:
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        error = await api_error(client.conversations_open(users="U_BOB"))
    assert (error.response["error"], error.response["needed"]) == ("missing_scope", "im:write")


async def test_users_info(fake: FakeSlack, client: AsyncWebClient) -> None:
    user = (await client.users_info(user="U_ALICE"))["user"]
    assert (user["id"], user["name"], user["team_id"], user["is_bot"], user["deleted"]) == (
        "U_ALICE",
        "alice",
        "T_TEST",
        False,
        False,
    )
    assert user["profile"]["display_name"] == "alice" and user["profile"]["real_name"]
    fake.add_user("U_DAVE", "dave")
    assert (await client.users_info(user="U_DAVE"))["user"]["name"] == "dave"
    assert (await api_error(client.users_info(user="U_NOBODY"))).response["error"] == "user_not_found"
    assert fake.calls[0].headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded")


async def test_usergroups_users_list(fake: FakeSlack, client: AsyncWebClient) -> None:
    assert (await client.usergroups_users_list(usergroup="S_OPS")).data == {"ok": True, "users": ["U_BOB"]}
    fake.set_usergroup("S_OPS", ["U_BOB", "U_CAROL"])
    assert (await client.usergroups_users_list(usergroup="S_OPS"))["users"] == ["U_BOB", "U_CAROL"]
    error = await api_error(client.usergroups_users_list(usergroup="S_NOPE"))
    assert error.response["error"] == "no_such_subteam"


# --- files -----------------------------------------------------------------------------------


async def test_files_upload_v2_full_flow(fake: FakeSlack, client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel="C_OPS", text="logs follow")
    content = "line 1\nline 2 ✓\n"
    response = await client.files_upload_v2(
        content=content,
        filename="web.log",
        title="web logs",
        channel="C_OPS",
        thread_ts=parent["ts"],
        initial_comment="last 2 lines",
    )
    file_id = response["file"]["id"]
    assert response["files"][0]["title"] == "web logs"
    uploaded = fake.files[file_id]
    assert uploaded.content == content.encode() and uploaded.length == len(content.encode())
    assert (uploaded.filename, uploaded.title, uploaded.channel, uploaded.thread_ts) == (
        "web.log",
        "web logs",
        "C_OPS",
        parent["ts"],
    )
    assert uploaded.completed and uploaded.initial_comment == "last 2 lines"
    share = fake.thread("C_OPS", parent["ts"])[-1]
    assert (share.files, share.text, share.thread_ts) == ([file_id], "last 2 lines", parent["ts"])
    assert [c.method for c in fake.calls[1:]] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    assert "Authorization" not in fake.calls[2].headers  # the upload host takes no token


async def test_complete_upload_of_never_uploaded_file(fake: FakeSlack, client: AsyncWebClient) -> None:
    ticket = await client.files_getUploadURLExternal(filename="a.txt", length=3)
    assert ticket["upload_url"].startswith(fake.base_url + "/upload/v1/")
    assert ticket["file_id"].startswith("F")
    error = await api_error(client.files_completeUploadExternal(files=[{"id": ticket["file_id"], "title": "a"}]))
    assert error.response["error"] == "file_not_found"


async def test_upload_url_errors(fake: FakeSlack, client: AsyncWebClient) -> None:
    zero = await api_error(client.files_getUploadURLExternal(filename="a.txt", length=0))
    assert zero.response["error"] == "missing_argument"
    ticket = await client.files_getUploadURLExternal(filename="a.txt", length=3)
    async with aiohttp.ClientSession() as session:
        async with session.post(ticket["upload_url"], data=b"toolong") as wrong_length:
            assert wrong_length.status == 400
        form = aiohttp.FormData()
        form.add_field("file", b"abc", filename="a.txt")
        async with session.post(ticket["upload_url"], data=form) as multipart:
            assert (multipart.status, await multipart.text()) == (200, "OK - 3")
        async with session.post(fake.base_url + "/upload/v1/nope", data=b"x") as unknown:
            assert unknown.status == 404
    assert fake.files[ticket["file_id"]].content == b"abc"


# --- failure injection and rate limits ------------------------------------------------------


async def test_429_surfaces_as_slack_api_error(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.fail_next("chat.postMessage", retry_after=2)
    error = await api_error(client.chat_postMessage(channel="C_GENERAL", text="x"))
    assert error.response.status_code == 429
    assert error.response["error"] == "ratelimited"
    assert error.response.headers["Retry-After"] == "2"
    assert fake.messages["C_GENERAL"] == []


async def test_429_then_success_with_rate_limit_retry_handler(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    fake.fail_next("chat.postMessage", retry_after=1)
    response = await client.chat_postMessage(channel="C_GENERAL", text="eventually")
    assert response["ok"] is True
    assert [c.http_status for c in fake.calls] == [429, 200]
    assert [m.text for m in fake.messages["C_GENERAL"]] == ["eventually"]


async def test_injected_server_error_and_error_code(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.fail_next("users.info", status=503)
    fake.fail_next("users.info", error="fatal_error")
    unavailable = await api_error(client.users_info(user="U_ALICE"))
    fatal = await api_error(client.users_info(user="U_ALICE"))
    assert unavailable.response.status_code == 503
    assert (fatal.response.status_code, fatal.response["error"]) == (200, "fatal_error")
    assert (await client.users_info(user="U_ALICE"))["ok"] is True


async def test_channel_token_bucket(clocked: tuple[FakeSlack, ManualClock]) -> None:
    fake, clock = clocked
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    fake.rate_limit_channel("C_OPS", per_second=1.0, burst=2)
    await client.chat_postMessage(channel="C_OPS", text="1")
    await client.chat_postMessage(channel="C_OPS", text="2")
    limited = await api_error(client.chat_postMessage(channel="C_OPS", text="3"))
    assert (limited.response.status_code, limited.response.headers["Retry-After"]) == (429, "1")
    await client.chat_postMessage(channel="C_GENERAL", text="other channels are not limited")
    clock.advance(1.0)
    assert (await client.chat_postMessage(channel="C_OPS", text="3"))["ok"] is True


# --- response_url ----------------------------------------------------------------------------


async def test_response_url_ephemeral_and_in_channel(fake: FakeSlack) -> None:
    url = fake.new_response_url(channel="C_OPS", user="U_BOB")
    webhook = AsyncWebhookClient(url)
    first = await webhook.send(text="just for bob")
    second = await webhook.send(text="for everyone", response_type="in_channel")
    assert (first.status_code, json.loads(first.body)) == (200, {"ok": True})
    assert second.status_code == 200
    [ephemeral] = fake.ephemerals
    assert (ephemeral.user, ephemeral.channel, ephemeral.text) == ("U_BOB", "C_OPS", "just for bob")
    assert [m.text for m in fake.messages["C_OPS"]] == ["for everyone"]
    post = await fake.wait_for_response(lambda p: p.body.get("response_type") == "in_channel")
    assert (post.url, post.status) == (url, 200)


async def test_response_url_sixth_use_is_used_url(fake: FakeSlack) -> None:
    webhook = AsyncWebhookClient(fake.new_response_url())
    for i in range(5):
        assert (await webhook.send(text=f"update {i}")).status_code == 200
    sixth = await webhook.send(text="one too many")
    assert (sixth.status_code, json.loads(sixth.body)) == (404, {"ok": False, "error": "used_url"})
    assert [p.status for p in fake.response_posts] == [200] * 5 + [404]


async def test_response_url_expires_after_30_minutes(clocked: tuple[FakeSlack, ManualClock]) -> None:
    fake, clock = clocked
    webhook = AsyncWebhookClient(fake.new_response_url())
    clock.advance(30 * 60)
    assert (await webhook.send(text="just in time")).status_code == 200
    clock.advance(1)
    late = await webhook.send(text="too late")
    assert (late.status_code, json.loads(late.body)["error"]) == (404, "expired_url")


async def test_response_url_validation(fake: FakeSlack) -> None:
    webhook = AsyncWebhookClient(fake.new_response_url())
    empty = await webhook.send_dict({"response_type": "ephemeral"})
    too_long = await webhook.send(text="x", blocks=[section("y" * 3001)])
    assert (empty.status_code, json.loads(empty.body)["error"]) == (400, "no_text")
    expected = ["must be less than 3001 characters [json-pointer:/blocks/0/text/text]"]
    assert json.loads(too_long.body)["errors"] == expected
    assert (await webhook.send(text="rejected posts do not count")).status_code == 200


async def test_response_url_replace_and_delete_original(fake: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C_OPS", text="approve?", blocks=approve_blocks())
    url = fake.new_response_url("actions", channel="C_OPS", message_ts=posted["ts"])
    webhook = AsyncWebhookClient(url)
    await webhook.send(text="approved", replace_original=True)
    message = fake.messages["C_OPS"][0]
    assert (message.text, message.blocks) == ("approved", None)
    assert message.edits[0].source == "response_url"
    await webhook.send_dict({"delete_original": True})
    assert fake.messages["C_OPS"] == []


async def test_wait_for_call_waits_and_times_out(fake: FakeSlack, client: AsyncWebClient) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await client.chat_postMessage(channel="C_OPS", text="late")

    task = asyncio.ensure_future(later())
    call = await fake.wait_for_call("chat.postMessage", lambda c: c.args.get("text") == "late", timeout=2)
    await task
    assert call.response["ok"] is True
    with pytest.raises(AssertionError, match=r"no matching chat\.update call; calls:\n  chat\.postMessage -> 200"):
        await fake.wait_for_call("chat.update", timeout=0.05)
    with pytest.raises(AssertionError, match="received:\n  \\(none\\)"):
        await fake.wait_for_response(timeout=0.05)


def test_validate_blocks_rules() -> None:
    button = {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "x" * 76}, "style": "red"}
    blocks: list[Any] = [
        {"type": "header", "text": {"type": "mrkdwn", "text": "h" * 151}},
        {"type": "actions", "elements": [button, {**button, "text": {"type": "plain_text", "text": "ok"}}]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11},
        {"type": "markdown", "text": "m" * 12_001},
        {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": []}]},
        {"type": "carousel"},
    ]
    assert validate_blocks(blocks) == [
        "must be a valid enum value (plain_text) [json-pointer:/blocks/0/text/type]",
        "must be less than 151 characters [json-pointer:/blocks/0/text/text]",
        "must be less than 76 characters [json-pointer:/blocks/1/elements/0/text/text]",
        "must be a valid enum value (danger, primary) [json-pointer:/blocks/1/elements/0/style]",
        "duplicate action_id: a [json-pointer:/blocks/1/elements/1/action_id]",
        "must be a valid enum value (danger, primary) [json-pointer:/blocks/1/elements/1/style]",
        "no more than 10 items allowed [json-pointer:/blocks/2/elements]",
        "no more than 10 items allowed [json-pointer:/blocks/3/fields]",
        "must be less than 12001 characters [json-pointer:/blocks/4/text]",
        "unsupported block type: carousel [json-pointer:/blocks/6/type]",
    ]
    assert validate_blocks(approve_blocks()) == []
    assert validate_blocks({"type": "section"}) == ["expected an array [json-pointer:/blocks]"]


# --- the Slack-client side against a real Bolt app -------------------------------------------


@pytest.fixture
async def bolt_url(fake: FakeSlack) -> AsyncIterator[str]:
    """A minimal real Bolt AsyncApp on aiohttp, talking to the fake: proves our requests pass."""
    app = AsyncApp(client=AsyncWebClient(token=fake.bot_token, base_url=fake.api_url), signing_secret=SECRET)

    @app.command("/docker")
    async def docker(ack: Any, respond: Any, command: dict[str, Any]) -> None:
        await ack(f"working on {command['text']}")
        await respond(text=f"approve {command['text']}?", blocks=approve_blocks())

    @app.action("approve")
    async def approve(ack: Any, respond: Any, body: dict[str, Any]) -> None:
        await ack()
        await respond(text=f"approved by {body['user']['id']}", replace_original=True)

    runner = web.AppRunner(app.web_app(path="/slack/events"))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    await runner.cleanup()


@pytest.fixture
async def sender(fake: FakeSlack, bolt_url: str) -> AsyncIterator[SlackSender]:
    async with SlackSender(fake, bolt_url, SECRET) as slack:
        yield slack


async def test_command_and_click_through_bolt(fake: FakeSlack, sender: SlackSender) -> None:
    ack = (await sender.command("restart web", user_id="U_BOB", channel_id="C_OPS")).assert_ok()
    assert (ack.text, ack.json) == ("working on restart web", None)
    post = await fake.wait_for_response(lambda p: p.url == ack.response_url)
    # Bolt may respond() before the ack reaches Slack, so match by text, not order
    by_text = {e.text: e for e in fake.ephemerals}
    ack_message, question = by_text["working on restart web"], by_text["approve restart web?"]
    assert (ack_message.text, ack_message.user, ack_message.channel) == ("working on restart web", "U_BOB", "C_OPS")
    assert question.ts == post.message_ts and question.blocks == approve_blocks()
    assert fake.calls[0].method == "auth.test"  # Bolt's single-team authorization

    click = (await sender.click(post, "approve", user_id="U_ALICE")).assert_ok()
    assert (click.status, click.text) == (200, "")
    await fake.wait_for_response(lambda p: p.url == click.response_url)
    assert isinstance(question, Ephemeral) and question.text == "approved by U_ALICE"
    assert question.edits[0].old_blocks == approve_blocks()


async def test_click_on_channel_message_sends_message_in_payload(
    fake: FakeSlack, client: AsyncWebClient, sender: SlackSender
) -> None:
    posted = await client.chat_postMessage(channel="C_OPS", text="approve?", blocks=approve_blocks())
    click = await sender.click(fake.messages["C_OPS"][0], "approve")
    assert click.status == 200
    await fake.wait_for_response(lambda p: p.url == click.response_url)
    assert fake.messages["C_OPS"][0].text == "approved by U_ALICE"
    assert fake.messages["C_OPS"][0].ts == posted["ts"]


async def test_bad_stale_and_missing_signatures_get_401(sender: SlackSender) -> None:
    assert (await sender.command("ps", bad_signature=True)).status == 401
    assert (await sender.command("ps", timestamp=1_500_000_000)).status == 401
    assert (await sender.command("ps", sign=False)).status == 401
