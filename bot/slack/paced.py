"""Slack calls for crash notifications, with 429s handed back instead of slept through.

slack_sdk's rate-limit handler (bot/slack/out.py) sleeps for Retry-After inside the call,
which would hold a notification while later events for it pile up.  The watcher's delivery
(bot/jobs/watcher/delivery.py) paces itself and wants the 429: it keeps the message pending,
folds what comes meanwhile into it, and sends when Retry-After has passed.  Connection and
server errors are still retried here, as everywhere.
"""

from __future__ import annotations

from typing import Any, Literal

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import SlackRefused
from bot.slack.out import slack_error_code


class RateLimited(SlackRefused):
    """Slack answered 429; ``retry_after`` seconds must pass before the next call to that channel."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("ratelimited")
        self.retry_after = retry_after


class PacedSlack:
    def __init__(self, token: str, base_url: str) -> None:
        self.client = AsyncWebClient(token=token, base_url=base_url, timeout=10)
        self.client.retry_handlers = [
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ]
        self.rate_limited = 0  # 429s received, for metrics and the benchmark

    async def post(self, channel: str, message: dict[str, Any], thread_ts: str | None = None) -> str:
        args = {**message, **({"thread_ts": thread_ts} if thread_ts else {})}
        with self._refusals():
            result = await self.client.chat_postMessage(channel=channel, **args)
        return str(result["ts"])

    async def update(self, channel: str, ts: str, message: dict[str, Any]) -> None:
        with self._refusals():
            await self.client.chat_update(channel=channel, ts=ts, **message)

    async def channel_info(self, channel: str) -> dict[str, Any]:
        """conversations.info's channel (is_member, is_archived...), for `dockbell check`."""
        with self._refusals():
            result = await self.client.conversations_info(channel=channel)
        return dict(result.get("channel") or {})

    async def scopes(self) -> set[str]:
        """The token's scopes, as Slack lists them on every answer."""
        result = await self.client.auth_test()
        header = result.headers.get("x-oauth-scopes") or result.headers.get("X-OAuth-Scopes") or ""
        if isinstance(header, list):
            header = ",".join(header)
        return {s.strip() for s in str(header).split(",") if s.strip()}

    def _refusals(self) -> _Refusals:
        return _Refusals(self)


class _Refusals:
    def __init__(self, owner: PacedSlack) -> None:
        self.owner = owner

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, err: BaseException | None, tb: object) -> Literal[False]:
        if not isinstance(err, SlackApiError):
            return False
        response = err.response
        if getattr(response, "status_code", 200) == 429:
            self.owner.rate_limited += 1
            raw = (response.headers or {}).get("Retry-After") or (response.headers or {}).get("retry-after") or "1"
            if isinstance(raw, list):
                raw = raw[0]
            try:
                wait = max(float(raw), 0.5)
            except ValueError:
                wait = 1.0
            raise RateLimited(wait) from err
        raise SlackRefused(slack_error_code(err)) from err
