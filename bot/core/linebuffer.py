"""A bounded, thread-safe buffer of output lines between a Docker stream and a Slack thread.

The engine's thread feeds it bytes as they arrive; the event loop drains it once per batch.
It never holds more than ``max_bytes`` of pending lines: past that, lines are counted as
skipped (where they fell, so order is kept) instead of stored, and the stream keeps up with
real time however fast the container writes.  The loop pays per batch, not per line.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

MAX_LINE = 16 * 1024  # a longer line is cut here (its rest counted as skipped bytes)


@dataclass
class Skipped:
    """Lines dropped at this point of the stream because the reader fell behind."""

    lines: int = 0


Item = str | Skipped


class LineBuffer:
    def __init__(self, max_bytes: int = 256 * 1024) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._items: deque[Item] = deque()
        self._pending_bytes = 0
        self._partial = b""
        self.lines_seen = 0  # every complete line fed, shown or skipped
        self.bytes_seen = 0
        self.lines_skipped = 0
        self.peak_bytes = 0  # the most this buffer ever held, for the benchmark

    def feed(self, data: bytes) -> None:
        """Called on the engine's thread with whatever bytes arrived (any split)."""
        with self._lock:
            self.bytes_seen += len(data)
            data = self._partial + data
            *lines, self._partial = data.split(b"\n")
            if len(self._partial) > MAX_LINE:
                lines.append(self._partial[:MAX_LINE])
                self._partial = b""
            for raw in lines:
                self._add(raw)

    def finish(self) -> None:
        """The stream ended: a last line without a newline still counts."""
        with self._lock:
            if self._partial:
                self._add(self._partial)
                self._partial = b""

    def _add(self, raw: bytes) -> None:
        self.lines_seen += 1
        line = raw[:MAX_LINE].rstrip(b"\r").decode("utf-8", "replace")
        size = len(line) + 1
        if self._pending_bytes + size > self.max_bytes:
            self.lines_skipped += 1
            last = self._items[-1] if self._items else None
            if isinstance(last, Skipped):
                last.lines += 1
            else:
                self._items.append(Skipped(1))
            return
        self._items.append(line)
        self._pending_bytes += size
        self.peak_bytes = max(self.peak_bytes, self._pending_bytes)

    def add_line(self, line: str) -> None:
        """One whole line made on the loop (an event, a table), with the same bound."""
        with self._lock:
            self._add(line.encode())

    def drain(self) -> list[Item]:
        """Everything pending, in order, emptying the buffer."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
            self._pending_bytes = 0
            return items
