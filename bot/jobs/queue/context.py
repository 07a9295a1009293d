"""What a handler is given (JobContext), and the worker's own record of a job it holds (Run)."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.jobs.queue.model import Job


class JobContext:
    """A handler's view of its job: the job itself, progress reporting, and the cancel signal.

    ``cancelled`` is set just before the handler's task is cancelled (by a user, a timeout or
    a stopping worker); code that cannot be interrupted at an await can poll it.
    """

    def __init__(self, job: Job, cancelled: asyncio.Event, report: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        self.job = job
        self.cancelled = cancelled
        self._report = report

    @property
    def attempt(self) -> int:
        """1 on the first run, 2 when re-run after a worker died..."""
        return self.job.attempts

    async def progress(self, **fields: Any) -> None:
        """Merge ``fields`` into the job's progress, store it and publish it; also a heartbeat.

        Never fails because Redis is down (the operation itself is worth more than its
        progress report): the latest progress is written again when the job finishes.
        """
        json.dumps(fields, allow_nan=False)  # a TypeError here is the handler's bug, raised where it is made
        await self._report(fields)


@dataclass(eq=False)
class Run:
    """One job this worker holds, from the moment its stream message is read until it is let go."""

    job_id: str
    msg_id: str
    run_id: str = field(default_factory=lambda: secrets.token_hex(8))  # fences this run's writes
    claimed: bool = False  # the claim script ran: the job's hash names this worker
    job: Job | None = None  # set once started
    progress: dict[str, Any] = field(default_factory=dict)
    progress_unsaved: bool = False  # the last progress write failed (Redis down)
    blocker: str = ""  # the job it waits behind for the lock, if any
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    letting_go: bool = False  # outcome decided, being written: heartbeat verdicts no longer apply
    stop_reason: str = ""  # why the worker cut it short: user | timeout | stop | lost
    cancelled_by: str = ""
    task: asyncio.Task[None] | None = None  # the whole life of the run
    handler: asyncio.Task[Any] | None = None  # the handler call only (or the check after a crash)

    @property
    def started(self) -> bool:
        return self.job is not None

    def interrupt(self, reason: str) -> None:
        """Cut the run short; the first reason given is the one reported."""
        if not self.stop_reason:
            self.stop_reason = reason
        self.cancelled.set()
        if self.handler is not None and not self.handler.done():
            self.handler.cancel()


@dataclass(frozen=True)
class Outcome:
    status: str  # succeeded | failed | cancelled (stored), handback | lost (not stored as such)
    result: str = ""
    error: str = ""


# The one type of a job handler: what it returns is the job's result line, what it raises its error.
JobHandler = Callable[[JobContext], Awaitable[str]]


@dataclass(frozen=True)
class Finding:
    """What a look at a job's target found, after the worker running the job died mid-run.

    ``done``: True, the work was done (``said`` is the job's result); False, it was not
    (``said`` says so, and why that is known); None, it cannot be told (``said`` gives what
    was seen).  Only what was seen counts: never a guess.
    """

    done: bool | None
    said: str


# Run by a worker that took over a job whose worker died while running it (see Worker's
# ``crash_checks``): the context's job is the dead run's, with its ``started_at``.
CrashCheck = Callable[[JobContext], Awaitable[Finding]]
