"""The Slack adapter: a Bolt AsyncApp whose listeners only translate Bolt's arguments."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.types import Requester
from bot.jobs.runner import CommandService
from bot.slack.render import CANCEL_ACTION, SHARE_ACTION
from bot.workloop import WorkLoop


def build_bolt_app(
    *,
    client: AsyncWebClient,
    signing_secret: str,
    service: CommandService,
    work: WorkLoop,
    socket_mode: bool = False,
) -> AsyncApp:
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret or None,
        # Socket Mode connections are authenticated by the app token; HTTP requests by their signature.
        request_verification_enabled=not socket_mode,
        process_before_response=False,
    )

    @app.command("/docker")
    async def on_docker(ack: AsyncAck, command: dict[str, Any]) -> None:
        # Ack first: Slack gives 3 seconds and shows an error after that.
        await ack()
        requester = Requester(
            user_id=command["user_id"],
            channel_id=command.get("channel_id", ""),
            team_id=command.get("team_id", ""),
            user_name=command.get("user_name", ""),
        )
        work.submit(service.handle_command(requester, command.get("text", ""), command["response_url"]))

    @app.action(CANCEL_ACTION)
    async def on_cancel(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        work.submit(service.handle_cancel(_clicker(body), str(action.get("value", "")), body["response_url"]))

    @app.action(SHARE_ACTION)
    async def on_share(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        work.submit(service.handle_share(_clicker(body), str(action.get("value", "")), body["response_url"]))

    return app


def _clicker(body: dict[str, Any]) -> Requester:
    """Who clicked: a button's payload names the clicker, who may not be who asked."""
    return Requester(
        user_id=body["user"]["id"],
        channel_id=(body.get("channel") or {}).get("id", ""),
        team_id=(body.get("team") or {}).get("id", ""),
        user_name=body["user"].get("username", ""),
    )


def bolt_request(raw_body: str, query: str, headers: dict[str, str]) -> AsyncBoltRequest:
    """An AsyncBoltRequest that survives a slash command whose text contains "payload".

    Bolt's parse_body treats any form body containing the substring "payload" as an
    interactivity payload and parses it to {} (so `/docker logs payload-api` would be
    answered 404).  When that happened and the form has no real payload field, parse
    the form ourselves.
    """
    request = AsyncBoltRequest(body=raw_body, query=query, headers=headers)  # type: ignore[arg-type]
    if not request.body and raw_body and not raw_body.startswith("{"):
        fields = dict(parse_qsl(raw_body, keep_blank_values=True))
        if "payload" not in fields:
            request.body = fields
            request.context = build_async_context(AsyncBoltContext({}), request.body)
    return request
