"""The fake Slack's views.open and chat.getPermalink against the real slack_sdk client: Slack's contract.

views.open takes a trigger_id Slack sent with an interaction, once, within 3 seconds of it
(slack-platform.md §1.1); the modal belongs to the user who interacted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.fakeslack import FakeSlack

pytestmark = pytest.mark.asyncio(loop_scope="session")

MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "cb",
    "private_metadata": "local/a-0123456789",
    "title": {"type": "plain_text", "text": "Deny request"},
    "submit": {"type": "plain_text", "text": "Deny"},
    "blocks": [
        {
            "type": "input",
            "block_id": "reason",
            "optional": True,
            "label": {"type": "plain_text", "text": "Reason"},
            "element": {"type": "plain_text_input", "action_id": "reason"},
        }
    ],
}


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest_asyncio.fixture(loop_scope="session")
async def clocked() -> AsyncIterator[tuple[FakeSlack, AsyncWebClient, Clock]]:
    clock = Clock()
    fake = FakeSlack(clock=clock)
    await fake.start()
    yield fake, AsyncWebClient(token=fake.bot_token, base_url=fake.api_url), clock
    await fake.stop()


async def _error(call: Any) -> str:
    with pytest.raises(SlackApiError) as err:
        await call
    return str(err.value.response["error"])


async def test_views_open_takes_a_fresh_trigger_once(clocked: tuple[FakeSlack, AsyncWebClient, Clock]) -> None:
    fake, client, clock = clocked
    trigger = fake.workspace.issue_trigger("111.222.abc", "U_BOB")
    opened = await client.views_open(trigger_id=trigger, view=MODAL)
    view = opened["view"]
    assert view["id"].startswith("V") and view["private_metadata"] == "local/a-0123456789"
    assert view["state"] == {"values": {}} and view["hash"]
    assert fake.views[view["id"]].user == "U_BOB"
    assert await _error(client.views_open(trigger_id=trigger, view=MODAL)) == "exchanged_trigger_id"
    assert await _error(client.views_open(trigger_id="999.1.x", view=MODAL)) == "invalid_trigger_id"
    late = fake.workspace.issue_trigger("111.333.abc", "U_BOB")
    clock.now += 3.5
    assert await _error(client.views_open(trigger_id=late, view=MODAL)) == "expired_trigger_id"


async def test_views_open_checks_the_modal(clocked: tuple[FakeSlack, AsyncWebClient, Clock]) -> None:
    fake, client, _ = clocked
    for bad in (
        {**MODAL, "type": "home"},
        {**MODAL, "title": {"type": "plain_text", "text": "a title longer than 24 chars"}},
        {k: v for k, v in MODAL.items() if k != "submit"},  # an input block needs a submit button
    ):
        trigger = fake.workspace.issue_trigger(f"1.{len(fake.workspace.triggers)}.x", "U_BOB")
        assert await _error(client.views_open(trigger_id=trigger, view=bad)) == "invalid_arguments"


async def test_permalink_of_a_message(clocked: tuple[FakeSlack, AsyncWebClient, Clock]) -> None:
    _, client, _ = clocked
    posted = await client.chat_postMessage(channel="C_GENERAL", text="hello")
    link = await client.chat_getPermalink(channel="C_GENERAL", message_ts=posted["ts"])
    assert link["permalink"] == f"https://fake.slack.com/archives/C_GENERAL/p{posted['ts'].replace('.', '')}"
    assert await _error(client.chat_getPermalink(channel="C_GENERAL", message_ts="1.000009")) == "message_not_found"
