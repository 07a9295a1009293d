"""Everything dockbell sends to Slack goes through here: replies, DMs, file uploads.

Rate limits are handled by slack_sdk's retry handler (it sleeps for Retry-After),
which the SDK does not install by default.

Answers to response_urls share one aiohttp session, so its pool keeps connections to
Slack alive between answers.  Without a session, slack_sdk's webhook client makes a
session, so a new TCP connection and a new TLS handshake with hooks.slack.com, for
every answer: a few round trips on every command.  ``close()`` ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.core.types import ThreadRoute
from bot.errors import ServiceUnavailable, SlackRefused

log = logging.getLogger(__name__)

RESPONSE_TIMEOUT = 10.0  # seconds for one response_url POST (each retry gets as long)


def retry_handlers() -> list[Any]:
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        AsyncServerErrorRetryHandler(max_retry_count=2),
    ]


def web_client(token: str, base_url: str) -> AsyncWebClient:
    client = AsyncWebClient(token=token, base_url=base_url, timeout=10)
    client.retry_handlers = retry_handlers()
    return client


class SlackDeliveryError(ServiceUnavailable):
    """Slack did not take a message; logged, and nothing else can be told to the user."""


class SlackOut:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._session: aiohttp.ClientSession | None = None
        self._session_loop: asyncio.AbstractEventLoop | None = None

    def _response_session(self) -> aiohttp.ClientSession:
        """The session for response_url POSTs, made on first use: aiohttp binds it to the running loop."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._session_loop is not loop:
            # The webhook client passes no timeout of its own with a given session: it is the session's.
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=RESPONSE_TIMEOUT))
            self._session_loop = loop
        return self._session

    async def close(self) -> None:
        """Close the kept-alive connections of response_url POSTs (a later respond() opens new ones)."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def respond(self, response_url: str, message: dict[str, Any]) -> None:
        """Answer through ``response_url``; a message's answer (a ``thread:`` route) goes into its thread."""
        route = ThreadRoute.parse(response_url)
        if route is not None:
            await self._answer_in_thread(route, message)
            return
        # respond() in Bolt never raises on failure, so the status is checked here.
        session = self._response_session()
        webhook = AsyncWebhookClient(
            response_url, session=session, timeout=int(RESPONSE_TIMEOUT), retry_handlers=retry_handlers()
        )
        response = await webhook.send_dict(message)
        if response.status_code != 200:
            raise SlackDeliveryError(f"Slack refused the reply ({response.status_code}: {response.body[:200]})")

    async def _answer_in_thread(self, route: ThreadRoute, message: dict[str, Any]) -> None:
        """A response_url answer, as a post in the thread of the message that asked.

        A message's answers are messages of their own, visible to everyone in the thread (a DM
        is private anyway): there is no ephemeral answer to a mention, and no earlier answer to
        replace or delete, so those keys mean "post" and "nothing to do".
        """
        if message.get("delete_original"):
            return
        body = {k: v for k, v in message.items() if k not in ("response_type", "replace_original")}
        await self.post_message(route.channel_id, body, thread_ts=route.thread_ts or None)

    async def open_dm(self, user_id: str) -> str:
        with refusals():
            result = await self.client.conversations_open(users=user_id)
        return str(result["channel"]["id"])

    async def post_message(self, channel: str, message: dict[str, Any], thread_ts: str | None = None) -> str:
        """Post ``message`` (text, blocks); its ts."""
        args: dict[str, Any] = {**message, **({"thread_ts": thread_ts} if thread_ts else {})}
        with refusals():
            result = await self.client.chat_postMessage(channel=channel, **args)
        return str(result["ts"])

    async def update_message(self, channel: str, ts: str, message: dict[str, Any]) -> None:
        with refusals():
            await self.client.chat_update(channel=channel, ts=ts, **message)

    async def delete_message(self, channel: str, ts: str) -> None:
        with refusals():
            await self.client.chat_delete(channel=channel, ts=ts)

    async def post_ephemeral(self, channel: str, user: str, message: dict[str, Any], thread_ts: str = "") -> None:
        """A message only ``user`` sees in ``channel`` (for answers with no response_url: a modal's submission)."""
        args: dict[str, Any] = {k: v for k, v in message.items() if k not in ("response_type", "replace_original")}
        if thread_ts:
            args["thread_ts"] = thread_ts
        with refusals():
            await self.client.chat_postEphemeral(channel=channel, user=user, **args)

    async def permalink(self, channel: str, ts: str) -> str:
        with refusals():
            result = await self.client.chat_getPermalink(channel=channel, message_ts=ts)
        return str(result["permalink"])

    async def open_view(self, trigger_id: str, view: dict[str, Any]) -> str:
        """views.open: a modal for the person whose click gave ``trigger_id`` (valid for 3 s); its view id."""
        with refusals():
            result = await self.client.views_open(trigger_id=trigger_id, view=view)
        return str(result["view"]["id"])

    async def upload(
        self,
        *,
        channel: str,
        filename: str,
        content: str | bytes,
        title: str | None = None,
        initial_comment: str | None = None,
        thread_ts: str | None = None,
    ) -> str:
        """Slack's three-step upload; ``content`` is text, or bytes for a binary file (a tarball)."""
        kwargs: dict[str, Any] = {
            "channel": channel,
            "filename": filename,
            # slack_sdk takes text as `content` and bytes as `file`; both end as the same upload.
            ("file" if isinstance(content, bytes) else "content"): content,
            "title": title or filename,
        }
        if initial_comment:
            kwargs["initial_comment"] = initial_comment
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        with refusals():
            result = await self.client.files_upload_v2(**kwargs)
        return str(result["files"][0]["id"])

    async def usergroup_members(self, group_id: str) -> list[str]:
        result = await self.client.usergroups_users_list(usergroup=group_id)
        return [str(u) for u in result.get("users") or []]

    async def auth_test(self) -> dict[str, Any]:
        result = await self.client.auth_test()
        return dict(result.data) if isinstance(result.data, dict) else {}


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """slack_sdk's SlackApiError becomes dockbell's SlackRefused, with Slack's error code."""
    try:
        yield
    except SlackApiError as err:
        raise SlackRefused(slack_error_code(err)) from err


def slack_error_code(err: SlackApiError) -> str:
    try:
        return str(err.response["error"])
    except (KeyError, TypeError):
        return "unknown_error"
