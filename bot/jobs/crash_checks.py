"""After a worker died running a start, stop or restart: look at the container before saying anything.

The engine carries out a request it has received whatever becomes of the client that sent
it: kill -9 of a worker mid-restart leaves the restart to finish (kill, die, stop, start,
restart events after the client is gone).  So "its effect is unknown" is often wrong, and
the worker that takes the job over (bot.jobs.queue.Worker's ``crash_checks``) asks these
checks first:

* restart: StartedAt later than the job's start, and running: it was restarted.
* stop: not running, FinishedAt later than the job's start: it was stopped.
* start: running, StartedAt later than the job's start: it was started.
* Nothing about the container changed, and it has no event (kill, die, stop, start,
  restart) since the job started: the request never reached the engine, so nothing was done.
* Events but no end yet (a stop waiting out its -t seconds): the engine is at work, and
  the check waits for it, up to the job's own timeout.
* Anything else cannot be told: "effect unknown", with what was seen.

Times: the job's ``started_at`` is the worker's clock, StartedAt the engine's; a worker runs
next to its engine, on the same clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.engine.gateway import DockerGateway
from bot.errors import DockbellError, NotFound
from bot.jobs.queue import CrashCheck, Finding, Job, JobContext

POLL = 0.5  # seconds between looks while the engine is still at work
# What a start, stop or restart makes the engine say about a container.
ACTIONS = frozenset({"kill", "die", "stop", "start", "restart"})
CONFIRMED = "confirmed from the container's {what} after the worker running it died"


@dataclass(frozen=True)
class Seen:
    """A container as inspect shows it, the times as epoch seconds (None: never)."""

    id: str
    name: str
    status: str
    running: bool
    started_at: float | None
    finished_at: float | None
    exit_code: int

    @classmethod
    def of(cls, inspected: dict[str, Any]) -> Seen:
        state = inspected.get("State") or {}
        return cls(
            id=str(inspected.get("Id", "")),
            name=str(inspected.get("Name", "")).lstrip("/"),
            status=str(state.get("Status", "")),
            running=bool(state.get("Running")),
            started_at=engine_time(state.get("StartedAt")),
            finished_at=engine_time(state.get("FinishedAt")),
            exit_code=int(state.get("ExitCode") or 0),
        )

    def started_after(self, moment: float) -> bool:
        return self.started_at is not None and self.started_at > moment

    def finished_after(self, moment: float) -> bool:
        return self.finished_at is not None and self.finished_at > moment

    @property
    def state(self) -> str:
        return "running" if self.running else f"{self.status} (exit code {self.exit_code})"


def engine_time(value: object) -> float | None:
    """The engine's RFC 3339 time as epoch seconds; None for its "never" (year 1) or nonsense."""
    if not isinstance(value, str) or not value or value.startswith("0001-"):
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def _nanos(moment: float) -> str:
    """A time as the engine's events API takes it exactly: seconds.nanoseconds."""
    ns = int(moment * 1_000_000_000)
    return f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}"


def unknown(seen: str) -> Finding:
    return Finding(None, f"the worker running it died; its effect is unknown ({seen}), check with `docker ps`")


def _exit_note(seen: Seen) -> str:
    return f" (exit code {seen.exit_code})" if not seen.running and seen.exit_code else ""


# A look at the container: a verdict, or None while the engine is still at work.
Judge = Callable[[Seen, frozenset[str], float], Finding | None]


def _restart(seen: Seen, actions: frozenset[str], began: float) -> Finding | None:
    if seen.started_after(began) and (seen.running or "restart" in actions):
        # Running, or the restart API's own event: not a restart policy bringing a crash back.
        return Finding(True, f"{seen.name}: restarted{_exit_note(seen)} ({CONFIRMED.format(what='StartedAt')})")
    if seen.started_after(began):
        return unknown(f"{seen.name} was started after the job began, and is {seen.state} now")
    if not actions:
        return Finding(
            False,
            f"{seen.name}: not restarted: the worker running it died before the engine began the restart "
            "(the container's StartedAt is unchanged, and it has no events since the job started)",
        )
    return None


def _stop(seen: Seen, actions: frozenset[str], began: float) -> Finding | None:
    if not seen.running and seen.finished_after(began):
        return Finding(True, f"{seen.name}: stopped{_exit_note(seen)} ({CONFIRMED.format(what='state')})")
    if not seen.running and not actions:
        return Finding(True, f"{seen.name}: already stopped ({CONFIRMED.format(what='state')})")
    if seen.running and seen.started_after(began):
        return unknown(f"{seen.name} was started again after the job began")
    if not actions:
        return Finding(False, f"{seen.name}: not stopped: it has no events since the job started")
    return None


def _start(seen: Seen, actions: frozenset[str], began: float) -> Finding | None:
    if seen.started_after(began):
        return Finding(True, f"{seen.name}: started{_exit_note(seen)} ({CONFIRMED.format(what='StartedAt')})")
    if seen.running and not actions:
        return Finding(True, f"{seen.name}: already running ({CONFIRMED.format(what='StartedAt')})")
    if not actions:
        return Finding(False, f"{seen.name}: not started: it has no events since the job started")
    return None


class ContainerCheck:
    """One verb's check: look, judge, and while the engine is at work, look again."""

    def __init__(self, docker: DockerGateway, judge: Judge, clock: Callable[[], float] = time.time) -> None:
        self.docker = docker
        self.judge = judge
        self.clock = clock

    async def __call__(self, ctx: JobContext) -> Finding:
        job = ctx.job
        began = job.started_at
        if began is None:
            return unknown("the job has no start time")
        # Up to the job's own timeout: a start, stop or restart that reached the engine is over by then.
        deadline = time.monotonic() + max(0.0, began + job.timeout_seconds - self.clock())
        said_waiting = False
        while True:
            try:
                finding = await self._look(job, began)
            except DockbellError as err:  # the engine away, too: nothing can be told
                return unknown(f"the container could not be inspected: {err}")
            if finding is not None:
                return finding
            if time.monotonic() >= deadline:
                return unknown(f"the engine was still at work on {_name(job)} at the job's timeout")
            if not said_waiting:
                said_waiting = True
                await ctx.progress(text=f"the worker running it died; waiting for the engine to finish {job.verb}")
            await asyncio.sleep(POLL)

    async def _look(self, job: Job, began: float) -> Finding | None:
        try:
            seen = Seen.of(await self.docker.inspect_container(job.target))
        except NotFound:
            return unknown(f"container {_name(job)} is gone")
        return self.judge(seen, await self._actions_since(seen.id, began), began)

    async def _actions_since(self, container_id: str, began: float) -> frozenset[str]:
        """What the engine did to the container since ``began``, from its event log."""
        since, until = _nanos(began), _nanos(self.clock())

        def read(api: Any) -> list[dict[str, Any]]:
            filters = {"type": ["container"], "container": [container_id]}
            return list(api.events(since=since, until=until, filters=filters, decode=True))

        events = await self.docker.call(read)
        threshold = int(began * 1_000_000_000)
        return frozenset(
            str(e.get("Action") or e.get("status"))
            for e in events
            if int(e.get("timeNano") or 0) >= threshold and str(e.get("Action") or e.get("status")) in ACTIONS
        )


def _name(job: Job) -> str:
    return str(job.args.get("target_name") or job.target)


def crash_checks_for(docker: DockerGateway) -> dict[str, CrashCheck]:
    """The checks a host's worker runs before re-running, or reporting, a job whose worker died."""
    judges: dict[str, Judge] = {"restart": _restart, "stop": _stop, "start": _start}
    checks: dict[str, Callable[[JobContext], Awaitable[Finding]]] = {
        verb: ContainerCheck(docker, judge) for verb, judge in judges.items()
    }
    return checks
