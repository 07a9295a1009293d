"""A bounded, thread-safe buffer of output lines between a Docker stream and a Slack thread.

The engine's thread feeds it bytes as they arrive; the event loop drains it once per batch.
It never holds more than ``max_bytes`` of pending lines: past that, lines are counted as
skipped (where they fell, so order is kept) instead of stored, so memory stays bounded however
fast the container writes.  (Past what the reader parses, about 15 MB/s of short lines here,
the backlog waits in the engine's log file, not in dockbell.)  The loop pays per batch, not
per line.
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
    """Past its bound, it keeps the oldest pending lines (continuity with what was shown) and
    the newest (what the container says now), and counts the ones between as skipped."""

    HEAD_SHARE = 0.6

    def __init__(self, max_bytes: int = 256 * 1024) -> None:
        self.max_bytes = max_bytes
        self._head_limit = int(max_bytes * self.HEAD_SHARE)
        self._tail_limit = max_bytes - self._head_limit
        self._lock = threading.Lock()
        self._head: list[str] = []
        self._head_bytes = 0
        self._gap = 0  # lines dropped between head and tail
        self._tail: deque[str] = deque()
        self._tail_bytes = 0
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
        if not self._gap and not self._tail and self._head_bytes + size <= self._head_limit:
            self._head.append(line)
            self._head_bytes += size
        else:
            self._tail.append(line)
            self._tail_bytes += size
            while self._tail_bytes > self._tail_limit and self._tail:
                dropped = self._tail.popleft()
                self._tail_bytes -= len(dropped) + 1
                self._gap += 1
                self.lines_skipped += 1
        self.peak_bytes = max(self.peak_bytes, self._head_bytes + self._tail_bytes)

    def add_line(self, line: str) -> None:
        """One whole line made on the loop (an event), with the same bound."""
        with self._lock:
            self._add(line.encode())

    def drain(self) -> list[Item]:
        """Everything pending, in order, emptying the buffer."""
        with self._lock:
            items: list[Item] = list(self._head)
            if self._gap:
                items.append(Skipped(self._gap))
            items.extend(self._tail)
            self._head, self._head_bytes, self._gap = [], 0, 0
            self._tail.clear()
            self._tail_bytes = 0
            return items
