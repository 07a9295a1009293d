"""A second event loop, on its own thread, for the work that follows an ack.

Slack gives a command 3 seconds and shows an error after that, so the loop that
receives requests must stay free to ack them.  Rendering a 50-row table or a
large inspect document is pure Python work of several milliseconds; run on the
receiving loop, ten concurrent commands delay each other's acks by that much.
Work handed over here competes only for the GIL, which CPython switches every
millisecond (set below), so acks keep their latency under load.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any

log = logging.getLogger(__name__)

# CPython's default 5 ms GIL slice would let one busy thread hold up an ack for that long.
SWITCH_INTERVAL = 0.001


class WorkLoop:
    def __init__(self, name: str = "dockbell-work") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._pending: set[Future[Any]] = set()
        self._started = False

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def start(self) -> None:
        if not self._started:
            sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
            self._thread.start()
            self._started = True

    @property
    def started(self) -> bool:
        return self._started

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def submit(self, coro: Coroutine[Any, Any, Any]) -> Future[Any]:
        """Run ``coro`` on the work loop; failures are logged, never lost."""
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        self._pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future[Any]) -> None:
        self._pending.discard(future)
        if not future.cancelled() and (err := future.exception()) is not None:
            log.error("work failed", exc_info=err)

    async def call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coro`` on the work loop and wait for it from another loop."""
        return await asyncio.wrap_future(self.submit(coro))

    async def stop(self, timeout: float = 10.0) -> None:
        """Let running work finish (up to ``timeout``), then stop the thread."""
        if not self._started:
            return
        pending = [asyncio.wrap_future(f) for f in list(self._pending)]
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        await asyncio.to_thread(self._thread.join, timeout)
        self._loop.close()
