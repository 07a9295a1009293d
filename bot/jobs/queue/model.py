"""What a job is, and how it is written to its Redis hash (one JSON value per field)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.core.types import ReplyTo, Requester
from bot.jobs.queue import keys


class JobStatus(StrEnum):
    """A job's state.  Only the queue's Lua scripts move a job between states::

        enqueue ──▶ QUEUED ──claim (and its lock)──▶ RUNNING ──handler returns──▶ SUCCEEDED
                      │                                 │ ├──handler raises / timeout──▶ FAILED
                      │ cancel                          │ ├──cancel, where it can take effect──▶ CANCELLED
                      ▼                                 │ ├──worker died, not idempotent──▶ INTERRUPTED
                  CANCELLED                             │ └──worker died, its crash check saw the work done──▶ SUCCEEDED
                                                        └──worker died or handed back, idempotent──▶ QUEUED

    SUCCEEDED, FAILED, CANCELLED and INTERRUPTED are final: a finished job never runs again.

    A job whose worker died mid-run stays RUNNING, held by the worker that took it over,
    while that worker checks the target (``Worker.crash_checks``: a restart is done if the
    container's StartedAt moved and it runs).  An INTERRUPTED job's error says what the
    check saw: not done, or that its effect is unknown.

    A cancel takes effect on a queued job of any verb (it never starts), and on a running one
    only when its verb can be stopped mid-run (a pull: bot/jobs/verbs.py).  For any other
    running job (start, stop, restart: one engine call, which cannot be taken back) a cancel
    only records who asked: the job runs to its end and its message says that the cancel
    came too late.  So CANCELLED always means that the job did not do its work.
    """

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        return self not in (JobStatus.QUEUED, JobStatus.RUNNING)


@dataclass(frozen=True, kw_only=True)
class Job:
    """One long Docker operation.  Frozen: changes go through the queue, which returns a new Job."""

    id: str
    host: str
    verb: str
    requester: Requester  # who asked
    reply_to: ReplyTo  # where its status message and outcome go
    target: str = ""  # container name/ID or image ref, "" if none
    args: dict[str, Any] = field(default_factory=dict)  # JSON only: nothing from chat is ever unpickled
    approval_ref: str | None = None
    idempotent: bool = False  # safe to run again after the worker running it died
    # A cancel can still stop it once running (declared per verb in bot/jobs/verbs.py).  The
    # worker decides by its own handler table, not by this field; this one is for the
    # status message (whether to offer Cancel) and the answer to a cancel request.
    cancellable_running: bool = False
    timeout_seconds: float = 300.0  # never unlimited
    lock_key: str | None = None  # e.g. "container:<id>": jobs sharing it run one at a time, in enqueue order
    status: JobStatus = JobStatus.QUEUED
    created_at: float = 0.0  # set by enqueue when 0
    started_at: float | None = None
    finished_at: float | None = None
    heartbeat_at: float | None = None
    progress: dict[str, Any] = field(default_factory=dict)
    result: str = ""  # summary of a success
    error: str = ""  # why it failed, was cancelled or interrupted
    attempts: int = 0  # runs started
    worker_id: str | None = None
    cancel_requested_by: str | None = None
    seq: int = 0  # enqueue order, global
    version: int = 0  # bumped by every published change; lets watchers drop stale events
    sig: str = ""  # HMAC over the request part (bot.jobs.queue.signing); set by JobQueue.enqueue

    @property
    def finished(self) -> bool:
        return self.status.finished

    @property
    def cancel_would_stop(self) -> bool:
        """Whether a cancel asked now can still take effect: queued, or running and stoppable."""
        if self.status is JobStatus.QUEUED:
            return True
        return self.status is JobStatus.RUNNING and self.cancellable_running

    @property
    def cancelling(self) -> bool:
        """Someone asked, and its worker is stopping it (within a heartbeat)."""
        return self.status is JobStatus.RUNNING and self.cancellable_running and self.cancel_requested_by is not None

    @property
    def cancel_came_too_late(self) -> bool:
        """Someone asked to cancel, and the job went on (or goes on) to do its work regardless."""
        if self.cancel_requested_by is None:
            return False
        if self.status is JobStatus.RUNNING:
            return not self.cancellable_running
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)

    def to_fields(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Requester | ReplyTo):
                value = dataclasses.asdict(value)
            out[f.name] = json.dumps(value, allow_nan=False, separators=(",", ":"))
        return out

    @classmethod
    def from_fields(cls, raw: Mapping[Any, Any]) -> Job:
        """Read a stored hash; fields the dataclass does not know (queue internals) are ignored."""
        data = {text(k): json.loads(text(v)) for k, v in raw.items()}
        kwargs = {f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data}
        kwargs["requester"] = Requester(**kwargs["requester"])
        kwargs["reply_to"] = ReplyTo(**kwargs["reply_to"])
        kwargs["status"] = JobStatus(kwargs.get("status", JobStatus.QUEUED))
        return cls(**kwargs)


@dataclass(frozen=True)
class WorkerInfo:
    worker_id: str
    host: str
    hostname: str
    pid: int
    started_at: float
    heartbeat_at: float
    running: tuple[str, ...]  # ids of the jobs it holds (running or waiting for a lock)
    info: dict[str, Any]  # free-form: engine version, container counts...

    @classmethod
    def from_fields(cls, raw: Mapping[Any, Any]) -> WorkerInfo:
        data = {text(k): json.loads(text(v)) for k, v in raw.items()}
        return cls(
            worker_id=data["worker_id"],
            host=data["host"],
            hostname=data.get("hostname", ""),
            pid=int(data.get("pid", 0)),
            started_at=float(data.get("started_at", 0.0)),
            heartbeat_at=float(data.get("heartbeat_at", 0.0)),
            running=tuple(data.get("running", ())),
            info=dict(data.get("info", {})),
        )


def job_id_for(*parts: str) -> str:
    """A short, stable id from what identifies the request (e.g. Slack's trigger id), like "j-3f2a1b0c9d".

    40 bits: a collision needs about a million jobs kept at once.
    """
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return "j-" + digest[:10]


def text(value: Any) -> str:
    """redis-py returns bytes unless the client decodes responses; accept both."""
    return value.decode() if isinstance(value, bytes) else str(value)


def check_new(job: Job) -> None:
    """Refuse what cannot be stored safely; a programming error, hence ValueError."""
    if not keys.valid_name(job.id):
        raise ValueError(f"bad job id {job.id!r}")
    if not keys.valid_name(job.host):
        raise ValueError(f"bad host name {job.host!r}")
    if job.lock_key is not None and not keys.valid_lock_key(job.lock_key):
        raise ValueError(f"bad lock key {job.lock_key!r}")
    if not (0 < job.timeout_seconds <= 7 * 86400) or not math.isfinite(job.timeout_seconds):
        raise ValueError(f"timeout_seconds must be positive and finite, not {job.timeout_seconds!r}")
    for name in ("args", "progress"):
        try:
            json.dumps(getattr(job, name), allow_nan=False)
        except (TypeError, ValueError) as err:
            raise ValueError(f"job {name} must be plain JSON: {err}") from None
