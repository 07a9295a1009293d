"""What a handler may use: Docker, the caller's standing with the policy, the audit log, a clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.core.types import Requester
from bot.engine.gateway import DockerGateway

if TYPE_CHECKING:
    from bot.core.registry import Registry
    from bot.engine.hosts import DockerHosts
    from bot.jobs.desk import JobDesk
    from bot.jobs.gate import Access, Gate
    from bot.ops.audit import AuditLog
    from bot.policy import Target


@dataclass
class HandlerContext:
    docker: DockerGateway
    requester: Requester
    access: Access
    gate: Gate
    audit: AuditLog
    registry: Registry
    jobs: JobDesk
    hosts: DockerHosts
    response_url: str = ""
    targets: list[Target] = field(default_factory=list)  # what the gate resolved and allowed
    job_ids: list[str] = field(default_factory=list)  # jobs this command queued, for the audit trail
    clock: Callable[[], float] = field(default=time.time)

    def now(self) -> float:
        return self.clock()
