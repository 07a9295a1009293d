"""The Events API side of the fake Slack client: what Slack sends when people write messages.

:class:`EventSender` is mixed into :class:`~bot.fakeslack.client.SlackSender` (signed HTTP) and so
into :class:`~bot.fakeslack.socketsender.SocketSender` (``events_api`` envelopes).  Its public API:

* ``mention(command, channel_id=, thread_ts=)``: ``@dockbell <command>`` typed in a channel, as an
  ``app_mention`` event (``<@U_BOT> command``), top level or as a reply in ``thread_ts``'s thread;
* ``dm(text)``: a message in the person's DM with the app (``message`` with ``channel_type: im``);
* ``message(text, channel_id=, ...)``: any ``message`` event, for texts ``mention``/``dm`` do not make;
* ``edit(sent, new_text)`` / ``delete(sent)``: ``message_changed`` / ``message_deleted``;
* ``bot_message(text, channel_id=)``: another app's post (``subtype: bot_message``);
* ``own_message(channel_id, text)``: dockbell's own post as ``message.im`` delivers it back;
* ``redeliver_event(sent, reason=)``: Slack's retry of the same event (same ``event_id``, with
  ``X-Slack-Retry-Num`` / ``X-Slack-Retry-Reason``);
* ``url_verification(challenge)``: the handshake Slack does when the Request URL is saved.

Each returns a :class:`SentEvent`.  As Slack does, the fake delivers an event only when the app has
its scope (``app_mentions:read`` for mentions, ``im:history`` for DMs, ``channels:history`` for
channel messages), and a mention only in a channel the app is in: otherwise nothing is sent, and
the SentEvent's ack has status 0.  The person's message is stored in the fake's workspace, as
Slack stores it, so the app may reply in its thread (chat.postMessage's ``thread_ts``) and
conversations.replies returns it.

The bodies are Slack's documented ``event_callback`` envelope (token, team_id, api_app_id, event,
type, event_id, event_time, authorizations, is_ext_shared_channel, event_context), sent as JSON and
signed like every request (slack-platform.md §2.1; https://api.slack.com/apis/events-api,
https://api.slack.com/events/app_mention, https://api.slack.com/events/message.im).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .records import BOT_ID, BOT_USER_ID, Message

if TYPE_CHECKING:
    from .client import AckResult
    from .server import FakeSlack

JSON_CONTENT_TYPE = "application/json"
EVENT_API_APP_ID = "A_DOCKBELL"
EVENT_TOKEN = "xyzz0WbapA4vBCDEFasx0q6G"  # the deprecated verification token Slack still sends


@dataclass
class SentEvent:
    """One event delivery: what was sent and the app's answer."""

    ack: AckResult
    event_id: str
    channel: str
    ts: str  # the message's ts (for message_changed / message_deleted: the changed message's)
    body: dict[str, Any]
    retry_num: int = 0

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = self.body.get("event") or {}
        return event


def channel_type(channel_id: str) -> str:
    """Slack's ``channel_type`` of a message event, read off the id as the fake assigns them
    (``G``: the fake's group DMs; its private channels are not modelled)."""
    if channel_id.startswith("D"):
        return "im"
    if channel_id.startswith("G"):
        return "mpim"
    return "channel"


def scope_for(event: dict[str, Any]) -> str:
    """The bot scope without which Slack does not deliver ``event`` (app_mention; message.<kind>)."""
    if event.get("type") == "app_mention":
        return "app_mentions:read"
    kind = str(event.get("channel_type") or "channel")
    if kind == "channel":
        return "channels:history"
    return {"im": "im:history", "mpim": "mpim:history", "group": "groups:history"}.get(kind, "channels:history")


def _event_id() -> str:
    return "Ev" + secrets.token_hex(5).upper()


def _client_msg_id() -> str:
    raw = secrets.token_hex(16)
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


def rich_text(text: str) -> list[dict[str, Any]]:
    """The ``blocks`` Slack's client adds to a typed message: a rich_text block, mentions as user elements."""
    elements: list[dict[str, Any]] = []
    rest = text
    while rest:
        start = rest.find("<@")
        end = rest.find(">", start) if start >= 0 else -1
        if start < 0 or end < 0:
            elements.append({"type": "text", "text": rest})
            break
        if start:
            elements.append({"type": "text", "text": rest[:start]})
        elements.append({"type": "user", "user_id": rest[start + 2 : end].split("|")[0]})
        rest = rest[end + 1 :]
    section = {"type": "rich_text_section", "elements": elements}
    return [{"type": "rich_text", "block_id": secrets.token_hex(2), "elements": [section]}]


class EventSender:
    """Events API deliveries; the host class provides ``fake``, ``team_id`` and ``_post_event``."""

    fake: FakeSlack
    team_id: str

    async def _post_event(self, body: dict[str, Any], retry_num: int = 0, retry_reason: str = "") -> AckResult:
        raise NotImplementedError

    # --- what people type ----------------------------------------------------------------------

    async def mention(
        self,
        command: str,
        *,
        user_id: str = "U_ALICE",
        channel_id: str = "C_GENERAL",
        thread_ts: str | None = None,
        whole_text: str | None = None,
    ) -> SentEvent:
        """``@dockbell <command>`` in a channel: an ``app_mention`` event.

        ``whole_text``: the message's exact text instead (Slack sends ``app_mention`` for a message
        that mentions the app anywhere, e.g. ``ask <@U_BOT> later``).
        """
        text = whole_text if whole_text is not None else f"<@{BOT_USER_ID}> {command}"
        return await self._typed("app_mention", text, user_id, channel_id, thread_ts)

    async def dm(self, text: str, *, user_id: str = "U_ALICE", thread_ts: str | None = None) -> SentEvent:
        """``text`` typed in ``user_id``'s DM with the app (the Messages tab of App Home): ``message.im``."""
        channel, _ = self.fake.workspace.open_dm(user_id)
        return await self._typed("message", text, user_id, channel.id, thread_ts)

    async def message(
        self, text: str, *, user_id: str = "U_ALICE", channel_id: str = "C_GENERAL", thread_ts: str | None = None
    ) -> SentEvent:
        """A plain ``message`` event (what ``message.channels`` / ``message.im`` subscriptions deliver)."""
        return await self._typed("message", text, user_id, channel_id, thread_ts)

    async def _typed(self, kind: str, text: str, user_id: str, channel_id: str, thread_ts: str | None) -> SentEvent:
        ws = self.fake.workspace
        parent = ws.find_message(channel_id, thread_ts) if thread_ts else None
        root = (parent.thread_ts or parent.ts) if parent is not None else thread_ts
        stored = ws.post(
            Message(
                ts=ws.next_ts(), channel=channel_id, text=text, thread_ts=root, user=user_id, bot_id=None, source="user"
            )
        )
        event: dict[str, Any] = {
            "type": kind,
            "user": user_id,
            "text": text,
            "ts": stored.ts,
            "client_msg_id": _client_msg_id(),
            "team": self.team_id,
            "blocks": rich_text(text),
            "channel": channel_id,
            "event_ts": stored.ts,
        }
        if kind == "message":
            event["channel_type"] = channel_type(channel_id)
        if root is not None:
            event["thread_ts"] = root
            event["parent_user_id"] = _parent_user(self.fake, channel_id, root)
        return await self._deliver(event, channel_id, stored.ts)

    # --- what else reaches a message subscription ----------------------------------------------

    async def edit(self, sent: SentEvent, new_text: str, *, user_id: str | None = None) -> SentEvent:
        """The person edits a message they sent: ``message`` / ``message_changed`` (``hidden: true``)."""
        old = sent.event
        channel = sent.channel
        stored = self.fake.workspace.find_message(channel, sent.ts)
        now = self.fake.workspace.next_ts()
        if stored is not None:
            stored.apply_edit(time=self.fake.clock(), source="user", text=new_text, blocks=rich_text(new_text))
        who = user_id or str(old.get("user", "U_ALICE"))
        changed = {
            **{k: v for k, v in old.items() if k not in ("channel", "event_ts", "channel_type", "team")},
            "type": "message",
            "text": new_text,
            "blocks": rich_text(new_text),
            "edited": {"user": who, "ts": now},
        }
        event = {
            "type": "message",
            "subtype": "message_changed",
            "hidden": True,
            "message": changed,
            "previous_message": {k: v for k, v in old.items() if k not in ("channel", "event_ts", "channel_type")},
            "channel": channel,
            "ts": now,
            "event_ts": now,
            "channel_type": channel_type(channel),
        }
        return await self._deliver(event, channel, sent.ts)

    async def delete(self, sent: SentEvent) -> SentEvent:
        """The person deletes a message they sent: ``message`` / ``message_deleted``."""
        channel = sent.channel
        stored = self.fake.workspace.find_message(channel, sent.ts)
        if stored is not None:
            self.fake.workspace.delete(stored)
        now = self.fake.workspace.next_ts()
        event = {
            "type": "message",
            "subtype": "message_deleted",
            "hidden": True,
            "deleted_ts": sent.ts,
            "previous_message": {k: v for k, v in sent.event.items() if k not in ("channel", "event_ts")},
            "channel": channel,
            "ts": now,
            "event_ts": now,
            "channel_type": channel_type(channel),
        }
        return await self._deliver(event, channel, sent.ts)

    async def bot_message(
        self, text: str, *, channel_id: str = "C_GENERAL", bot_id: str = "B_OTHER", thread_ts: str | None = None
    ) -> SentEvent:
        """Another app's post: ``subtype: bot_message`` with its ``bot_id`` and no ``user``; one that
        mentions dockbell reaches it as an ``app_mention`` (with the ``bot_id``)."""
        ws = self.fake.workspace
        message = Message(
            ts=ws.next_ts(), channel=channel_id, text=text, thread_ts=thread_ts, user=None, bot_id=bot_id, source="bot"
        )
        stored = ws.post(message)
        mentions = f"<@{BOT_USER_ID}>" in text
        event: dict[str, Any] = {
            "type": "app_mention" if mentions else "message",
            "subtype": "bot_message",
            "text": text,
            "ts": stored.ts,
            "bot_id": bot_id,
            "username": "other-app",
            "channel": channel_id,
            "event_ts": stored.ts,
        }
        if not mentions:
            event["channel_type"] = channel_type(channel_id)
        if thread_ts:
            event["thread_ts"] = thread_ts
        return await self._deliver(event, channel_id, stored.ts)

    async def own_message(self, channel_id: str, text: str) -> SentEvent:
        """A message dockbell posted, delivered back to it (``message.im`` includes the app's own posts):
        ``user`` is the bot user, with ``bot_id`` and ``app_id``, and no subtype."""
        ws = self.fake.workspace
        stored = ws.post(Message(ts=ws.next_ts(), channel=channel_id, text=text))
        event = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": EVENT_API_APP_ID,
            "text": text,
            "ts": stored.ts,
            "team": self.team_id,
            "channel": channel_id,
            "event_ts": stored.ts,
            "channel_type": channel_type(channel_id),
        }
        return await self._deliver(event, channel_id, stored.ts)

    # --- delivery ------------------------------------------------------------------------------

    async def redeliver_event(self, sent: SentEvent, *, reason: str = "http_timeout") -> SentEvent:
        """Slack's retry of ``sent``: the same body and event_id, with the retry headers (attempt n+1)."""
        retry = sent.retry_num + 1
        ack = await self._post_event(sent.body, retry, reason)
        return SentEvent(ack, sent.event_id, sent.channel, sent.ts, sent.body, retry)

    async def url_verification(self, challenge: str | None = None) -> AckResult:
        """What Slack sends when the Request URL is saved; the app must answer with the challenge."""
        body = {"token": EVENT_TOKEN, "challenge": challenge or secrets.token_urlsafe(24), "type": "url_verification"}
        return await self._post_event(body)

    def envelope(self, event: dict[str, Any]) -> dict[str, Any]:
        """The ``event_callback`` Slack wraps every event in."""
        return {
            "token": EVENT_TOKEN,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": EVENT_API_APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": _event_id(),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + secrets.token_urlsafe(40),
        }

    async def _deliver(self, event: dict[str, Any], channel: str, ts: str) -> SentEvent:
        body = self.envelope(event)
        withheld = self._withheld(event, channel)
        if withheld:
            from .client import AckResult  # client.py imports this module

            ack = AckResult(0, f"not delivered: {withheld}", None, 0.0, None)
        else:
            ack = await self._post_event(body)
        return SentEvent(ack, str(body["event_id"]), channel, ts, body)

    def _withheld(self, event: dict[str, Any], channel_id: str) -> str:
        """Why Slack would not send ``event`` to the app ("" when it would): it says nothing about those."""
        scope = scope_for(event)
        if scope not in self.fake.scopes:
            return f"the app lacks the {scope} scope"
        channel = self.fake.channels.get(channel_id)
        if event.get("type") == "app_mention" and channel is not None and not channel.bot_member:
            return f"the app is not in #{channel.name} (Slack offers to invite it instead)"
        return ""


def _parent_user(fake: FakeSlack, channel: str, root: str) -> str | None:
    parent = fake.workspace.find_message(channel, root)
    return parent.user if parent is not None else None


def event_body(body: dict[str, Any]) -> str:
    """The exact JSON text sent (and signed)."""
    return json.dumps(body, separators=(",", ":"))
