"""Socket Mode on the fake Slack: the tickets apps.connections.open hands out and the link.

The protocol, as slack_sdk's aiohttp SocketModeClient speaks it (slack-platform.md §5.2;
https://api.slack.com/apis/connections/socket-implement):

* ``apps.connections.open`` (app-level ``xapp-`` token, ``connections:write``) answers
  ``{"ok": true, "url": "wss://…/link/?ticket=…&app_id=…"}``; here the URL is
  ``ws://127.0.0.1:PORT/link/?ticket=…&app_id=…`` so it points back at this fake (the client
  connects to it as is, bypassing ``base_url``).
* On connect the server sends ``hello``; then envelopes
  ``{"envelope_id", "type", "payload", "accepts_response_payload"}`` (``events_api`` adds
  ``retry_attempt`` / ``retry_reason``), which the client acks with
  ``{"envelope_id": …}`` plus a ``payload`` when Bolt's ack had a body.
* ``{"type": "disconnect", "reason": "refresh_requested" | "warning" | "link_disabled"}`` asks the
  client to fetch a new URL; slack_sdk does so at once and closes the old socket itself.
* The client pings ``sdk-ping-pong:<time>`` every ``ping_interval`` and expects that exact data
  back in a pong (aiohttp's ``autoping`` does it); after ``4 × ping_interval`` without one it calls
  the link stale and reconnects.

Outages run on real (monotonic) time, not the fake's injectable clock: they are about when a real
client's reconnects are refused, not about Slack timestamps.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import WSCloseCode, WSMsgType, web

T = TypeVar("T")

LINK_PATH = "/link/"
DEBUG_HOST = "applink-fake-0"
# Envelope types Slack sends over the link, and whether it accepts a payload in their ack by default
ENVELOPE_TYPES = {"slash_commands": True, "interactive": False, "events_api": False}
DISCONNECT_REASONS = ("refresh_requested", "warning", "link_disabled")


@dataclass
class LinkConnection:
    """One WebSocket the client opened on the link."""

    id: int
    ticket: str
    opened_at: float
    ws: web.WebSocketResponse = field(repr=False)
    request: web.Request = field(repr=False)
    closed_at: float | None = None
    close_code: int | None = None

    @property
    def open(self) -> bool:
        return self.closed_at is None and not self.ws.closed


@dataclass
class Envelope:
    """An envelope the fake pushed to the client."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    accepts_response_payload: bool
    connection: int
    sent_at: float
    retry_attempt: int | None = None
    retry_reason: str | None = None

    def to_message(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "envelope_id": self.envelope_id,
            "type": self.type,
            "payload": self.payload,
            "accepts_response_payload": self.accepts_response_payload,
        }
        if self.retry_attempt is not None:
            message["retry_attempt"] = self.retry_attempt
            message["retry_reason"] = self.retry_reason or ""
        return message


@dataclass
class SocketAck:
    """An ack the client sent for an envelope."""

    envelope_id: str
    payload: dict[str, Any] | None
    connection: int
    elapsed: float  # seconds since the envelope was sent; Slack gives up after 3
    raw: dict[str, Any]


@dataclass
class Ticket:
    issued_at: float
    used: bool = False


class SocketModeLink:
    """The Socket Mode side of one fake Slack app: tickets, connections, envelopes and acks."""

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self.tickets: dict[str, Ticket] = {}
        self.connections: list[LinkConnection] = []
        self.envelopes: list[Envelope] = []
        self.acks: list[SocketAck] = []
        # every text frame the client sent that was not an ack for a known envelope
        self.other_messages: list[str] = []
        self.refused_handshakes = 0
        self._down_until: float | None = None
        self.api_down = False  # during an outage, apps.connections.open fails too
        self._next_id = 0
        self._changed = asyncio.Condition()

    # --- tickets -------------------------------------------------------------------------------

    def issue_url(self, base_url: str) -> str:
        """A fresh single-use link URL on this fake (what apps.connections.open returns)."""
        ticket = secrets.token_hex(16)
        self.tickets[ticket] = Ticket(time.monotonic())
        ws_base = base_url.replace("http://", "ws://", 1)
        return f"{ws_base}{LINK_PATH}?ticket={ticket}&app_id={self.app_id}"

    # --- outages -------------------------------------------------------------------------------

    @property
    def down(self) -> bool:
        if self._down_until is None:
            return False
        if time.monotonic() >= self._down_until:
            self._down_until = None
            self.api_down = False
            return False
        return True

    async def drop(self, refuse_for: float, *, abrupt: bool = False, api_too: bool = False) -> None:
        """Simulate an outage: close every socket and refuse new ones for ``refuse_for`` seconds.

        ``abrupt`` cuts the TCP connection without a WebSocket close frame (a network loss);
        otherwise the server closes cleanly with 1011, as a failing edge would. ``api_too``
        makes apps.connections.open fail with an HTML 503 for the same time.
        """
        self._down_until = time.monotonic() + refuse_for
        self.api_down = api_too
        await self.close_all(abrupt=abrupt, code=WSCloseCode.INTERNAL_ERROR)

    def restore(self) -> None:
        """End an outage early."""
        self._down_until = None
        self.api_down = False

    async def close_all(self, *, abrupt: bool = False, code: int = WSCloseCode.GOING_AWAY) -> None:
        for conn in self.open_connections():
            if abrupt and conn.request.transport is not None:
                conn.request.transport.abort()
                await self.wait_closed(conn)  # the handler notices the lost transport on its next read
            else:
                await conn.ws.close(code=code, message=b"fake slack closed the link")
        await self._notify()

    # --- pushing -------------------------------------------------------------------------------

    def open_connections(self) -> list[LinkConnection]:
        return [conn for conn in self.connections if conn.open]

    def current(self) -> LinkConnection:
        """The newest open connection: where Slack would deliver the next envelope."""
        live = self.open_connections()
        if not live:
            raise AssertionError(f"no open Socket Mode connection; connections: {self.connections}")
        return live[-1]

    async def push(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
        envelope_id: str | None = None,
    ) -> Envelope:
        """Send an envelope over the newest open connection."""
        if type not in ENVELOPE_TYPES:
            raise ValueError(f"unknown envelope type {type!r}; Slack sends {sorted(ENVELOPE_TYPES)}")
        if type == "events_api" and retry_attempt is None:
            retry_attempt, retry_reason = 0, ""  # Slack always sends them on events_api envelopes
        conn = self.current()
        envelope = Envelope(
            envelope_id=envelope_id or str(uuid.uuid4()),
            type=type,
            payload=payload,
            accepts_response_payload=ENVELOPE_TYPES[type]
            if accepts_response_payload is None
            else accepts_response_payload,
            connection=conn.id,
            sent_at=time.monotonic(),
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
        )
        self.envelopes.append(envelope)
        await conn.ws.send_str(json.dumps(envelope.to_message()))
        return envelope

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask every open connection to reconnect (Slack's ``disconnect`` message)."""
        if reason not in DISCONNECT_REASONS:
            raise ValueError(f"unknown disconnect reason {reason!r}; Slack sends {DISCONNECT_REASONS}")
        message = json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": DEBUG_HOST}})
        for conn in self.open_connections():
            await conn.ws.send_str(message)

    # --- waiting -------------------------------------------------------------------------------

    async def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> SocketAck:
        def find() -> SocketAck | None:
            return next((ack for ack in self.acks if ack.envelope_id == envelope_id), None)

        return await self._wait(find, timeout, lambda: f"no ack for envelope {envelope_id}; acks: {self.acks}")

    async def wait_for_connection(self, after: int = 0, timeout: float = 5.0) -> LinkConnection:
        """The first open connection whose id is greater than ``after``."""

        def find() -> LinkConnection | None:
            return next((c for c in self.connections if c.id > after and c.open), None)

        return await self._wait(find, timeout, lambda: f"no new connection after #{after}: {self.connections}")

    async def wait_closed(self, conn: LinkConnection, timeout: float = 5.0) -> None:
        await self._wait(lambda: True if not conn.open else None, timeout, lambda: f"{conn} still open")

    async def _wait(self, find: Callable[[], T | None], timeout: float, describe: Callable[[], str]) -> T:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: find() is not None), timeout)
            except TimeoutError:
                raise AssertionError(f"timed out after {timeout}s: {describe()}") from None
        found = find()
        assert found is not None
        return found

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def reset(self) -> None:
        """Forget records and end any outage; open connections stay open."""
        self.envelopes.clear()
        self.acks.clear()
        self.other_messages.clear()
        self.connections = self.open_connections()
        self.refused_handshakes = 0
        self.restore()

    # --- the WebSocket endpoint ----------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ticket = self.tickets.get(request.query.get("ticket", ""))
        if self.down:
            self.refused_handshakes += 1
            return web.Response(status=503, text="link unavailable (fake outage)")
        if ticket is None or ticket.used:
            # our choice: Slack documents the URL as short-lived and the SDK always asks for a new
            # one before reconnecting, so a reused or unknown ticket is a client bug here
            self.refused_handshakes += 1
            return web.Response(status=401, text="invalid or used ticket")
        ticket.used = True
        ws = web.WebSocketResponse(autoping=True)  # autoping echoes the SDK's sdk-ping-pong data
        await ws.prepare(request)
        self._next_id += 1
        conn = LinkConnection(self._next_id, request.query["ticket"], time.monotonic(), ws, request)
        self.connections.append(conn)
        await ws.send_str(json.dumps(self._hello()))
        await self._notify()
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    await self._receive(conn, str(message.data))
        finally:
            conn.closed_at = time.monotonic()
            conn.close_code = ws.close_code
            await self._notify()
        return ws

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": len(self.open_connections()),  # this one included
            "debug_info": {"host": DEBUG_HOST, "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }

    async def _receive(self, conn: LinkConnection, data: str) -> None:
        try:
            message = json.loads(data)
        except json.JSONDecodeError:
            message = None
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        envelope = next((e for e in self.envelopes if e.envelope_id == envelope_id), None)
        if envelope is None or not isinstance(message, dict):
            self.other_messages.append(data)
        else:
            payload = message.get("payload")
            ack = SocketAck(
                envelope.envelope_id,
                payload if isinstance(payload, dict) else None,
                conn.id,
                time.monotonic() - envelope.sent_at,
                message,
            )
            self.acks.append(ack)
        await self._notify()
