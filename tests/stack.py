"""dockbell in-process for tests: serve's Slack front and one worker per named host, on the test's loop.

Production runs them as separate processes (serve supervises its child worker); the
e2e tests of that layout start the real CLI (tests/test_e2e_process_split.py).  In one
process the tests can reach into both sides and start fast.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from bot.bootstrap.serve import build_front
from bot.bootstrap.worker import WorkerProcess, build_worker
from bot.config import Config
from bot.settings import Settings
from bot.slack.http import SlackFront


@dataclass
class Stack:
    front: SlackFront
    url: str
    workers: dict[str, WorkerProcess] = field(default_factory=dict)
    runs: dict[str, asyncio.Task[None]] = field(default_factory=dict)

    async def add_worker(
        self, settings: Settings, config: Config, host: str, *, heartbeat: float = 1.0, claim_idle: float = 5.0
    ) -> WorkerProcess:
        proc = build_worker(settings, config, host, heartbeat=heartbeat, claim_idle=claim_idle)
        self.workers[host] = proc
        self.runs[host] = asyncio.create_task(proc.worker.run(), name=f"test worker {host}")
        return proc

    async def stop_worker(self, host: str, drain: float = 5.0) -> None:
        proc = self.workers.pop(host)
        await proc.worker.stop(drain)
        run = self.runs.pop(host)
        with contextlib.suppress(asyncio.CancelledError):
            await run
        await proc.close()

    async def stop(self) -> None:
        for host in list(self.workers):
            await self.stop_worker(host)
        await self.front.stop()


async def start_stack(settings: Settings, config: Config, workers: tuple[str, ...] = ("local",)) -> Stack:
    front = build_front(settings, config, settings.queue_secret)
    port = await front.start("127.0.0.1", 0)
    stack = Stack(front, f"http://127.0.0.1:{port}")
    for host in workers:
        await stack.add_worker(settings, config, host)
    return stack
