"""`dockbell serve` without --no-worker: the default host's worker as a supervised child process.

One command still runs everything on one machine, while the process facing Slack holds
no Docker socket: the child does.  If the child dies it is started again after a backoff
(1 s, doubling to 30 s; reset once a child has run for a minute), with one log line
saying how it ended.  On stop the child gets SIGTERM and its drain time, then SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Mapping

log = logging.getLogger(__name__)

FIRST_BACKOFF = 1.0
MAX_BACKOFF = 30.0
STEADY_AFTER = 60.0  # a child that ran this long was healthy: the next restart starts from FIRST_BACKOFF
DRAIN_TIMEOUT = 35.0  # the worker drains for 30 s on SIGTERM


class WorkerSupervisor:
    def __init__(self, host: str, env: Mapping[str, str], *, extra_args: tuple[str, ...] = ()) -> None:
        self.host = host
        self.env = dict(env)
        self.args = (sys.executable, "-m", "bot", "worker", "--host", host, *extra_args)
        self.process: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name=f"supervise worker {self.host}")

    async def _supervise(self) -> None:
        backoff = FIRST_BACKOFF
        loop = asyncio.get_running_loop()
        while not self._stopping:
            started = loop.time()
            self.process = await asyncio.create_subprocess_exec(*self.args, env=self.env)
            log.info("started the worker for host %s (pid %s)", self.host, self.process.pid)
            code = await self.process.wait()
            if self._stopping:
                return
            if loop.time() - started >= STEADY_AFTER:
                backoff = FIRST_BACKOFF
            self.restarts += 1
            log.error(
                "the worker for host %s (pid %s) exited with %s; restarting it in %.0f s",
                self.host,
                self.process.pid,
                _how(code),
                backoff,
            )
            await asyncio.sleep(backoff)
            backoff = min(MAX_BACKOFF, backoff * 2)

    async def stop(self) -> None:
        self._stopping = True
        proc = self.process
        if proc is not None and proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), DRAIN_TIMEOUT)
            except TimeoutError:
                log.warning("the worker for host %s did not stop in %.0f s; killing it", self.host, DRAIN_TIMEOUT)
                proc.kill()
                await proc.wait()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def _how(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def child_env(base: Mapping[str, str], overrides: Mapping[str, str]) -> dict[str, str]:
    env = {**base, **overrides}
    env.setdefault("PYTHONUNBUFFERED", "1")
    return {k: v for k, v in env.items() if v is not None}
