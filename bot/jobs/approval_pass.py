"""The approved run of a command, as the job-submission path sees it.

A command that an ``approvals:`` rule covers never reaches its handler until it is approved
(bot/jobs/approval_flow.py).  Once it is, the flow runs the very same command line again,
as its requester, inside :func:`approved_run`; while that context is active:

* the handler may go on past ``require_approval_pass`` (the safety net that every mutating
  handler calls before it acts), and
* ``JobDesk.submit`` puts each job's status message in the request's thread and tags the
  job with the approval (``approval_ref``, and the approvers for its audit record).

A ContextVar and not an argument, because handlers are plain functions written by many
hands: the pass reaches exactly the task that runs the approved command (asyncio copies
the context into tasks it starts, never into other commands' tasks), and it is reset when
that run ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

from bot.errors import UserError
from bot.policy import Decision


@dataclass
class ApprovedRun:
    """One approved request being run; the fields below ``approvers`` are filled in by the run."""

    approval_id: str
    rule_ref: str
    thread_ts: str  # the request message: job status messages go in its thread
    approvers: tuple[str, ...]
    reached: bool = False  # the flow's hook saw the command (it was not refused before that)
    void: str = ""  # why the approval no longer holds (the container was recreated...)
    error: str = ""  # what the handler answered when it refused
    notes: list[str] = field(default_factory=list)  # what it printed beside its output
    job_ids: list[str] = field(default_factory=list)


_CURRENT: ContextVar[ApprovedRun | None] = ContextVar("dockbell_approved_run", default=None)


def current() -> ApprovedRun | None:
    return _CURRENT.get()


@contextlib.contextmanager
def approved_run(run: ApprovedRun) -> Iterator[ApprovedRun]:
    token = _CURRENT.set(run)
    try:
        yield run
    finally:
        _CURRENT.reset(token)


class ApprovalRequired(UserError):
    """A handler was reached for a command that needs approval, outside an approved run."""


def require_approval_pass(decisions: Iterable[Decision]) -> None:
    """Refuse unless the command needs no approval or this is its approved run.

    Every command that needs approval is turned into a request before its handler runs;
    this is the net under that, for a handler reached some other way (fail closed).
    """
    for decision in decisions:
        if decision.needs_approval and decision.approval is not None:
            run = current()
            if run is None or run.rule_ref != decision.approval.ref:
                raise ApprovalRequired(
                    f"this needs approval ({decision.approval.name}); ask for it by typing the command again"
                )
