"""What a handler may use: Docker, the caller's standing with the policy, the audit log, a clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.docker_gateway import DockerGateway
from bot.model import Requester

if TYPE_CHECKING:
    from bot.access import Access, Gate
    from bot.audit import AuditLog
    from bot.registry import Registry


@dataclass
class HandlerContext:
    docker: DockerGateway
    requester: Requester
    access: Access
    gate: Gate
    audit: AuditLog
    registry: Registry
    clock: Callable[[], float] = field(default=time.time)

    def now(self) -> float:
        return self.clock()
