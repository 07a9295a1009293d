"""Redis is not trusted with identity: every job entry carries an HMAC.

Whoever can write to Redis could otherwise enqueue ``restart prod-db`` "as" an admin, or
rewrite a queued job's target, since the worker acts on what it reads there.  So the
process that puts a job on a stream (serve for commands and clicks, a worker for the
jobs its commands start) signs the job's request part: who asked, what, where, and
when.  A worker runs nothing whose signature is missing, does not match, or whose
``created_at`` is older than the entry's time to live; it fails the job with the reason
and the audit trail records the rejection.

The key is a secret shared by serve and the workers (DOCKBELL_QUEUE_SECRET).  Fields a
worker writes while running a job (status, progress, result) are not signed: they are
what the job did, not what it was asked to do.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from bot.core.types import ReplyTo, Requester
from bot.jobs.queue.model import Job

# The request part of a job.  A new field that changes what a job does must be added here.
SIGNED_FIELDS = (
    "id",
    "host",
    "verb",
    "requester",
    "reply_to",
    "target",
    "args",
    "approval_ref",
    "idempotent",
    "cancellable_running",
    "timeout_seconds",
    "lock_key",
    "created_at",
)

# Commands and clicks are answered within seconds; a job may wait behind others on its
# container for a while, but an entry older than this is a replay, not a request.
COMMAND_TTL = 15 * 60.0
JOB_TTL = 6 * 3600.0


class Rejected(Exception):
    """A job entry that must not run; the message says why, for the job's error and the audit."""


def _canonical(job: Job) -> bytes:
    data: dict[str, Any] = {}
    for name in SIGNED_FIELDS:
        value = getattr(job, name)
        data[name] = dataclasses.asdict(value) if isinstance(value, Requester | ReplyTo) else value
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


@dataclass(frozen=True)
class Signer:
    key: bytes

    @classmethod
    def from_secret(cls, secret: str) -> Signer:
        if not secret:
            raise ValueError("an empty queue secret signs nothing")
        return cls(hashlib.sha256(b"dockbell queue v1\x00" + secret.encode()).digest())

    def sign(self, job: Job) -> str:
        return "v1=" + hmac.new(self.key, _canonical(job), hashlib.sha256).hexdigest()

    def signed(self, job: Job) -> Job:
        return dataclasses.replace(job, sig=self.sign(job))

    def verify(self, job: Job, *, now: float, ttl: float) -> None:
        """Raise Rejected unless ``job`` is signed with this key and still fresh."""
        if not job.sig:
            raise Rejected("rejected: the queue entry is not signed")
        if not hmac.compare_digest(job.sig, self.sign(job)):
            raise Rejected("rejected: the queue entry's signature does not match (altered or forged)")
        if now - job.created_at > ttl:
            raise Rejected(f"rejected: the queue entry expired ({now - job.created_at:.0f} s old, limit {ttl:.0f} s)")
        if job.created_at - now > 60:  # a clock skew beyond this is an attempt to outlive the TTL
            raise Rejected("rejected: the queue entry is dated in the future")

