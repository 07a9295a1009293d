"""A host whose worker stops heartbeating: one "host unreachable" alert, and one "back" when it returns.

Serve runs this, not a worker.  A host's own watcher cannot report its own death, and with
one host there is no other worker to do it; serve is always up (it is what Slack talks
to), needs no Docker for this, and renders no Docker data: the alert names only the host
and the time of its last heartbeat.  Several serve replicas post it once: the alert is
claimed in Redis (SET NX per outage).

While the record says the host is down (``back_at`` unset), that host's watcher holds its
new top-level crash notifications (a worker that lost Redis may still reach Slack); when
the host is back, the restarted watcher replays what it missed and lists those crashes in
the alert's thread (bot/jobs/watcher/watcher.py, ``_check_down``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import redis.asyncio as aioredis

from bot.config import Config
from bot.jobs.queue import host_is_live
from bot.jobs.queue import keys as qkeys
from bot.jobs.watcher import keys
from bot.policy.model import Target
from bot.policy.selector import covers
from bot.slack.paced import PacedSlack
from bot.slack.render_notifications import host_unreachable, thread_reply, when

log = logging.getLogger(__name__)

RECORD_TTL = 7 * 86400
FORGOTTEN = 7 * 86400  # a host whose last heartbeat is older than this is not "unreachable" but gone


@dataclass
class DownRecord:
    since: float  # the last heartbeat before the outage
    channel: str
    ts: str = ""
    back_at: float | None = None
    missed_reported: bool = False


async def read_down(redis: aioredis.Redis, host: str) -> DownRecord | None:
    raw = await redis.get(keys.down(host))
    if not raw:
        return None
    try:
        data = json.loads(raw)
        return DownRecord(
            since=float(data["since"]),
            channel=str(data["channel"]),
            ts=str(data.get("ts", "")),
            back_at=None if data.get("back_at") is None else float(data["back_at"]),
            missed_reported=bool(data.get("missed_reported")),
        )
    except (ValueError, KeyError, TypeError):
        return None


async def write_down(redis: aioredis.Redis, host: str, record: DownRecord) -> None:
    await redis.set(keys.down(host), json.dumps(asdict(record)), ex=RECORD_TTL)


class HostWatch:
    def __init__(
        self,
        redis: aioredis.Redis,
        slack: PacedSlack,
        config: Config,
        *,
        every: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if config.notifications is None:
            raise ValueError("HostWatch needs a notifications section")
        self.redis = redis
        self.slack = slack
        self.config = config
        self.notifications = config.notifications
        self.every = every
        self.clock = clock
        self.alerts = 0

    def channel_for(self, host: str) -> str:
        """A route that selects hosts only (``on: {hosts: [...]}``) and matches; else the default channel."""
        target = Target(kind="host", name=host)
        for route in self.notifications.routes:
            sel = route.on
            if sel.hosts and not sel.limits_resources and covers(sel, host, target):
                return route.channel
        return self.notifications.channel

    async def run(self) -> None:
        while True:
            for host in self.config.hosts:
                try:
                    await self.check(host.name)
                except asyncio.CancelledError:
                    raise
                except Exception as err:  # Redis or Slack away: the next round tries again
                    log.debug("host reachability check of %s: %s", host.name, err)
            await asyncio.sleep(self.every)

    async def check(self, host: str) -> None:
        record = await read_down(self.redis, host)
        if await host_is_live(self.redis, host):
            if record is not None and record.back_at is None:
                await self._back(host, record)
            return
        last = await self.redis.zscore(qkeys.HOSTS, host)
        now = self.clock()
        if last is None or now - last < self.notifications.host_down_after_seconds or now - last > FORGOTTEN:
            return
        if record is not None and (record.back_at is None or record.since >= last):
            return  # this outage has its alert already
        if not await self.redis.set(f"{keys.down(host)}:claim:{int(last)}", "1", nx=True, ex=RECORD_TTL):
            return  # another serve replica posts it
        channel = self.channel_for(host)
        down = DownRecord(since=float(last), channel=channel)
        await write_down(self.redis, host, down)  # held from now, whether or not Slack takes the alert
        try:
            down.ts = await self.slack.post(channel, host_unreachable(host, down.since))
            self.alerts += 1
        except Exception as err:
            log.warning("could not post that host %s is unreachable: %s", host, err)
        await write_down(self.redis, host, down)

    async def _back(self, host: str, record: DownRecord) -> None:
        if not await self.redis.set(f"{keys.down(host)}:back:{int(record.since)}", "1", nx=True, ex=RECORD_TTL):
            return
        record.back_at = self.clock()
        await write_down(self.redis, host, record)
        if record.ts:
            try:
                await self.slack.update(
                    record.channel, record.ts, host_unreachable(host, record.since, back=record.back_at)
                )
                await self.slack.post(
                    record.channel,
                    thread_reply(
                        [f"`{host}` is reachable again at {when(record.back_at)}; its worker is catching up."]
                    ),
                    record.ts,
                )
            except Exception as err:
                log.warning("could not post that host %s is back: %s", host, err)
