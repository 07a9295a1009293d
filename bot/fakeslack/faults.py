"""Failure injection and rate limiting for the fake Slack, all on the injectable clock."""

from __future__ import annotations

import math
from dataclasses import dataclass

HTML_ERROR_PAGE = "<html><head><title>{status}</title></head><body><h1>{status} {reason}</h1></body></html>"


@dataclass(frozen=True)
class Injection:
    """What the next call to a method answers instead of running it.

    ``error`` set → HTTP 200 ``{"ok": false, "error": error}``; otherwise ``status`` 429 →
    ``Retry-After`` + ``{"ok": false, "error": "ratelimited"}``; any other status → an HTML page,
    as Slack's load balancers send for 500/503.
    """

    status: int = 429
    retry_after: int = 1
    error: str | None = None


@dataclass
class TokenBucket:
    """Classic token bucket: ``burst`` tokens, refilled at ``per_second``."""

    per_second: float
    burst: int
    tokens: float
    updated: float

    @classmethod
    def full(cls, per_second: float, burst: int, now: float) -> TokenBucket:
        return cls(per_second, burst, float(burst), now)

    def take(self, now: float) -> int:
        """Take one token; return 0 on success or the whole seconds to wait (Retry-After)."""
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(float(self.burst), self.tokens + elapsed * self.per_second)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0
        # Retry-After must be an integer (slack_sdk does int(header)); never tell clients "0"
        return max(1, math.ceil((1.0 - self.tokens) / self.per_second))
