"""`dockbell check` for the ``notifications:`` section: can the bot post in each channel it names?

conversations.info says whether the bot is a member (or the channel is archived); without
membership it may still post in a public channel with ``chat:write.public``.  Nothing is
posted: a check that wrote into alert channels would page people.
"""

from __future__ import annotations

from bot.config import Config
from bot.errors import SlackRefused
from bot.ops.health import Status
from bot.settings import Settings
from bot.slack.paced import PacedSlack


async def notification_channels(settings: Settings, config: Config) -> dict[str, Status]:
    notifications = config.notifications
    if notifications is None:
        return {}
    slack = PacedSlack(settings.slack_bot_token, settings.slack_api_url)
    out: dict[str, Status] = {}
    try:
        scopes = await slack.scopes()
    except Exception as err:
        return {"notify": Status(False, f"cannot reach Slack to check the notification channels: {err}")}
    for channel in notifications.channels:
        out[f"notify {channel}"] = await _one(slack, channel, scopes)
    return out


async def _one(slack: PacedSlack, channel: str, scopes: set[str]) -> Status:
    try:
        info = await slack.channel_info(channel)
    except SlackRefused as err:
        if err.code == "missing_scope":
            return Status(False, f"cannot check {channel}: the app needs channels:read and groups:read")
        if err.code == "channel_not_found":
            return Status(False, f"{channel}: no such channel, or the bot cannot see it (invite it there)")
        return Status(False, f"{channel}: Slack refused to describe it ({err.code})")
    name = f"#{info.get('name')}" if info.get("name") else channel
    if info.get("is_archived"):
        return Status(False, f"{name} ({channel}) is archived: crash notifications cannot be posted there")
    if info.get("is_member"):
        return Status(True, f"crash notifications can be posted in {name} ({channel})")
    if info.get("is_channel") and "chat:write.public" in scopes:
        return Status(True, f"crash notifications can be posted in {name} ({channel}) (chat:write.public)")
    return Status(False, f"dockbell is not in {name} ({channel}): invite it (/invite @dockbell) to post notifications")
