"""What a handler sees of the world: a Protocol, so that handlers depend on what they use, not on how it is built.

The runner (bot/jobs/runner.py) gives each command a ``CommandContext`` that satisfies it;
tests may pass anything of the same shape.
"""

from __future__ import annotations

from typing import Protocol

from bot.core.registry import Registry
from bot.core.types import Requester
from bot.engine.gateway import DockerGateway
from bot.engine.hosts import DockerHosts
from bot.jobs.approval_flow import ApprovalFlow
from bot.jobs.desk import JobDesk
from bot.jobs.gate import Access
from bot.jobs.streams.desk import StreamDesk
from bot.ops.audit import AuditLog
from bot.policy import Target


class HandlerContext(Protocol):
    @property
    def docker(self) -> DockerGateway:
        """This host's engine."""

    @property
    def requester(self) -> Requester:
        """Who typed the command, from the signed request."""

    @property
    def access(self) -> Access:
        """The caller's standing with the policy on this host: filter lists with it, check extra targets."""

    @property
    def targets(self) -> list[Target]:
        """What the gate resolved and allowed, in the order typed."""

    @property
    def job_ids(self) -> list[str]:
        """Append the ids of jobs this command queued: the audit record names them."""

    @property
    def response_url(self) -> str: ...

    @property
    def jobs(self) -> JobDesk:
        """Queue a job with its status message; read the host's jobs."""

    @property
    def audit(self) -> AuditLog: ...

    @property
    def registry(self) -> Registry: ...

    @property
    def hosts(self) -> DockerHosts: ...

    @property
    def approvals(self) -> ApprovalFlow | None:
        """Approval requests (`/docker approvals`); None where approvals are not set up."""

    @property
    def streams(self) -> StreamDesk | None:
        """This worker's live streams (logs -f, attach, stats, events); None where they are not offered."""

    def now(self) -> float: ...
