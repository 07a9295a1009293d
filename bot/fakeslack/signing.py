"""Slack request signing (v0), as Slack does it when it calls the bot.

Algorithm: ``"v0=" + hex(HMAC_SHA256(secret, f"v0:{timestamp}:{raw_body}"))`` over the exact
bytes sent (slack-platform.md §2.1). Kept independent of slack_sdk on purpose: the contract
test compares both, so a regression in either side is caught.
"""

from __future__ import annotations

import hashlib
import hmac
import time

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def sign(secret: str, timestamp: str | int, body: str | bytes) -> str:
    """Return the ``X-Slack-Signature`` value for ``body`` sent at ``timestamp``."""
    raw = body.decode("utf-8") if isinstance(body, bytes) else body
    basestring = f"v0:{timestamp}:{raw}".encode()
    digest = hmac.new(secret.encode("utf-8"), basestring, hashlib.sha256).hexdigest()
    return f"v0={digest}"


def signed_headers(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack sends with a form-encoded command or interaction request.

    ``timestamp`` defaults to the real wall clock because the bot verifies against its own
    clock (Bolt rejects anything more than 300 s away).
    """
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": sign(secret, ts, body),
        "Content-Type": FORM_CONTENT_TYPE,
    }
