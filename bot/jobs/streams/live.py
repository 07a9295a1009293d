"""One live stream, from its first batch to the line in its thread that says why it ended.

Every ``batch`` seconds: drain what the source read, show it (bot/jobs/streams/thread.py),
renew the lease, and look for a Stop asked elsewhere.  It ends, whichever comes first,
when the source ends (the container stopped: its exit code is said), on Stop, at its time
limit, or when the worker stops.  The end is always said in the thread and on the header;
a stream is never left looking live.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from bot.core.linebuffer import LineBuffer
from bot.errors import DockbellError, SlackRefused
from bot.jobs.streams.registry import StreamRecord, StreamRegistry
from bot.jobs.streams.sources import LineSource, StatsSource
from bot.jobs.streams.thread import ThreadWriter
from bot.slack import render_streams as rs
from bot.slack.out import SlackOut

log = logging.getLogger(__name__)

HEADER_EVERY = 15.0  # seconds between the header's updates of elapsed time and line count, for one stream
EDITS_PER_MINUTE = 40  # of Slack's ~50 a minute for chat.update, for this worker's stream output
FINAL_FLUSHES = 3  # tries to show the last lines once the stream has ended


@dataclass
class StreamSettings:
    duration: float
    batch: float
    buffer_bytes: int
    file_offered: bool = False  # the header's end offers the window's whole log as a file
    # How many streams share this worker's budget of Slack edits now (see StreamDesk.pace).
    sharing: Callable[[], int] = lambda: 1


@dataclass(eq=False)
class LiveStream:
    record: StreamRecord
    slack: SlackOut
    registry: StreamRegistry
    settings: StreamSettings
    source: LineSource | StatsSource
    redact: Callable[[str], str] = lambda s: s
    clock: Callable[[], float] = time.time
    stop_reason: str = ""
    ended: str = ""
    done: asyncio.Event = field(default_factory=asyncio.Event)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.buffer = LineBuffer(self.settings.buffer_bytes)
        self.writer = ThreadWriter(self.slack, self.record.channel, self.record.header_ts, redact=self.redact)
        self._table_ts = ""
        self._table_text = ""

    @property
    def batch(self) -> float:
        """Seconds to the next batch: the config's, or longer when streams share the edit budget.

        Slack allows an app about 50 chat.update calls a minute in a workspace (Tier 3); each
        stream edits once a batch, so this worker's streams together keep under EDITS_PER_MINUTE.
        """
        return max(self.settings.batch, self.settings.sharing() * 60.0 / EDITS_PER_MINUTE)

    @property
    def lines(self) -> int:
        return self.buffer.lines_seen

    def stop(self, reason: str) -> None:
        """End the stream now; the first reason given is the one said."""
        if not self.stop_reason:
            self.stop_reason = reason
        self._wake.set()

    async def run(self) -> None:
        reader = asyncio.create_task(self._read(), name=f"stream {self.record.id} source")
        woken = asyncio.create_task(self._wake.wait(), name=f"stream {self.record.id} stop")
        last_header = self.clock()
        try:
            while True:
                await asyncio.wait({reader, woken}, timeout=self.batch, return_when=asyncio.FIRST_COMPLETED)
                await self._show()
                if self.stop_reason:
                    break
                if reader.done():
                    self.ended = self._reader_end(reader)
                    break
                if self.clock() - self.record.started_at >= self.settings.duration:
                    self.stop_reason = f"it reached its time limit ({rs.duration(self.settings.duration)})"
                    break
                stopper = await self._renew()
                if stopper:
                    self.stop_reason = f"<@{stopper}> stopped it"
                    break
                if self.clock() - last_header >= HEADER_EVERY * self.settings.sharing():
                    last_header = self.clock()
                    await self._header(live=True)
        except asyncio.CancelledError:
            self.stop_reason = self.stop_reason or "the worker stopped"
            raise
        finally:
            woken.cancel()
            await self._finish(reader)

    async def _read(self) -> str:
        if isinstance(self.source, StatsSource):
            return await self.source.run()
        try:
            return await self.source.run(self.buffer)
        finally:
            self.buffer.finish()

    def _reader_end(self, reader: asyncio.Task[str]) -> str:
        err = reader.exception()
        if err is None:
            return reader.result()
        if isinstance(err, DockbellError):
            return f"the stream failed: {err}"
        log.error("stream %s: its source failed", self.record.id, exc_info=err)
        return "the stream failed (see the worker's log)"

    async def _renew(self) -> str:
        try:
            return await self.registry.renew(self.record, self.clock())
        except Exception as err:  # Redis down: the stream goes on; its lease is renewed next batch
            log.debug("stream %s: lease not renewed: %s", self.record.id, err)
            return ""

    async def _show(self) -> None:
        if isinstance(self.source, StatsSource):
            await self._show_table()
            return
        self.writer.add(self.buffer.drain())
        if not self.writer.idle:
            await self.writer.flush()

    async def _show_table(self) -> None:
        assert isinstance(self.source, StatsSource)
        text = self.source.table().rstrip("\n")
        if text == self._table_text:
            return
        try:
            if not self._table_ts:
                self._table_ts = await self.slack.post_message(
                    self.record.channel, rs.output(text.split("\n")), thread_ts=self.record.header_ts
                )
            else:
                await self.slack.update_message(self.record.channel, self._table_ts, rs.output(text.split("\n")))
            self._table_text = text
        except SlackRefused as err:
            log.info("stream %s: the stats table was refused (%s)", self.record.id, err.code)

    async def _finish(self, reader: asyncio.Task[str]) -> None:
        if not reader.done():
            reader.cancel()
        with contextlib.suppress(BaseException):
            await reader
        why = self.stop_reason or self.ended or "it ended"
        try:
            for _ in range(FINAL_FLUSHES):
                await self._show()
                if self.writer.idle:
                    break
            # The header first: once the thread says it ended, the header does too.
            await self._header(live=False, ended=why)
            await self._say(f"Stream ended: {why}. {self._summary()}")
        finally:
            try:
                await self.registry.release(self.record)
                await self.registry.save(replace(self.record, ended_at=self.clock()))
            except Exception as err:
                log.warning("stream %s: could not record its end: %s", self.record.id, err)
            self.done.set()

    def _summary(self) -> str:
        if isinstance(self.source, StatsSource):
            return f"Elapsed {rs.duration(self.clock() - self.record.started_at)}."
        text = f"{self.writer.shown:,} line{'' if self.writer.shown == 1 else 's'} shown"
        if self.writer.skipped:
            text += f", {self.writer.skipped:,} skipped"
            if self.settings.file_offered:
                text += " (the header's button uploads the whole log of the stream's window)"
        return text + f", in {rs.duration(self.clock() - self.record.started_at)}."

    async def _say(self, text: str) -> None:
        try:
            await self.slack.post_message(self.record.channel, rs.note(text), thread_ts=self.record.header_ts)
        except SlackRefused as err:
            log.warning("stream %s: its end could not be said in the thread (%s)", self.record.id, err.code)

    def view(self, *, live: bool, ended: str = "") -> rs.StreamView:
        return rs.StreamView(
            shown=self.record.shown,
            host=self.record.host,
            user_id=self.record.user_id,
            started_at=self.record.started_at,
            elapsed=self.clock() - self.record.started_at,
            lines=self.lines if not isinstance(self.source, StatsSource) else 0,
            skipped=self.writer.skipped,
            value=f"{self.record.host}/{self.record.id}",
            live=live,
            ended=ended,
            file_offered=self.settings.file_offered and not live,
        )

    async def _header(self, *, live: bool, ended: str = "") -> None:
        try:
            await self.slack.update_message(
                self.record.channel, self.record.header_ts, rs.header(self.view(live=live, ended=ended))
            )
        except SlackRefused as err:
            log.info("stream %s: header not updated (%s)", self.record.id, err.code)
