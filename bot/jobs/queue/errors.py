"""The queue's errors, in dockbell's one error tree (bot/errors.py)."""

from __future__ import annotations

from bot.errors import ServiceUnavailable, UserError


class QueueUnavailable(ServiceUnavailable):
    """Redis cannot be reached; every public queue call raises this instead of redis-py's errors."""


class JobNotFound(UserError):
    """No job has this id (never enqueued, or finished longer ago than the retention)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"No such job: {job_id}")
        self.job_id = job_id


class EffectUnknown(UserError):
    """Raised by a handler a cancel cut short when it cannot tell whether its work happened.

    The job then ends ``interrupted`` with this message: "cancelled" would claim nothing
    was done, "succeeded" that it was.
    """
