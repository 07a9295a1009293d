"""The Slack-client side of the rig: signed slash commands and button clicks sent to the bot.

Bodies follow slack-platform.md §1.1 (slash command form) and §3.1 (block_actions payload);
signatures follow §2.1. The ack is timed because Slack gives up after 3 s (operation_timeout).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp

from .events import JSON_CONTENT_TYPE, EventSender, event_body
from .records import APP_ID, BOT_ID, Ephemeral, Message, ResponsePost
from .server import FakeSlack
from .signing import FORM_CONTENT_TYPE, signed_headers

ACK_DEADLINE = 3.0
API_APP_ID = "A_DOCKBELL"
VERIFICATION_TOKEN = "xyzz0WbapA4vBCDEFasx0q6G"  # deprecated field Slack still sends
TEAM_DOMAIN = "fake"


@dataclass
class AckResult:
    """The bot's HTTP answer to one request, as Slack would receive it."""

    status: int
    text: str
    json: dict[str, Any] | None
    elapsed: float
    response_url: str | None
    # Slack's complaints about an ack body it could not display (e.g. invalid blocks)
    ack_errors: list[str] = field(default_factory=list)

    def assert_ok(self, deadline: float = ACK_DEADLINE) -> AckResult:
        """Fail like Slack would: non-200, too slow, or an undisplayable ack body."""
        assert self.status == 200, f"ack status {self.status}: {self.text!r}"
        assert self.elapsed < deadline, f"ack took {self.elapsed:.2f}s (Slack gives up after {deadline}s)"
        assert not self.ack_errors, f"Slack could not display the ack body: {self.ack_errors}"
        return self


def _trigger_id() -> str:
    return f"{secrets.randbelow(10**12)}.{secrets.randbelow(10**11)}.{secrets.token_hex(16)}"


def _parse_ack(text: str, content_type: str) -> dict[str, Any] | None:
    if content_type != "application/json" and not text.startswith("{"):
        return None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


def find_action(blocks: list[Any], action_id: str) -> tuple[str, dict[str, Any]]:
    """(block_id, element) of the interactive element with ``action_id`` in ``blocks``."""
    seen: list[str] = []
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        candidates = block.get("elements", []) if block.get("type") == "actions" else [block.get("accessory")]
        for element in candidates:
            if isinstance(element, dict) and "action_id" in element:
                seen.append(str(element["action_id"]))
                if element["action_id"] == action_id:
                    # Slack fills in a random block_id when the app sent none
                    return str(block.get("block_id") or f"blk{index}"), element
    raise AssertionError(f"no element with action_id {action_id!r} in the message; found {seen}")


def _action_from(element: dict[str, Any], block_id: str, action_ts: str) -> dict[str, Any]:
    """actions[0] of a block_actions payload: the button as Slack echoes it back."""
    if element.get("type") != "button":
        raise AssertionError(f"click() supports buttons only, got {element.get('type')!r}")
    action = {"action_id": element["action_id"], "block_id": block_id, "type": "button"}
    action.update({key: element[key] for key in ("text", "value", "style", "url") if key in element})
    action["action_ts"] = action_ts
    return action


class SlackSender(EventSender):
    """Sends what Slack would send to the bot's request URL, signed with the test secret.

    Slash commands and clicks here; messages (mentions, DMs, edits...) from :class:`EventSender`.
    """

    def __init__(self, fake: FakeSlack, bot_url: str, signing_secret: str, team_id: str = "T_TEST") -> None:
        self.fake = fake
        self.bot_url = bot_url
        self.signing_secret = signing_secret
        self.team_id = team_id
        self._session: aiohttp.ClientSession | None = None
        self._sent: dict[str, str] = {}  # response_url (or view key) -> the body sent, for redeliver()

    def _client(self) -> aiohttp.ClientSession:
        # created lazily: aiohttp wants sessions made inside the running loop
        if self._session is None:
            # generous timeout: we want to *measure* slow acks, not abort them at 3 s
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> SlackSender:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- slash commands ------------------------------------------------------------------------

    async def command(
        self,
        text: str,
        *,
        user_id: str = "U_ALICE",
        channel_id: str = "C_GENERAL",
        command: str = "/docker",
        timestamp: int | None = None,
        sign: bool = True,
        bad_signature: bool = False,
        extra_headers: dict[str, str] | None = None,
        response_url: str | None = None,
    ) -> AckResult:
        """POST a slash command; a non-empty 200 ack is shown in the fake like Slack shows it.

        ``response_url`` re-sends an earlier invocation (as a retried delivery would).
        """
        response_url = response_url or self.fake.new_response_url("commands", channel=channel_id, user=user_id)
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel_id,
            "channel_name": self._channel_name(channel_id),
            "user_id": user_id,
            "user_name": self._user_name(user_id),
            "command": command,
            "text": text,
            "api_app_id": API_APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": self.fake.workspace.issue_trigger(_trigger_id(), user_id),
        }
        result = await self._post(urlencode(fields), response_url, timestamp, sign, bad_signature, extra_headers)
        if result.status == 200 and result.text:
            body = result.json if result.json is not None else {"text": result.text}
            result.ack_errors = self.fake.show_ack(response_url, body)
        return result

    # --- button clicks -------------------------------------------------------------------------

    async def click(
        self,
        message: Mapping[str, Any] | Message | Ephemeral | ResponsePost,
        action_id: str,
        *,
        user_id: str = "U_ALICE",
        channel_id: str | None = None,
        is_ephemeral: bool | None = None,
        message_ts: str | None = None,
    ) -> AckResult:
        """Click the button ``action_id`` of ``message`` (a dict with "blocks", or a record).

        Channel, ts and ephemerality are looked up in the fake when not given; the clicked
        message must have been seen by the fake for replace_original/delete_original to apply.
        """
        target = _ClickTarget.of(self.fake, message, channel_id, is_ephemeral, message_ts)
        block_id, element = find_action(target.blocks, action_id)
        response_url = self.fake.new_response_url(
            "actions",
            channel=target.channel,
            user=user_id,
            message_ts=target.ts,
            is_ephemeral=target.is_ephemeral,
        )
        payload = self._block_actions(target, user_id, response_url, _action_from(element, block_id, _now_ts()))
        return await self._post(urlencode({"payload": json.dumps(payload)}), response_url)

    def _block_actions(
        self, target: _ClickTarget, user_id: str, response_url: str, action: dict[str, Any]
    ) -> dict[str, Any]:
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": target.ts,
            "channel_id": target.channel,
            "is_ephemeral": target.is_ephemeral,
        }
        if target.thread_ts:
            container["thread_ts"] = target.thread_ts
        user_name = self._user_name(user_id)
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": self.team_id},
            "api_app_id": API_APP_ID,
            "token": VERIFICATION_TOKEN,
            "container": container,
            "trigger_id": self.fake.workspace.issue_trigger(_trigger_id(), user_id),
            "team": {"id": self.team_id, "domain": TEAM_DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": target.channel, "name": self._channel_name(target.channel)},
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [action],
        }
        if not target.is_ephemeral:  # Slack omits the message for ephemeral containers
            payload["message"] = target.message
        return payload

    async def redeliver(self, response_url: str) -> AckResult:
        """Send the request that got ``response_url`` again, freshly signed: Slack's retried delivery."""
        return await self._post(self._sent[response_url], response_url)

    # --- modals --------------------------------------------------------------------------------

    async def submit_view(
        self, view_id: str, values: Mapping[str, Mapping[str, str]], *, user_id: str = "U_ALICE"
    ) -> AckResult:
        """Press the submit button of the open modal ``view_id``: a signed ``view_submission``.

        ``values``: block_id -> {action_id: typed text} for plain_text_input elements.  Only the
        user the modal was opened for can submit it (nobody else sees it).  An empty 200 ack
        closes the modal, as in Slack; ``response_action: errors`` keeps it open.
        """
        opened = self.fake.workspace.views.get(view_id)
        if opened is None or opened.closed:
            raise AssertionError(f"no open modal {view_id}")
        if opened.user != user_id:
            raise AssertionError(f"modal {view_id} is {opened.user}'s: {user_id} cannot see it")
        state = {
            block: {action: {"type": "plain_text_input", "value": value} for action, value in actions.items()}
            for block, actions in values.items()
        }
        view = {**opened.to_dict(self.team_id, APP_ID, BOT_ID), "state": {"values": state}}
        user_name = self._user_name(user_id)
        payload: dict[str, Any] = {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": TEAM_DOMAIN},
            "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": self.team_id},
            "api_app_id": API_APP_ID,
            "token": VERIFICATION_TOKEN,
            "trigger_id": self.fake.workspace.issue_trigger(_trigger_id(), user_id),
            "view": view,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        opened.submissions += 1
        key = f"view:{view_id}:{opened.submissions}"
        result = await self._post(urlencode({"payload": json.dumps(payload)}), key)
        if result.status == 200 and not result.text.strip():
            opened.closed = True
        return result

    # --- plumbing ------------------------------------------------------------------------------

    async def _post(
        self,
        body: str,
        response_url: str,
        timestamp: int | None = None,
        sign: bool = True,
        bad_signature: bool = False,
        extra_headers: dict[str, str] | None = None,
    ) -> AckResult:
        secret = self.signing_secret + ("-wrong" if bad_signature else "")
        headers = signed_headers(secret, body, timestamp) if sign else {"Content-Type": FORM_CONTENT_TYPE}
        headers.update(extra_headers or {})
        self._sent[response_url] = body
        started = time.perf_counter()
        async with self._client().post(self.bot_url, data=body.encode(), headers=headers) as response:
            text = await response.text()
            elapsed = time.perf_counter() - started
            return AckResult(response.status, text, _parse_ack(text, response.content_type), elapsed, response_url)

    async def _post_event(self, body: dict[str, Any], retry_num: int = 0, retry_reason: str = "") -> AckResult:
        """An Events API request: JSON, signed like the rest; a retry carries X-Slack-Retry-*."""
        raw = event_body(body)
        headers = {**signed_headers(self.signing_secret, raw), "Content-Type": JSON_CONTENT_TYPE}
        if retry_num:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason
        started = time.perf_counter()
        async with self._client().post(self.bot_url, data=raw.encode(), headers=headers) as response:
            text = await response.text()
            elapsed = time.perf_counter() - started
            return AckResult(response.status, text, _parse_ack(text, response.content_type), elapsed, None)

    def _channel_name(self, channel_id: str) -> str:
        if channel_id.startswith("D"):
            return "directmessage"
        channel = self.fake.channels.get(channel_id)
        return channel.name if channel else channel_id.lower()

    def _user_name(self, user_id: str) -> str:
        user = self.fake.users.get(user_id)
        return user.name if user else user_id.lower()


def _now_ts() -> str:
    return f"{time.time():.6f}"


@dataclass
class _ClickTarget:
    """Where the clicked message lives, resolved against what the fake stored."""

    channel: str
    ts: str
    is_ephemeral: bool
    thread_ts: str | None
    blocks: list[Any]
    message: dict[str, Any]

    @classmethod
    def of(
        cls,
        fake: FakeSlack,
        message: Mapping[str, Any] | Message | Ephemeral | ResponsePost,
        channel_id: str | None,
        is_ephemeral: bool | None,
        message_ts: str | None,
    ) -> _ClickTarget:
        given, ts = _message_dict(message)
        ts = message_ts or ts or _find_ephemeral_ts(fake, given)
        stored = fake.workspace.locate(ts) if ts else None
        if ts is None:
            ts = fake.workspace.next_ts()  # a message the fake never saw: invent its ts
        if is_ephemeral is None:
            is_ephemeral = isinstance(stored, Ephemeral) or (
                stored is None and isinstance(message, ResponsePost) and given.get("response_type") != "in_channel"
            )
        channel = channel_id or (stored.channel if stored else None) or "C_GENERAL"
        thread_ts = stored.thread_ts if isinstance(stored, Message) else given.get("thread_ts")
        current = stored.to_dict() if isinstance(stored, Message) else {**given, "ts": ts, "type": "message"}
        return cls(channel, ts, is_ephemeral, thread_ts, list(given.get("blocks") or []), current)


def _message_dict(message: Mapping[str, Any] | Message | Ephemeral | ResponsePost) -> tuple[dict[str, Any], str | None]:
    if isinstance(message, ResponsePost):
        return dict(message.body), message.message_ts
    if isinstance(message, Message | Ephemeral):
        return message.to_dict(), message.ts
    ts = message.get("ts")
    return dict(message), str(ts) if ts else None


def _find_ephemeral_ts(fake: FakeSlack, given: dict[str, Any]) -> str | None:
    """The newest ephemeral showing exactly these blocks (e.g. an ack body dict)."""
    blocks = given.get("blocks")
    matches = [e for e in fake.ephemerals if not e.deleted and blocks and e.blocks == blocks]
    return matches[-1].ts if matches else None
