"""SocketSender: SlackSender's slash commands, clicks and events, delivered over the Socket Mode link.

The bodies are the same ones SlackSender signs and POSTs (a slash command's form fields, a
click's ``payload=`` JSON); here they travel as ``slash_commands`` / ``interactive`` envelopes
with those fields as the JSON payload, as Slack sends them, and the ack comes back over the
socket. Signing does not apply: the link itself is authenticated by the app token.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from .client import AckResult, SlackSender
from .server import FakeSlack

NO_ACK_WAIT = 10.0  # how long to wait for an ack that may never come (Bolt skips non-200 results)


class SocketSender(SlackSender):
    def __init__(self, fake: FakeSlack, team_id: str = "T_TEST", ack_wait: float = NO_ACK_WAIT) -> None:
        super().__init__(fake, bot_url="", signing_secret="", team_id=team_id)
        self.ack_wait = ack_wait

    async def _post(
        self,
        body: str,
        response_url: str,
        timestamp: int | None = None,
        sign: bool = True,
        bad_signature: bool = False,
        extra_headers: dict[str, str] | None = None,
    ) -> AckResult:
        fields = dict(parse_qsl(body, keep_blank_values=True))
        payload: dict[str, Any] = dict(fields)
        kind = "slash_commands"
        if set(fields) == {"payload"}:  # a click: the form's one field is the JSON payload
            kind, payload = "interactive", json.loads(fields["payload"])
        envelope = await self.fake.link.push(kind, payload)
        try:
            ack = await self.fake.link.wait_for_ack(envelope.envelope_id, timeout=self.ack_wait)
        except AssertionError:
            return AckResult(0, f"no ack within {self.ack_wait:g}s", None, self.ack_wait, response_url)
        text = json.dumps(ack.payload) if ack.payload is not None else ""
        return AckResult(200, text, ack.payload, ack.elapsed, response_url)

    async def _post_event(self, body: dict[str, Any], retry_num: int = 0, retry_reason: str = "") -> AckResult:
        """An ``events_api`` envelope with the event_callback as its payload (retries as retry_attempt)."""
        envelope = await self.fake.link.push("events_api", body, retry_attempt=retry_num, retry_reason=retry_reason)
        try:
            ack = await self.fake.link.wait_for_ack(envelope.envelope_id, timeout=self.ack_wait)
        except AssertionError:
            return AckResult(0, f"no ack within {self.ack_wait:g}s", None, self.ack_wait, None)
        text = json.dumps(ack.payload) if ack.payload is not None else ""
        return AckResult(200, text, ack.payload, ack.elapsed, None)
