"""What the page's person does, sent to dockbell exactly as Slack would send it.

A slash command and a button click are signed requests to serve's /slack/events (through the
fake's SlackSender); a mention is a message in the channel plus a signed Events API
``app_mention`` (``message.im`` in a DM). The outcome is what Slack itself would show when the
app fails to answer: an error line for the composer, never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

from bot.fakeslack import AckResult, FakeSlack, Message, SlackSender
from bot.fakeslack.records import BOT_USER_ID, Ephemeral

from .people import CHANNELS, dm_channel

log = logging.getLogger(__name__)
COMMAND = "/docker"
MENTION = "@dockbell"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str = ""  # what Slack would show the person, when not ok


OK = Outcome(True)


def _ack_outcome(command: str, ack: AckResult) -> Outcome:
    """Slack's words when an app's ack fails (a non-200 or an answer it cannot show)."""
    if ack.status != 200:
        return Outcome(False, f'{command} failed with the error "dispatch_failed"')
    if ack.ack_errors:
        return Outcome(False, f'{command} failed with the error "{ack.ack_errors[0]}"')
    return OK


def visible_channels(fake: FakeSlack, user: str) -> set[str]:
    """Where ``user`` may type: the playground's channels and their own DM with dockbell."""
    return {channel_id for channel_id, _ in CHANNELS} | {dm_channel(fake, user)}


class Actions:
    def __init__(self, fake: FakeSlack, sender: SlackSender) -> None:
        self.fake = fake
        self.sender = sender

    async def send(self, user: str, channel: str, text: str, thread_ts: str | None) -> Outcome:
        """The composer's Enter: a slash command, or a message (a mention when it names dockbell)."""
        text = text.strip()
        if not text:
            return OK
        if channel not in visible_channels(self.fake, user):
            return Outcome(False, "you are not in that conversation")
        try:
            if text.startswith("/"):
                return await self._command(user, channel, text, thread_ts)
            return await self._message(user, channel, text, thread_ts)
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            log.warning("dockbell did not answer: %s", err)
            return Outcome(False, "dockbell is not answering (see the terminal where the playground runs)")

    async def _command(self, user: str, channel: str, text: str, thread_ts: str | None) -> Outcome:
        command, _, rest = text.partition(" ")
        if command != COMMAND:
            return Outcome(False, f"{command} is not a valid command. Try {COMMAND} help")
        if thread_ts is not None:
            # Slack's own limit, the reason mentions exist: slash commands cannot be typed in threads
            return Outcome(False, f"{COMMAND} is not supported in threads. Sorry! Try {MENTION} in the thread")
        ack = await self.sender.command(rest.strip(), user_id=user, channel_id=channel)
        return _ack_outcome(command, ack)

    async def _message(self, user: str, channel: str, text: str, thread_ts: str | None) -> Outcome:
        """A DM goes to dockbell as ``message.im``; in a channel, a message that starts with
        @dockbell is an ``app_mention`` and any other is only posted (dockbell does not read it)."""
        typed = _escape(text)
        if channel.startswith("D"):
            # Slack stores a mention as <@U..>; in a DM dockbell reads every message anyway
            sent = await self.sender.dm(typed.replace(MENTION, f"<@{BOT_USER_ID}>"), user_id=user, thread_ts=thread_ts)
        elif text.startswith(MENTION):
            command = typed.removeprefix(MENTION).strip()
            sent = await self.sender.mention(command, user_id=user, channel_id=channel, thread_ts=thread_ts)
        else:
            ws = self.fake.workspace
            parent = ws.find_message(channel, thread_ts) if thread_ts else None
            root = (parent.thread_ts or parent.ts) if parent else None
            ws.post(Message(ws.next_ts(), channel, typed, thread_ts=root, user=user, bot_id=None, source="user"))
            self.fake.feed.touch()
            return OK
        self.fake.feed.touch()
        return _ack_outcome("the event", sent.ack)

    async def click(self, user: str, ts: str, action_id: str) -> Outcome:
        target = self.fake.workspace.locate(ts)
        if target is None:
            return Outcome(False, "that message is gone")
        if isinstance(target, Ephemeral) and target.user != user:
            return Outcome(False, "that message is not yours")
        try:
            ack = await self.sender.click(target, action_id, user_id=user)
        except AssertionError:  # no such button on the message any more (it was edited)
            return Outcome(False, "that button is no longer there")
        except (aiohttp.ClientError, OSError, TimeoutError):
            return Outcome(False, "dockbell is not answering (see the terminal where the playground runs)")
        return OK if ack.status == 200 else Outcome(False, "dockbell did not answer this click")

    async def submit(self, user: str, view_id: str, values: Mapping[str, Mapping[str, str]]) -> Outcome:
        opened = self.fake.views.get(view_id)
        if opened is None or opened.closed or opened.user != user:
            return Outcome(False, "that window is closed")
        try:
            ack = await self.sender.submit_view(view_id, values, user_id=user)
        except (aiohttp.ClientError, OSError, TimeoutError):
            return Outcome(False, "dockbell is not answering (see the terminal where the playground runs)")
        self.fake.feed.touch()
        if ack.status != 200:
            return Outcome(False, "dockbell did not answer")
        errors = (ack.json or {}).get("errors") if (ack.json or {}).get("response_action") == "errors" else None
        if isinstance(errors, dict) and errors:
            return Outcome(False, "; ".join(str(v) for v in errors.values()))
        return OK

    def close_view(self, user: str, view_id: str) -> Outcome:
        """The modal's Cancel: Slack closes it (and sends view_closed only when asked to; nobody asks)."""
        opened = self.fake.views.get(view_id)
        if opened is not None and opened.user == user:
            opened.closed = True
            self.fake.feed.touch()
        return OK


def _escape(text: str) -> str:
    """What Slack stores of a typed message: & < > escaped (a slash command's text is not)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

