"""A stream's output in its thread: lines in order, each shown once, within Slack's limits.

Each flush edits the thread's last output message until it is full (a section's 3000
characters), then posts one new message.  A flush never sends more than one edit and one
post, so a stream costs Slack at most two calls per batch whatever the container writes;
what does not fit is sampled: the batch's first lines and its last ones are shown, and the
middle is counted, in place, as skipped.

Exactly once: a line counts as shown only once the call that shows it has succeeded.  A
failed edit is retried with the same (whole) text at the next flush, which is harmless; a
failed post keeps its lines pending for the next flush.  A refusal that would come again
(not a 429 or an outage) counts its lines as skipped instead of retrying them forever.
Lines are redacted when they are laid out, so only what is shown pays for it.
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


# Refusals worth trying again; any other (invalid_blocks, message_not_found...) would be refused
# again at every batch, so its lines are counted as skipped instead of waiting forever.
TRANSIENT = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})


@dataclass
class _Message:
    ts: str
    lines: list[str] = field(default_factory=list)
    used: int = 0
    unshown: int = 0  # lines laid out into it that Slack has not shown yet (its edit is pending)


class ThreadWriter:
    def __init__(
        self, slack: SlackOut, channel: str, thread_ts: str, *, redact: Callable[[str], str] = lambda s: s
    ) -> None:
        self.slack = slack
        self.channel = channel
        self.thread_ts = thread_ts
        self.redact = redact
        self._pending: list[str | Skipped] = []  # as read (cut to fit); redacted when laid out
        self._pending_units = 0
        self._last: _Message | None = None
        self._dirty = False  # the last message's text is ahead of what Slack shows
        self.shown = 0  # lines in Slack now
        self.skipped = 0  # lines counted as skipped (by the buffer, sampled here, or refused)
        self.messages = 0

    def add(self, items: list[Item]) -> None:
        for item in items:
            if isinstance(item, Skipped):
                self._skip(item.lines)
                continue
            line = rs.fit_line(item)
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
        return not self._pending and not self._dirty

    def _laid_out(self, item: str | Skipped) -> str:
        """The line as it goes into a message: redacted (only what is shown pays for it), cut to fit."""
        return rs.skipped_line(item.lines) if isinstance(item, Skipped) else rs.fit_line(self.redact(item))

    async def flush(self) -> None:
        """Show what is pending: at most one edit of the last message and one new message."""
        items, self._pending, self._pending_units = self._pending, [], 0
        if self._last is not None:
            items = self._fill_last(items)
            if self._dirty:
                await self._edit_last()
        if items:
            await self._post(self._sampled(items, rs.CHUNK_ROOM))

    def _fill_last(self, items: list[str | Skipped]) -> list[str | Skipped]:
        """Lay ``items`` into the last message while they fit; the ones that do not."""
        last = self._last
        assert last is not None
        at = 0
        for item in items:
            text = self._laid_out(item)
            if last.used + rs.line_units(text) > rs.CHUNK_ROOM:
                break
            last.lines.append(text)
            last.used += rs.line_units(text)
            last.unshown += _shown(item)
            self._dirty = True
            at += 1
        return items[at:]

    async def _edit_last(self) -> None:
        last = self._last
        assert last is not None
        try:
            await self.slack.update_message(self.channel, last.ts, rs.output(last.lines))
        except SlackRefused as err:
            if err.code in TRANSIENT:
                log.info("a stream's edit was refused (%s); it is tried again", err.code)
                return
            log.warning("a stream's message cannot be edited (%s): its new lines are counted as skipped", err.code)
            self.skipped += last.unshown
            self._last, self._dirty = None, False  # the next lines start a new message
            return
        self.shown += last.unshown
        last.unshown, self._dirty = 0, False

    async def _post(self, items: list[str | Skipped]) -> None:
        """One new message with as many of ``items`` as fit once redacted; the rest wait."""
        lines: list[str] = []
        used = shown = taken = 0
        for item in items:
            text = self._laid_out(item)
            if lines and used + rs.line_units(text) > rs.CHUNK_ROOM:
                break  # redaction made it longer than sampled for: it waits for the next batch
            lines.append(text)
            used += rs.line_units(text)
            shown += _shown(item)
            taken += 1
        rest = items[taken:]
        try:
            ts = await self.slack.post_message(self.channel, rs.output(lines), thread_ts=self.thread_ts)
        except SlackRefused as err:
            if err.code in TRANSIENT:
                log.info("a stream's message was refused (%s); its lines wait for the next batch", err.code)
                rest = items
            else:
                log.warning("a stream's message was refused (%s): its lines are counted as skipped", err.code)
                self.skipped += shown
            self._requeue(rest)
            return
        self._requeue(rest)
        self._last = _Message(ts, lines, used)
        self.shown += shown
        self.messages += 1

    def _requeue(self, items: list[str | Skipped]) -> None:
        self._pending = [*items, *self._pending]
        self._pending_units = sum(_units(x) for x in self._pending)

    def _sampled(self, items: list[str | Skipped], room: int) -> list[str | Skipped]:
        """``items`` if they fit ``room``; else the first and the last that fit, the middle counted as skipped."""
        if sum(_units(x) for x in items) <= room:
            return items
        marker_room = _units(Skipped(10**9))
        head = _fitting(items, int((room - marker_room) * HEAD_SHARE))
        if not head and isinstance(items[0], str):  # long lines: the first one, cut to fit beside the marker
            head = [rs.fit_line(items[0], room - marker_room)]
        tail_room = room - marker_room - sum(_units(x) for x in head)
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
