"""Serve's Socket Mode link: Bolt's AsyncSocketModeHandler, plus the two things it lacks.

slack_sdk's aiohttp SocketModeClient (3.48), which the handler wraps:

* retries a refused app token forever. ``connect()`` catches every error, logs it with a
  traceback and tries again after ``ping_interval``. :func:`open_link` therefore calls
  ``apps.connections.open`` once itself first, turns a refusal into a :class:`ConfigError` (serve
  stops at start with one line), and hands the URL it got to the client, so the first connection
  does not ask for a second one;
* never says that the link is down. It reconnects by itself on a close frame, a ``disconnect``
  message or missing pongs (4 × ``ping_interval``), and ``is_connected()`` tells whether the
  current session is usable. :class:`SocketLink` watches that and remembers since when the link
  has been down, so /healthz can turn 503 once an outage outlasts a short grace. The grace keeps
  Slack's routine refreshes (a new socket every few hours) from flapping readiness.

The SDK's logs go through a logger whose records lose their tracebacks: during an outage it logs
a failed reconnect every ``ping_interval``, and one line each is what an operator needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ConfigError
from bot.ops.health import Status

log = logging.getLogger(__name__)

DEFAULT_GRACE = 5.0
DEFAULT_PING_INTERVAL = 10.0  # Bolt's default; also the SDK's pause between reconnect attempts
DEFAULT_CONNECT_WAIT = 10.0
DEFAULT_POLL = 0.5
CHECK_TIMEOUT = 10  # seconds; slack_sdk wants an int

# Answers of apps.connections.open that no retry will change: the token itself is wrong.
REFUSALS = {
    "invalid_auth": "",
    "not_authed": "",
    "account_inactive": "",
    "token_revoked": "",
    "token_expired": "",
    "not_allowed_token_type": "; it must be an app-level token (xapp-...)",
    "missing_scope": "; it needs the connections:write scope",
}


def refusal_message(code: str) -> str:
    return f"SLACK_APP_TOKEN was refused by Slack ({code}){REFUSALS.get(code, '')}"


class _NoTracebacks(logging.Filter):
    """Keep the SDK's message (it names the error) and drop the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


SDK_LOG = logging.getLogger(f"{__name__}.sdk")
SDK_LOG.addFilter(_NoTracebacks())


@dataclass(frozen=True)
class LinkStatus:
    """The link as /healthz should see it.

    ``connected`` is the SDK's view right now; ``ok`` turns False only once the link has been
    down for longer than the grace. ``down_since`` is a Unix time, None while connected.
    """

    connected: bool
    down_since: float | None
    detail: str
    ok: bool


class SocketLink:
    """A connected (or reconnecting) AsyncSocketModeHandler and the watch on its state."""

    def __init__(
        self,
        handler: AsyncSocketModeHandler,
        *,
        grace: float = DEFAULT_GRACE,
        poll: float = DEFAULT_POLL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.handler = handler
        self.grace = grace
        self.poll = poll
        self._clock = clock
        self._connected = False
        # Down from the start: a link that never comes up must turn health red after the grace.
        self._down_at = clock()
        self._down_since = time.time()
        self._closed = False
        self._watch: asyncio.Task[None] | None = None
        self._connecting: asyncio.Task[None] | None = None

    def status(self) -> LinkStatus:
        if self._closed:
            return LinkStatus(False, self._down_since, "Socket Mode link closed", ok=False)
        # The watcher may be up to `poll` late; a session that is gone is seen at once.
        if self._connected and self._session_open():
            return LinkStatus(True, None, "Socket Mode link up", ok=True)
        if self._connected:
            self._mark(False)
        down_for = self._clock() - self._down_at
        ok = down_for < self.grace
        within = f", within the {self.grace:g} s grace" if ok else ""
        detail = f"Socket Mode link down for {down_for:.1f} s{within}; reconnecting"
        return LinkStatus(False, self._down_since, detail, ok=ok)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in (self._watch, self._connecting):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.handler.close_async()  # type: ignore[no-untyped-call]

    # --- internals -----------------------------------------------------------------------------

    def _session_open(self) -> bool:
        session = self.handler.client.current_session
        return session is not None and not session.closed

    def _mark(self, connected: bool) -> None:
        if connected == self._connected:
            return
        now = self._clock()
        if connected:
            log.info("Socket Mode link up (was down %.1f s)", now - self._down_at)
        else:
            log.warning("Socket Mode link down; slack_sdk is reconnecting")
            self._down_at, self._down_since = now, time.time()
        self._connected = connected

    async def _watch_forever(self) -> None:
        while True:
            self._mark(await self.handler.client.is_connected())
            await asyncio.sleep(self.poll)

    async def _start(self, connect_wait: float) -> None:
        self._watch = asyncio.create_task(self._watch_forever(), name="socket-link-watch")
        connecting = asyncio.create_task(self.handler.connect_async(), name="socket-link-connect")  # type: ignore[no-untyped-call]
        done, _ = await asyncio.wait({connecting}, timeout=connect_wait)
        if connecting in done:
            connecting.result()
            self._mark(await self.handler.client.is_connected())
            return
        # connect() keeps trying by itself; serve comes up and /healthz shows the link down.
        self._connecting = connecting
        log.warning("Socket Mode link not up after %g s; still trying in the background", connect_wait)


async def open_link(
    app: AsyncApp,
    app_token: str,
    *,
    grace: float = DEFAULT_GRACE,
    ping_interval: float = DEFAULT_PING_INTERVAL,
    connect_wait: float = DEFAULT_CONNECT_WAIT,
    poll: float = DEFAULT_POLL,
) -> SocketLink:
    """Check the app token, then connect ``app`` over Socket Mode.

    Raises ConfigError ("SLACK_APP_TOKEN was refused by Slack (invalid_auth)") when Slack refuses
    the token. Any other failure (Slack unreachable, 5xx, rate limited) is logged and left to the
    SDK's own retries, as is a connection that is not up within ``connect_wait`` seconds: the
    returned link then reports itself down until it connects.
    """
    url = await _first_url(app.client, app_token)
    handler = AsyncSocketModeHandler(app, app_token, logger=SDK_LOG, ping_interval=ping_interval)
    if url is not None:
        # connect() asks for a URL only when it has none; this one is fresh and unused.
        handler.client.wss_uri = url
    link = SocketLink(handler, grace=grace, poll=poll)
    await link._start(connect_wait)
    return link


class LinkOpener:
    """What serve wires: :meth:`open` fits SlackFront.open_socket, :meth:`check` is a readiness check.

    The readiness checks are built before serve starts, the link only when it does; this holds
    the link in between, and a link not yet opened counts as down.
    """

    def __init__(self, app_token: str, **options: Any) -> None:
        self.app_token = app_token
        self.options = options  # open_link's keyword arguments (grace, ping_interval, ...)
        self.link: SocketLink | None = None

    async def open(self, app: AsyncApp) -> Callable[[], Awaitable[None]]:
        self.link = await open_link(app, self.app_token, **self.options)
        return self.link.close

    def status(self) -> LinkStatus:
        if self.link is None:
            return LinkStatus(False, None, "Socket Mode link not opened yet", ok=False)
        return self.link.status()

    async def check(self) -> Status:
        status = self.status()
        return Status(status.ok, status.detail)


async def _first_url(client: AsyncWebClient, app_token: str) -> str | None:
    try:
        response = await client.apps_connections_open(app_token=app_token)
    except SlackApiError as err:
        code = _error_code(err)
        if code in REFUSALS:
            raise ConfigError(refusal_message(code)) from None
        log.warning("apps.connections.open failed (%s); the Socket Mode client will retry", code)
        return None
    except (aiohttp.ClientError, TimeoutError) as err:
        log.warning("cannot reach Slack for apps.connections.open (%s); the Socket Mode client will retry", err)
        return None
    return str(response["url"])


async def check_app_token(api_url: str, app_token: str) -> tuple[bool, str]:
    """For `dockbell check`: does Slack accept the app token? Opens no connection.

    apps.connections.open only issues a short-lived URL; nothing connects to it.
    """
    client = AsyncWebClient(base_url=api_url, timeout=CHECK_TIMEOUT)
    try:
        await client.apps_connections_open(app_token=app_token)
    except SlackApiError as err:
        code = _error_code(err)
        return False, refusal_message(code) if code in REFUSALS else f"apps.connections.open failed ({code})"
    except (aiohttp.ClientError, TimeoutError) as err:
        return False, f"cannot reach Slack at {api_url}: {err or type(err).__name__}"
    return True, "Slack accepts SLACK_APP_TOKEN (apps.connections.open)"


def _error_code(err: SlackApiError) -> str:
    """Slack's error code, or the HTTP status when the answer was not Slack's JSON (a 5xx page)."""
    response = err.response
    code = response.get("error") if isinstance(response.data, dict) else None
    return str(code) if code else f"HTTP {response.status_code}"
