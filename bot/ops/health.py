"""Liveness and readiness, for serve and for each worker.

Liveness (/livez) says only that the process is up and its event loop answers: that is
what a container orchestrator should restart on.  Readiness (/healthz) says whether the
process can do its job now, dependency by dependency; a Slack or Redis outage makes it
503 without getting a working process restarted.  Each dependency's check lives with
the package that knows it (Docker in bot.engine, Slack in bot.slack); this module only
runs them, with a timeout each, and caches the ones that cost a rate-limited call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis

from bot.core.redisconn import describe_failure

CHECK_TIMEOUT = 3.0


@dataclass(frozen=True)
class Status:
    ok: bool
    detail: str


Check = Callable[[], Awaitable[Status]]


def cached(check: Check, seconds: float, clock: Callable[[], float] = time.monotonic) -> Check:
    """``check``, asked at most once per ``seconds`` (Slack's auth.test is rate limited)."""
    last: tuple[float, Status] | None = None

    async def run() -> Status:
        nonlocal last
        now = clock()
        if last is None or now - last[0] >= seconds:
            last = (now, await check())
        return last[1]

    return run


def redis_check(redis: aioredis.Redis, url: str) -> Check:
    async def run() -> Status:
        try:
            await redis.ping()
            return Status(True, f"Redis at {safe_url(url)}")
        except Exception as err:
            return Status(False, f"cannot reach Redis at {safe_url(url)}: {describe_failure(err)}")

    return run


async def _bounded(name: str, check: Check) -> Status:
    try:
        return await asyncio.wait_for(check(), CHECK_TIMEOUT)
    except TimeoutError:
        return Status(False, f"{name} did not answer within {CHECK_TIMEOUT:g} s")
    except Exception as err:  # a check that raises is a failed check, not a 500
        return Status(False, f"{name} check failed: {err}")


class Readiness:
    def __init__(self, checks: Mapping[str, Check], on_failure: Callable[[str], None] | None = None) -> None:
        self.checks = dict(checks)
        self.on_failure = on_failure

    async def statuses(self) -> dict[str, Status]:
        names = list(self.checks)
        found = await asyncio.gather(*(_bounded(n, self.checks[n]) for n in names))
        return dict(zip(names, found, strict=True))

    async def report(self) -> dict[str, Any]:
        statuses = await self.statuses()
        if self.on_failure is not None:
            for name, status in statuses.items():
                if not status.ok:
                    self.on_failure(name)
        return {"ok": all(s.ok for s in statuses.values()), **{n: asdict(s) for n, s in statuses.items()}}


def safe_url(url: str) -> str:
    """A Redis URL without its password, for logs and health output."""
    parts = urlsplit(url)
    if parts.password is None and "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{host}" if user else f"***@{host}", parts.path, parts.query, ""))
