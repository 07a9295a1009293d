"""Health of the three things dockbell needs: Docker, Redis, Slack."""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from typing import Any

import redis.asyncio as aioredis

from bot.engine.gateway import DockerGateway
from bot.errors import DockbellError
from bot.slack.out import SlackOut

CHECK_TIMEOUT = 2.0
SLACK_CACHE_SECONDS = 60.0  # auth.test is rate limited; a health probe every few seconds must not spend it


@dataclass
class Status:
    ok: bool
    detail: str


class HealthChecker:
    def __init__(self, docker: DockerGateway, redis: aioredis.Redis, slack: SlackOut, redis_url: str) -> None:
        self.docker, self.redis, self.slack, self.redis_url = docker, redis, slack, redis_url
        self._slack_cached: tuple[float, Status] | None = None

    async def check_docker(self) -> Status:
        try:
            version = await asyncio.wait_for(self.docker.version(), CHECK_TIMEOUT)
            return Status(True, f"Docker {version.get('Version', '?')} at {self.docker.base_url}")
        except DockbellError as err:
            return Status(False, str(err))
        except TimeoutError:
            return Status(False, f"Docker at {self.docker.base_url} did not answer within {CHECK_TIMEOUT:g}s")

    async def check_redis(self) -> Status:
        try:
            await asyncio.wait_for(self.redis.ping(), CHECK_TIMEOUT)
            return Status(True, f"Redis at {_safe_url(self.redis_url)}")
        except Exception as err:
            return Status(False, f"cannot reach Redis at {_safe_url(self.redis_url)}: {err}")

    async def check_slack(self, *, use_cache: bool = True) -> Status:
        now = time.monotonic()
        if use_cache and self._slack_cached and now - self._slack_cached[0] < SLACK_CACHE_SECONDS:
            return self._slack_cached[1]
        try:
            info = await asyncio.wait_for(self.slack.auth_test(), CHECK_TIMEOUT * 3)
            status = Status(True, f"Slack team {info.get('team', '?')} as {info.get('user', '?')}")
        except Exception as err:
            status = Status(False, f"Slack auth.test failed: {err}")
        self._slack_cached = (now, status)
        return status

    async def report(self) -> dict[str, Any]:
        docker, redis, slack = await asyncio.gather(self.check_docker(), self.check_redis(), self.check_slack())
        parts = {"docker": asdict(docker), "redis": asdict(redis), "slack": asdict(slack)}
        return {"ok": all(p["ok"] for p in parts.values()), **parts}


def _safe_url(url: str) -> str:
    """A Redis URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
