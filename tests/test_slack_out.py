"""SlackOut.respond: answers to response_urls share one session, so kept-alive connections are reused.

A local aiohttp server plays the response_url host and notes which connection (client
address and port) each POST came on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from bot.slack.out import SlackDeliveryError, SlackOut, web_client

pytestmark = pytest.mark.integration  # an HTTP server on 127.0.0.1 in the test's own fixture

MESSAGE = {"text": "hello", "response_type": "ephemeral"}


@dataclass
class Hooks:
    url: str = ""
    posts: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)
    status: int = 200
    close_each: bool = False  # answer with Connection: close, as a server ending keep-alive would

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.posts.append(
            (request.transport.get_extra_info("peername") if request.transport else None, await request.json())
        )
        response = web.Response(text="ok" if self.status == 200 else "no_service", status=self.status)
        if self.close_each:
            response.force_close()
        return response

    @property
    def peers(self) -> list[Any]:
        return [peer for peer, _ in self.posts]


@pytest_asyncio.fixture
async def hooks() -> AsyncIterator[Hooks]:
    state = Hooks()
    app = web.Application()
    app.router.add_post("/hooks/{tail:.+}", state.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hooks/T1/B1/abc"
    yield state
    await runner.cleanup()


def slack_out() -> SlackOut:
    return SlackOut(web_client("xoxb-test", "http://127.0.0.1:9/api/"))


async def test_answers_reuse_one_connection(hooks: Hooks) -> None:
    slack = slack_out()
    try:
        for i in range(3):
            await slack.respond(hooks.url, {**MESSAGE, "text": f"answer {i}"})
    finally:
        await slack.close()
    assert [body["text"] for _, body in hooks.posts] == ["answer 0", "answer 1", "answer 2"]
    assert len(set(hooks.peers)) == 1, f"expected one kept-alive connection, got {hooks.peers}"


async def test_a_connection_the_server_closed_is_replaced(hooks: Hooks) -> None:
    hooks.close_each = True
    slack = slack_out()
    try:
        for _ in range(3):
            await slack.respond(hooks.url, MESSAGE)
    finally:
        await slack.close()
    assert len(hooks.posts) == 3
    assert len(set(hooks.peers)) == 3


async def test_a_refused_answer_still_raises(hooks: Hooks) -> None:
    hooks.status = 404
    slack = slack_out()
    try:
        with pytest.raises(SlackDeliveryError, match="404"):
            await slack.respond(hooks.url, MESSAGE)
    finally:
        await slack.close()


async def test_respond_after_close_opens_a_new_session(hooks: Hooks) -> None:
    slack = slack_out()
    await slack.respond(hooks.url, MESSAGE)
    await slack.close()
    await slack.close()  # twice is harmless
    await slack.respond(hooks.url, MESSAGE)
    await slack.close()
    assert len(hooks.posts) == 2
    assert hooks.peers[0] != hooks.peers[1]


async def test_a_second_event_loop_gets_its_own_session(hooks: Hooks) -> None:
    # aiohttp binds a session to the loop that made it: a SlackOut used from another loop
    # (a test's, a thread's) must not hand it the first loop's session.
    slack = slack_out()
    await slack.respond(hooks.url, MESSAGE)

    def elsewhere() -> None:
        async def run() -> None:
            other = SlackOut(slack.client)
            other._session, other._session_loop = slack._session, slack._session_loop  # as if made on our loop
            await other.respond(hooks.url, MESSAGE)
            await other.close()

        asyncio.run(run())

    await asyncio.to_thread(elsewhere)
    await slack.close()
    assert len(hooks.posts) == 2
