"""The thread a command's jobs post their status messages in, when it was clicked from one.

A crash notification's Restart is clicked on the notification; the job it queues belongs in
that notification's thread (beside the incident's details), not at the top of the channel.
The runner sets it around the command a click stands for; the job desk reads it, as it reads
an approved run's thread (bot/jobs/approval_pass.py).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

_thread: contextvars.ContextVar[str] = contextvars.ContextVar("dockbell_job_thread", default="")


def current() -> str:
    """The thread ts the current command's jobs go in; "" for the channel."""
    return _thread.get()


@contextlib.contextmanager
def within(thread_ts: str) -> Iterator[None]:
    token = _thread.set(thread_ts)
    try:
        yield
    finally:
        _thread.reset(token)
