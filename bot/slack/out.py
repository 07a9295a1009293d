"""Everything dockbell sends to Slack goes through here: replies, DMs, file uploads.

Rate limits are handled by slack_sdk's retry handler (it sleeps for Retry-After),
which the SDK does not install by default.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.errors import ServiceUnavailable, SlackRefused

log = logging.getLogger(__name__)


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

    async def respond(self, response_url: str, message: dict[str, Any]) -> None:
        # respond() in Bolt never raises on failure, so the status is checked here.
        webhook = AsyncWebhookClient(response_url, timeout=10, retry_handlers=retry_handlers())
        response = await webhook.send_dict(message)
        if response.status_code != 200:
            raise SlackDeliveryError(f"Slack refused the reply ({response.status_code}: {response.body[:200]})")

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

    async def upload(
        self,
        *,
        channel: str,
        filename: str,
        content: str,
        title: str | None = None,
        initial_comment: str | None = None,
        thread_ts: str | None = None,
    ) -> str:
        kwargs: dict[str, Any] = {
            "channel": channel,
            "filename": filename,
            "content": content,
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
