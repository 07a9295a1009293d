"""Slack's part of serve's readiness: the bot token works (auth.test, cached: it is rate limited)."""

from __future__ import annotations

from bot.ops.health import Check, Status, cached
from bot.slack.out import SlackOut

AUTH_CACHE_SECONDS = 60.0


def auth_check(slack: SlackOut, cache_seconds: float = AUTH_CACHE_SECONDS) -> Check:
    async def run() -> Status:
        try:
            info = await slack.auth_test()
        except Exception as err:
            return Status(False, f"Slack auth.test failed: {err}")
        return Status(True, f"Slack team {info.get('team', '?')} as {info.get('user', '?')}")

    return cached(run, cache_seconds)
