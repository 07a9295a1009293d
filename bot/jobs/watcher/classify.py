"""Docker events in, findings out: a crash, an intended stop, a start, a health change (pure).

The engine's sequences (docker-and-queue.md, A3.1, verified):

* a crash: ``die`` (no ``kill`` before it); under a restart policy ``die``/``start`` pairs;
* an OOM kill: ``oom``, then ``die 137``;
* ``docker stop``: ``kill 15`` (``kill 9`` after the timeout), ``die``, ``stop``;
* ``docker rm -f``: ``kill 9``, ``die 137``, ``destroy``;
* a compose redeploy: the old container's ``kill``/``die``/``stop``/``destroy``, a ``create``
  of the same project and service.

So a ``die`` with no ``kill`` before it is decided at once (nothing else can explain it),
which keeps the notification fast.  A ``die`` after a ``kill`` waits up to ``settle``
seconds for what follows: a ``stop``, a ``destroy`` or a ``create`` of the same service
makes it intended; nothing makes it a crash ("an outside kill").  The wait is measured on
the watcher's clock when the event arrives, so a replayed ``die`` also waits for the
``stop`` replayed right after it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.jobs.watcher.facts import COMPOSE_PROJECT, COMPOSE_SERVICE

SETTLE = 1.5  # seconds a die after a kill waits for its stop / destroy / create
KILL_WINDOW = 3600 * 10**9  # a kill this long (ns) before a die still explains it (a long stop -t)
_META = frozenset({"name", "image", "exitCode", "signal", "execDuration"})


@dataclass(frozen=True)
class Event:
    ns: int
    action: str  # die, oom, kill, stop, start, destroy, create, restart, health_status
    cid: str
    name: str
    image: str
    attributes: Mapping[str, str] = field(default_factory=dict, hash=False)
    status: str = ""  # for health_status: healthy | unhealthy | starting

    @property
    def key(self) -> str:
        """What replay deduplicates on: the same event comes back with the same three."""
        return f"{self.ns}:{self.cid[:24]}:{self.action}"

    @property
    def exit_code(self) -> int | None:
        raw = self.attributes.get("exitCode")
        try:
            return int(raw) if raw is not None else None
        except ValueError:
            return None

    @property
    def labels(self) -> dict[str, str]:
        return {k: v for k, v in self.attributes.items() if k not in _META}

    @property
    def service(self) -> tuple[str, str] | None:
        project, service = self.attributes.get(COMPOSE_PROJECT), self.attributes.get(COMPOSE_SERVICE)
        return (project, service) if project and service else None

    @classmethod
    def from_docker(cls, raw: Mapping[str, Any]) -> Event | None:
        """None for anything but a container event with an ID and a time."""
        actor = raw.get("Actor") or {}
        attrs = {str(k): str(v) for k, v in (actor.get("Attributes") or {}).items()}
        action = str(raw.get("Action") or raw.get("status") or "")
        cid = str(actor.get("ID") or raw.get("id") or "")
        ns = raw.get("timeNano") or int(raw.get("time") or 0) * 10**9
        if raw.get("Type", "container") != "container" or not cid or not ns or not action:
            return None
        status = ""
        if action.startswith("health_status"):
            status = action.partition(":")[2].strip()
            action = "health_status"
        return cls(int(ns), action, cid, attrs.get("name", ""), attrs.get("image", ""), attrs, status)


@dataclass(frozen=True)
class Finding:
    """What the watcher acts on.  ``kind``: crash | intended | started | health | gone."""

    kind: str
    event: Event
    oom: bool = False
    how: str = ""  # intended: stopped | removed | redeployed


@dataclass
class _Pending:
    die: Event
    oom: bool
    deadline: float  # watcher clock


@dataclass
class Classifier:
    settle: float = SETTLE
    clock: Callable[[], float] = time.monotonic
    _kills: dict[str, int] = field(default_factory=dict)
    _ooms: dict[str, int] = field(default_factory=dict)
    _pending: dict[str, _Pending] = field(default_factory=dict)

    def feed(self, event: Event) -> list[Finding]:
        out: list[Finding] = []
        if event.action == "kill":
            self._kills[event.cid] = event.ns
        elif event.action == "oom":
            self._ooms[event.cid] = event.ns
        elif event.action == "die":
            out += self._die(event)
        elif event.action in ("stop", "destroy"):
            pending = self._pending.pop(event.cid, None)
            if pending is not None:
                out.append(Finding("intended", pending.die, how="stopped" if event.action == "stop" else "removed"))
            if event.action == "destroy":
                out.append(Finding("gone", event))
                self._forget(event.cid)
        elif event.action == "create":
            out += self._redeployed(event)
        elif event.action in ("start", "restart"):
            out.append(Finding("started", event))
        elif event.action == "health_status":
            out.append(Finding("health", event))
        return out

    def _die(self, event: Event) -> list[Finding]:
        killed = self._kills.pop(event.cid, None)
        oom_at = self._ooms.pop(event.cid, None)
        oom = oom_at is not None and event.ns - oom_at < 60 * 10**9
        out: list[Finding] = []
        earlier = self._pending.pop(event.cid, None)
        if earlier is not None:  # a second die before the first settled: the first was a crash
            out.append(Finding("crash", earlier.die, oom=earlier.oom))
        if killed is not None and 0 <= event.ns - killed < KILL_WINDOW and not oom:
            self._pending[event.cid] = _Pending(event, oom, self.clock() + self.settle)
            return out
        out.append(Finding("crash", event, oom=oom))
        return out

    def _redeployed(self, event: Event) -> list[Finding]:
        service = event.service
        if service is None:
            return []
        out = []
        for cid, pending in list(self._pending.items()):
            if pending.die.service == service:
                del self._pending[cid]
                out.append(Finding("intended", pending.die, how="redeployed"))
        return out

    def tick(self) -> list[Finding]:
        """Dies whose settle time passed with nothing to explain them: crashes (an outside kill)."""
        now = self.clock()
        due = [cid for cid, p in self._pending.items() if p.deadline <= now]
        return [Finding("crash", (p := self._pending.pop(cid)).die, oom=p.oom) for cid in due]

    def earliest_pending(self) -> Event | None:
        """The oldest die still settling: the cursor must not move past it."""
        dies = [p.die for p in self._pending.values()]
        return min(dies, key=lambda e: e.ns) if dies else None

    @property
    def waiting(self) -> int:
        return len(self._pending)

    def _forget(self, cid: str) -> None:
        self._kills.pop(cid, None)
        self._ooms.pop(cid, None)
