"""The Slack adapter: a Bolt AsyncApp whose listeners ack, then hand the request to the inbox.

Nothing here reads Docker or renders Docker data; a listener turns Bolt's arguments
into a Requester and one inbox call.  Every interactive payload is acked, including
ones no listener handles (Slack shows the clicker an error after 3 s otherwise).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Coroutine
from typing import Any, Protocol
from urllib.parse import parse_qsl

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.types import Requester, ThreadRoute
from bot.ops.metrics import Metrics
from bot.slack.messages import addressed
from bot.slack.render import CANCEL_ACTION, SHARE_ACTION
from bot.slack.render_approvals import APPROVE_ACTION, DENY_ACTION, DENY_VIEW, reason_from
from bot.slack.render_notifications import ACTIONS as NOTIFICATION_ACTIONS
from bot.slack.render_streams import ACTIONS as STREAM_ACTIONS

log = logging.getLogger(__name__)

# The buttons whose clicks go to a worker; any other action_id is acked and logged.
WORKER_ACTIONS = (CANCEL_ACTION, SHARE_ACTION, APPROVE_ACTION, DENY_ACTION, *NOTIFICATION_ACTIONS, *STREAM_ACTIONS)


class Handoff:
    """The work a listener starts after its ack: owned here, so none is lost or left running.

    Bolt answers Slack when the listener returns (``process_before_response=True``); the
    inbox call then runs as a task of its own.  Bolt's other mode holds every ack in a
    10 ms polling sleep, which is most of the framework's floor.
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (err := task.exception()) is not None:
            log.error("work after an ack failed", exc_info=err)

    async def drain(self, timeout: float = 10.0) -> None:
        """Let acked requests reach the queue before the process stops."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)


class Inbox(Protocol):
    async def command(self, requester: Requester, text: str, response_url: str) -> None: ...

    async def click(
        self,
        requester: Requester,
        action: str,
        value: str,
        response_url: str,
        trigger_id: str = "",
        thread_ts: str = "",
    ) -> None: ...

    async def submission(self, requester: Requester, callback: str, value: str, reason: str, key: str) -> None: ...

    async def message(self, requester: Requester, text: str, route: ThreadRoute, typed_in: str = "") -> bool: ...


def build_bolt_app(
    *,
    client: AsyncWebClient,
    signing_secret: str,
    inbox: Inbox,
    metrics: Metrics,
    handoff: Handoff,
    socket_mode: bool = False,
) -> AsyncApp:
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret or None,
        # Socket Mode connections are authenticated by the app token; HTTP requests by their signature.
        request_verification_enabled=not socket_mode,
        process_before_response=True,
    )

    @app.command("/docker")
    async def on_docker(ack: AsyncAck, command: dict[str, Any]) -> None:
        # Ack first: Slack gives 3 seconds and shows an error after that.
        await ack()
        metrics.received.labels(kind="command").inc()
        requester = Requester(
            user_id=command["user_id"],
            channel_id=command.get("channel_id", ""),
            team_id=command.get("team_id", ""),
            user_name=command.get("user_name", ""),
        )
        handoff.start(inbox.command(requester, command.get("text", ""), command["response_url"]), "enqueue command")

    @app.action(re.compile("^(" + "|".join(map(re.escape, WORKER_ACTIONS)) + ")$"))
    async def on_button(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        metrics.received.labels(kind="click").inc()
        click = inbox.click(
            clicker(body),
            str(action.get("action_id", "")),
            str(action.get("value", "")),
            body["response_url"],
            str(body.get("trigger_id", "")),  # the Deny form opens from it, on the worker
            clicked_thread(body),
        )
        handoff.start(click, "enqueue click")

    @app.view(DENY_VIEW)
    async def on_deny_form(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ack()  # an empty ack closes the modal; the worker answers in the channel
        metrics.received.labels(kind="view").inc()
        key = f"{view.get('id', '')}:{view.get('hash', '')}"
        form = inbox.submission(clicker(body), DENY_VIEW, str(view.get("private_metadata", "")), reason_from(view), key)
        handoff.start(form, "enqueue form")

    async def on_message_event(
        ack: AsyncAck, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        # Ack first, whatever the event: Slack retries an event whose ack is late or not 2xx.
        await ack()
        bot_user = context.bot_user_id or _authorized_user(body)
        found = addressed(event, bot_user, str(body.get("team_id") or ""))
        if found is None:
            metrics.received.labels(kind="ignored").inc()
            return
        metrics.received.labels(kind="dm" if found.direct else "mention").inc()
        work = inbox.message(found.requester, found.text, found.route, found.typed_in)
        handoff.start(_discard(work), "enqueue message")

    # A mention in a channel; a DM ("message.im").  Edits, deletions, bots' and dockbell's own
    # messages arrive as message events too, and are acked and dropped (bot/slack/messages.py).
    app.event("app_mention")(on_message_event)
    app.event("message")(on_message_event)

    @app.action(re.compile(".*"))
    async def on_other_action(ack: AsyncAck, action: dict[str, Any]) -> None:
        await ack()
        metrics.received.labels(kind="unhandled").inc()
        log.info("acked an interactive payload no listener handles: action_id=%r", action.get("action_id"))

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.exception("a Slack listener failed (request type %s)", body.get("type"), exc_info=error)

    return app


async def _discard(work: Coroutine[Any, Any, bool]) -> None:
    await work


def _authorized_user(body: dict[str, Any]) -> str:
    """dockbell's own user ID, as the event's ``authorizations`` name it (when Bolt's context has none)."""
    for auth in body.get("authorizations") or []:
        if isinstance(auth, dict) and auth.get("is_bot"):
            return str(auth.get("user_id") or "")
    return ""


def clicked_thread(body: dict[str, Any]) -> str:
    """The thread of the message clicked: its own ts when it is a thread's root; "" for an ephemeral one."""
    container = body.get("container") or {}
    if container.get("is_ephemeral"):
        return ""
    return str(container.get("thread_ts") or container.get("message_ts") or "")


def clicker(body: dict[str, Any]) -> Requester:
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
