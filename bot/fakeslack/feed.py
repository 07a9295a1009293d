"""A change feed over the fake's records: a version number that grows with every change.

The playground's page server waits on it to push a fresh view to each open page; tests may
wait on it too. It says only *that* something changed (a Web API call, a response_url post, an
upload, an ack shown, a reset), not what: readers re-read the workspace, which stays the one
source of truth.
"""

from __future__ import annotations

import asyncio
import contextlib


class ChangeFeed:
    """``version`` grows by one per change; :meth:`wait` returns once it passes a reader's last."""

    def __init__(self) -> None:
        self.version = 0
        # Replaced at every change: waiters of the old one wake up, new waiters wait for the next.
        self._event = asyncio.Event()

    def touch(self) -> int:
        """Record one change (synchronous, so non-async paths such as show_ack can call it)."""
        self.version += 1
        event, self._event = self._event, asyncio.Event()
        event.set()
        return self.version

    async def wait(self, after: int, timeout: float | None = None) -> int:
        """The current version once it is past ``after`` (or when ``timeout`` runs out)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self.version <= after:
                    await self._event.wait()
        return self.version
