"""A faithful local fake Slack: the test rig's and the playground's, one implementation for both.

* :class:`FakeSlack` serves the Web API (``/api/<method>``), response_urls (``/hooks/...``)
  and file uploads (``/upload/v1/<ticket>``) on 127.0.0.1, validating like Slack and recording
  everything for assertions.
* :class:`SocketModeLink` (``FakeSlack.link``) is Socket Mode: ``apps.connections.open`` hands
  out ``ws://`` URLs to its ``/link/`` WebSocket, where tests push envelopes, read acks, ask for a
  reconnect and cause outages.
* :class:`SlackSender` plays the Slack client: signed slash commands, button clicks and Events
  API deliveries (``mention``, ``dm``, ``edit``, ``delete``, ``bot_message``, ``own_message``,
  ``redeliver_event``, ``url_verification``: bot/fakeslack/events.py), each answered with a
  :class:`SentEvent`; :class:`SocketSender` sends the same over the Socket Mode link.
* :func:`sign` / :func:`signed_headers` implement request signing; :func:`validate_blocks`
  implements Block Kit limits.
"""

from .blockkit import validate_blocks
from .client import AckResult, SlackSender, find_action
from .events import SentEvent
from .faults import Injection, TokenBucket
from .hooks import MAX_AGE_SECONDS, MAX_USES, ResponseUrl
from .records import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    Call,
    Channel,
    Edit,
    Ephemeral,
    Message,
    ResponsePost,
    UploadedFile,
    User,
)
from .server import DEFAULT_APP_TOKEN, DEFAULT_SCOPES, RESPONSE_URL, UPLOAD, FakeSlack
from .signing import sign, signed_headers
from .socketmode import Envelope, LinkConnection, SocketAck, SocketModeLink
from .socketsender import SocketSender
from .webapi import METHODS, ApiError

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "DEFAULT_APP_TOKEN",
    "DEFAULT_SCOPES",
    "MAX_AGE_SECONDS",
    "MAX_USES",
    "METHODS",
    "RESPONSE_URL",
    "UPLOAD",
    "AckResult",
    "ApiError",
    "Call",
    "Channel",
    "Edit",
    "Envelope",
    "Ephemeral",
    "FakeSlack",
    "Injection",
    "LinkConnection",
    "Message",
    "ResponsePost",
    "ResponseUrl",
    "SentEvent",
    "SlackSender",
    "SocketAck",
    "SocketModeLink",
    "SocketSender",
    "TokenBucket",
    "UploadedFile",
    "User",
    "find_action",
    "sign",
    "signed_headers",
    "validate_blocks",
]
