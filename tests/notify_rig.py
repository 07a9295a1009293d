"""A dockbell with crash notifications, for the notification tests and bench/crash.py.

Its own Redis database (so the session's dockbell and its queue are not touched), the fake
Slack with per-channel rate limits, and a ``watch:`` selector that sees only this session's
containers: other tests' containers dying on the same engine must not show up here.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import docker
import redis.asyncio as aioredis

from bot.config import Config, parse_config
from bot.fakeslack import FakeSlack
from bot.fakeslack.records import Message
from bot.jobs.watcher.watcher import Watcher
from bot.policy import yaml_with_lines
from bot.settings import Settings
from tests.rig import TEST_IMAGE, TEST_LABEL, Containers
from tests.stack import Stack

ALERTS = "C_ALERTS"
PAY_ALERTS = "C_PAYALERTS"


def notify_config(base: str, session: str, **overrides: str) -> Config:
    values = {
        "log_lines": "10",
        "recovered_after": "3s",
        "unhealthy_after": "2s",
        "unhealthy_checks": "2",
        "host_down_after": "2s",
        "breaker": "{crashes: 4, within: 10m}",
        **overrides,
    }
    extra = "\n".join(f"  {k}: {v}" for k, v in values.items())
    text = (
        base
        + f"""
notifications:
  channel: {ALERTS}
  routes:
    - {{on: {{labels: {{team: payments}}}}, channel: {PAY_ALERTS}}}
  watch: {{labels: {{{TEST_LABEL}: "{session}"}}}}
{extra}
"""
    )
    data, lines = yaml_with_lines(text, "notify-test.yml")
    return parse_config(data, "notify-test.yml", lines)


def prepare_slack(fake: FakeSlack) -> None:
    """Fresh records; the alert channels, each limited as Slack limits them (about 1 message/s)."""
    fake.reset()
    fake.add_channel(ALERTS, "alerts")
    fake.add_channel(PAY_ALERTS, "pay-alerts")
    fake.rate_limit_channel(ALERTS, 1.0, 1)
    fake.rate_limit_channel(PAY_ALERTS, 1.0, 1)


def make_container(
    containers: Containers,
    name: str,
    cmd: list[str],
    *,
    labels: dict[str, str] | None = None,
    restart: str | None = None,
    mem: str | None = None,
    healthcheck: dict[str, Any] | None = None,
    start: bool = True,
    api: docker.APIClient | None = None,
) -> str:
    """A container named and labelled like the rig's (removed by its cleanup); its full name."""
    api = api or containers.api
    full = f"dockbell-t{containers.session}-{name}"
    host_config = api.create_host_config(
        restart_policy={"Name": restart} if restart else None,
        mem_limit=mem,
        memswap_limit=mem,
    )
    created = api.create_container(
        TEST_IMAGE,
        cmd,
        name=full,
        labels={TEST_LABEL: containers.session, **(labels or {})},
        host_config=host_config,
        healthcheck=healthcheck,
    )
    cid = str(created["Id"])
    if api is containers.api:
        containers.created.append(cid)
    if start:
        api.start(cid)
    return full


def remove_quietly(api: docker.APIClient, name: str) -> None:
    with contextlib.suppress(docker.errors.APIError):
        api.remove_container(name, force=True)


def top_level(fake: FakeSlack, channel: str = ALERTS) -> list[Message]:
    return [m for m in fake.messages.get(channel, []) if not m.is_reply]


def replies(fake: FakeSlack, channel: str = ALERTS) -> list[Message]:
    return [m for m in fake.messages.get(channel, []) if m.is_reply]


def text_of(message: Message) -> str:
    parts = [message.text]
    for block in message.blocks or []:
        if isinstance(block.get("text"), dict):
            parts.append(str(block["text"].get("text", "")))
        for f in block.get("fields") or []:
            parts.append(str(f.get("text", "")))
        for el in block.get("elements") or []:
            if isinstance(el, dict) and isinstance(el.get("text"), str):
                parts.append(el["text"])
    return "\n".join(parts)


def naming(fake: FakeSlack, name: str, channel: str = ALERTS) -> list[Message]:
    return [m for m in top_level(fake, channel) if name in text_of(m)]


def rate_limited(fake: FakeSlack, *, notifications_only: bool = False) -> int:
    """429s the fake answered; ``notifications_only``: not counting jobs' status messages ("docker ...")."""
    return sum(
        1
        for c in fake.calls
        if c.http_status == 429 and not (notifications_only and str(c.args.get("text", "")).startswith("docker "))
    )


@dataclass
class NotifyBot:
    stack: Stack
    settings: Settings
    config: Config
    redis_url: str
    host: str = "local"

    @property
    def watcher(self) -> Watcher:
        watcher = self.stack.workers[self.host].worker.watcher
        assert watcher is not None
        return watcher


def db_url(redis_url: str, db: int) -> str:
    return redis_url.rsplit("/", 1)[0] + f"/{db}"


async def flush(url: str) -> None:
    client = aioredis.Redis.from_url(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()

