"""A stream's output in its thread: lines in order, each shown once, within Slack's limits.

Each flush edits the thread's last output message until it is full (a section's 3000
characters), then posts one new message.  A flush never sends more than one edit and one
post, so a stream costs Slack at most two calls per batch whatever the container writes;
what does not fit is sampled: the batch's first lines and its last ones are shown, and the
middle is counted, in place, as skipped.

Exactly once: a line is laid out into a message only when the call that shows it has
succeeded.  A failed edit is retried with the same (whole) text at the next flush, which
is harmless; a failed post keeps its lines pending for the next flush.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.core.linebuffer import Item, Skipped
from bot.errors import SlackRefused
from bot.slack import render_streams as rs
from bot.slack.out import SlackOut

log = logging.getLogger(__name__)

HEAD_SHARE = 0.6  # of a sampled batch's room, for its first lines; the rest for its last ones
MAX_PENDING_UNITS = 4 * rs.CHUNK_ROOM  # lines kept waiting while Slack refuses (429s, outages)


@dataclass
class _Message:
    ts: str
    lines: list[str] = field(default_factory=list)
    used: int = 0
    dirty: bool = False  # holds lines Slack has not shown yet (an edit failed)


class ThreadWriter:
    def __init__(
        self, slack: SlackOut, channel: str, thread_ts: str, *, redact: Callable[[str], str] = lambda s: s
    ) -> None:
        self.slack = slack
        self.channel = channel
        self.thread_ts = thread_ts
        self.redact = redact
        self._pending: list[str | Skipped] = []
        self._pending_units = 0
        self._last: _Message | None = None
        self.shown = 0  # lines in Slack now
        self.skipped = 0  # lines counted as skipped (by the buffer, or sampled here)
        self.messages = 0

    def add(self, items: list[Item]) -> None:
        for item in items:
            if isinstance(item, Skipped):
                self._skip(item.lines)
                continue
            line = rs.fit_line(self.redact(item))
            self._pending.append(line)
            self._pending_units += rs.line_units(line)
        if self._pending_units > MAX_PENDING_UNITS:
            # Slack has been refusing for a while: keep the oldest and the newest, count the rest.
            self._pending = self._sampled(self._pending, MAX_PENDING_UNITS)
            self._pending_units = sum(_units(x) for x in self._pending)

    def _skip(self, count: int) -> None:
        self.skipped += count
        last = self._pending[-1] if self._pending else None
        if isinstance(last, Skipped):
            last.lines += count
        else:
            self._pending.append(Skipped(count))
            self._pending_units += _units(Skipped(count))

    @property
    def idle(self) -> bool:
        """Nothing waits to be shown."""
        return not self._pending and not (self._last is not None and self._last.dirty)

    async def flush(self) -> None:
        """Show what is pending: at most one edit of the last message and one new message."""
        room_last = rs.CHUNK_ROOM - self._last.used if self._last is not None else 0
        items = self._sampled(self._pending, room_last + rs.CHUNK_ROOM)
        self._pending, self._pending_units = [], 0
        # Into the last message while there is room, then into a new one.
        if self._last is not None:
            while items and self._last.used + _units(items[0]) <= rs.CHUNK_ROOM:
                item = items.pop(0)
                self._last.lines.append(_text(item))
                self._last.used += _units(item)
                self._last.dirty = True
                self.shown += _shown(item)
            if self._last.dirty:
                try:
                    await self.slack.update_message(self.channel, self._last.ts, rs.output(self._last.lines))
                    self._last.dirty = False
                except SlackRefused as err:
                    log.info("a stream's edit was refused (%s); it is tried again", err.code)
        if items:
            lines = [_text(x) for x in items]
            try:
                ts = await self.slack.post_message(self.channel, rs.output(lines), thread_ts=self.thread_ts)
            except SlackRefused as err:
                log.info("a stream's message was refused (%s); its lines wait for the next batch", err.code)
                self._pending = [*items, *self._pending]
                self._pending_units = sum(_units(x) for x in self._pending)
                return
            self._last = _Message(ts, lines, sum(_units(x) for x in items))
            self.shown += sum(_shown(x) for x in items)
            self.messages += 1

    def _sampled(self, items: list[str | Skipped], room: int) -> list[str | Skipped]:
        """``items`` if they fit ``room``; else the first and the last that fit, the middle counted as skipped."""
        if sum(_units(x) for x in items) <= room:
            return items
        marker_room = _units(Skipped(10**9))
        head_room = int((room - marker_room) * HEAD_SHARE)
        tail_room = room - marker_room - head_room
        head = _fitting(items, head_room)
        tail = _fitting(items[len(head) :][::-1], tail_room)[::-1]
        middle = items[len(head) : len(items) - len(tail)]
        dropped = sum(x.lines if isinstance(x, Skipped) else 1 for x in middle)
        self.skipped += sum(1 for x in middle if isinstance(x, str))  # a marker's lines are counted already
        return [*head, Skipped(dropped), *tail]


def _units(item: str | Skipped) -> int:
    return rs.line_units(_text(item))


def _text(item: str | Skipped) -> str:
    return rs.skipped_line(item.lines) if isinstance(item, Skipped) else item


def _shown(item: str | Skipped) -> int:
    return 0 if isinstance(item, Skipped) else 1


def _fitting(items: list[str | Skipped], room: int) -> list[str | Skipped]:
    taken: list[str | Skipped] = []
    used = 0
    for item in items:
        if used + _units(item) > room:
            break
        taken.append(item)
        used += _units(item)
    return taken
