"""Incidents: one per container name, so a crash loop is one message with a growing count.

State machine (one incident)::

    (none) --crash / unhealthy--> open --crash within loop_window--> open (count+1, thread reply)
                                   |   --N crashes in M min, restart always/unless-stopped--> open, loop
                                   |   --running steadily recovered_after s / healthy--> recovered
                                   |   --stopped / removed / redeployed (intended)--> ended
    recovered --crash / unhealthy within loop_window--> open again (same message: flapping)

Kept in Redis (hash per host), so a restarted worker edits the same message; an incident
with no message yet (``ts == ""``) is posted again by the worker that loads it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import redis.asyncio as aioredis

from bot.jobs.watcher import keys
from bot.notifications_config import NotificationsConfig
from bot.slack.render_notifications import CrashView

KEEP = 7 * 86400  # an incident's record outlives its last change by this much


@dataclass
class Incident:
    name: str
    host: str
    cid: str
    channel: str
    kind: str  # crash | unhealthy
    opened: float
    last: float
    count: int = 1
    exit_code: int | None = None
    oom: bool = False
    explanation: str = ""
    image: str = ""
    project: str = ""
    restart_policy: str = "no"
    restart_count: int = 0
    crash_times: list[float] = field(default_factory=list)
    loop: bool = False
    state: str = "open"  # open | recovered | ended
    state_note: str = ""
    late: str = ""
    error_lines: list[str] = field(default_factory=list)
    tail_lines: list[str] = field(default_factory=list)
    health: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    ts: str = ""  # the top-level message ("" until posted)
    in_burst: bool = False  # posted as part of a summary: updates go to the summary's thread
    last_start: float = 0.0  # when it last started after its last crash (recovery)
    ended_at: float = 0.0
    snoozed: str = ""

    def view(self) -> CrashView:
        return CrashView(
            host=self.host,
            name=self.name,
            image=self.image,
            project=self.project,
            kind=self.kind,
            exit_code=self.exit_code,
            explanation=self.explanation,
            restart_policy=self.restart_policy,
            restart_count=self.restart_count,
            count=self.count,
            first_seen=self.opened,
            last_seen=self.last,
            state=self.state,
            state_note=self.state_note,
            loop=self.loop,
            late=self.late,
            error_lines=tuple(self.error_lines),
            tail_lines=tuple(self.tail_lines),
            health=tuple(self.health),
            changes=tuple(self.changes),
            snoozed=self.snoozed,
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Incident | None:
        try:
            data = json.loads(raw)
            names = set(cls.__dataclass_fields__)
            return cls(**{k: v for k, v in data.items() if k in names})
        except (ValueError, TypeError):
            return None


@dataclass(frozen=True)
class Occurrence:
    """One crash or unhealthy spell as the watcher saw it, with what the notification shows."""

    name: str
    cid: str
    channel: str
    kind: str
    at: float
    exit_code: int | None
    oom: bool
    explanation: str
    image: str
    project: str
    restart_policy: str
    restart_count: int
    error_lines: tuple[str, ...] = ()
    tail_lines: tuple[str, ...] = ()
    health: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()
    late: str = ""


@dataclass(frozen=True)
class Change:
    """What an occurrence did to its incident: a new one to post, or an update (and whether the loop tripped)."""

    incident: Incident
    new: bool
    tripped: bool = False
    reopened: bool = False


class IncidentBook:
    def __init__(
        self, redis: aioredis.Redis, host: str, config: NotificationsConfig, clock: Callable[[], float] = time.time
    ) -> None:
        self.redis = redis
        self.host = host
        self.config = config
        self.clock = clock
        self.open: dict[str, Incident] = {}

    async def load(self) -> list[Incident]:
        raw = await self.redis.hgetall(keys.incidents(self.host))
        now = self.clock()
        stale = []
        for name, value in raw.items():
            inc = Incident.from_json(value)
            key = name.decode() if isinstance(name, bytes) else str(name)
            if inc is None or now - inc.last > KEEP:
                stale.append(key)
                continue
            self.open[inc.name] = inc
        if stale:
            await self.redis.hdel(keys.incidents(self.host), *stale)
        return list(self.open.values())

    async def save(self, inc: Incident) -> None:
        await self.redis.hset(keys.incidents(self.host), inc.name, inc.to_json())

    def get(self, name: str) -> Incident | None:
        return self.open.get(name)

    def _current(self, name: str, at: float) -> Incident | None:
        inc = self.open.get(name)
        if inc is None or inc.state == "ended":
            return None
        if at - inc.last > self.config.loop_window_seconds:
            return None  # an old incident: this is a new one
        return inc

    def record(self, occ: Occurrence) -> Change:
        """Fold one occurrence into its incident (a new one, or the open one within the loop window)."""
        inc = self._current(occ.name, occ.at)
        if inc is None:
            inc = Incident(
                name=occ.name,
                host=self.host,
                cid=occ.cid,
                channel=occ.channel,
                kind=occ.kind,
                opened=occ.at,
                last=occ.at,
            )
            self._apply(inc, occ)
            self.open[occ.name] = inc
            return Change(inc, new=True, tripped=self._trip(inc))
        reopened = inc.state == "recovered"
        inc.count += 1
        inc.last = max(inc.last, occ.at)
        inc.state, inc.state_note, inc.last_start = "open", "", 0.0
        inc.kind = occ.kind if inc.kind == occ.kind else "crash" if "crash" in (inc.kind, occ.kind) else occ.kind
        self._apply(inc, occ)
        return Change(inc, new=False, tripped=self._trip(inc), reopened=reopened)

    def _apply(self, inc: Incident, occ: Occurrence) -> None:
        inc.cid = occ.cid
        inc.exit_code = occ.exit_code if occ.kind == "crash" else inc.exit_code
        inc.oom = occ.oom
        inc.explanation = occ.explanation
        inc.image, inc.project = occ.image, occ.project
        inc.restart_policy, inc.restart_count = occ.restart_policy, occ.restart_count
        inc.error_lines, inc.tail_lines = list(occ.error_lines), list(occ.tail_lines)
        inc.health = list(occ.health) or inc.health
        inc.changes = list(occ.changes) or inc.changes
        inc.late = occ.late or inc.late
        if occ.kind == "crash":
            window = self.config.breaker.within_seconds
            inc.crash_times = [t for t in inc.crash_times if occ.at - t <= window] + [occ.at]

    def _trip(self, inc: Incident) -> bool:
        """The breaker: N crashes in M minutes under a policy that restarts for ever."""
        if inc.loop or inc.restart_policy not in ("always", "unless-stopped"):
            return False
        if len(inc.crash_times) >= self.config.breaker.crashes:
            inc.loop = True
            return True
        return False

    def started(self, name: str, at: float) -> None:
        inc = self.open.get(name)
        if inc is not None and inc.state == "open" and inc.kind == "crash" and at >= inc.last:
            inc.last_start = at

    def recovered_due(self, now: float) -> list[Incident]:
        """Crash incidents whose container has been running steadily long enough since its last crash."""
        wait = self.config.recovered_after_seconds
        return [
            inc
            for inc in self.open.values()
            if inc.state == "open" and inc.kind == "crash" and inc.last_start and now - inc.last_start >= wait
        ]

    def recover(self, inc: Incident, note: str, at: float) -> None:
        inc.state, inc.state_note, inc.ended_at = "recovered", note, at
        inc.loop = False
        inc.last_start = 0.0

    def end(self, inc: Incident, note: str, at: float) -> None:
        inc.state, inc.state_note, inc.ended_at = "ended", note, at

    def unposted(self) -> list[Incident]:
        return [inc for inc in self.open.values() if not inc.ts]
