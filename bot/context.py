"""What a handler may use: the Docker gateway and a clock (injectable for tests)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.docker_gateway import DockerGateway
from bot.model import Requester


@dataclass
class HandlerContext:
    docker: DockerGateway
    requester: Requester
    clock: Callable[[], float] = field(default=time.time)

    def now(self) -> float:
        return self.clock()
