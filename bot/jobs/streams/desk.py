"""A worker's live streams: start one (within the limits), stop one, end them all, end orphans.

Streams run on the host's worker, beside its jobs, as tasks of their own: a stream is
not a job, since it would hold a queue slot for its whole duration.  Each is registered
in Redis (bot/jobs/streams/registry.py), which counts the limits across every worker and
lets another process ask for a Stop.  When a worker stops, it ends its streams and says so
in each thread; when a worker dies, the next sweep on its host says so instead.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import functools
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio as aioredis

from bot.config import StreamsConfig
from bot.core.types import Requester
from bot.errors import ServiceUnavailable, SlackRefused, UserError
from bot.jobs.streams.live import LiveStream, StreamSettings
from bot.jobs.streams.registry import StreamRecord, StreamRegistry
from bot.jobs.streams.sources import LineSource, StatsSource
from bot.jobs.threads import ThreadMap, ThreadSubject
from bot.policy import Target
from bot.slack import render_streams as rs
from bot.slack.out import SlackOut

log = logging.getLogger(__name__)

STOP_WAIT = 10.0  # seconds a Stop waits for its stream to end before answering


class StreamLimitReached(UserError):
    """Too many live streams for this person, channel or host (the ``streams:`` config)."""


@dataclass(frozen=True)
class StreamPlan:
    """What a handler asks for: everything the gate judged, and what to read."""

    kind: str  # logs | attach | stats | events
    verb: str
    shown: str
    requester: Requester
    host: str
    source: LineSource | StatsSource
    target: Target | None = None  # the one container the stream is about, if one
    duration: float = 0.0  # 0: the config's default
    redact: Callable[[str], str] = lambda s: s
    file_offered: bool = False


@dataclass(frozen=True)
class Started:
    record: StreamRecord
    permalink: str


class StreamDesk:
    def __init__(
        self,
        *,
        host: str,
        redis: aioredis.Redis,
        slack: SlackOut,
        config: StreamsConfig,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host = host
        self.slack = slack
        self.config = config
        self.clock = clock
        self.registry = StreamRegistry(redis)
        self.threads = ThreadMap(redis)
        self._live: dict[str, LiveStream] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    @property
    def live(self) -> list[LiveStream]:
        return list(self._live.values())

    def duration_for(self, asked: float) -> float:
        """The stream's length: ``asked`` (0: the default) within the config's maximum."""
        if asked <= 0:
            return float(self.config.default_seconds)
        if asked > self.config.max_seconds:
            raise UserError(
                f"a stream may last at most {rs.duration(self.config.max_seconds)} (streams.max_duration); "
                f"ask for less with --duration"
            )
        return asked

    async def start(self, plan: StreamPlan) -> Started:
        duration = self.duration_for(plan.duration)
        channel = plan.requester.channel_id
        target = plan.target
        record = StreamRecord(
            id=secrets.token_hex(6),
            host=plan.host,
            kind=plan.kind,
            verb=plan.verb,
            shown=plan.shown,
            user_id=plan.requester.user_id,
            channel=channel,
            header_ts="",
            started_at=self.clock(),
            container_id=target.id if target else "",
            container_name=target.name if target else "",
            labels=tuple(sorted(target.labels.items())) if target else (),
            image=target.image if target else "",
        )
        limits = (self.config.per_user, self.config.per_channel, self.config.per_host)
        try:
            reached = await self.registry.admit(record, record.started_at, limits)
        except Exception as err:
            raise ServiceUnavailable(f"Redis is unreachable, so no stream can start now ({err})") from None
        if reached:
            raise StreamLimitReached(self._limit_message(reached))
        try:
            view = rs.StreamView(
                plan.shown, plan.host, record.user_id, record.started_at, 0.0, 0, 0, f"{plan.host}/{record.id}"
            )
            ts = await self.slack.post_message(channel, rs.header(view))
        except SlackRefused as err:
            await self.registry.release(record)
            raise UserError(_cannot_post(err.code)) from None
        record = dataclasses.replace(record, header_ts=ts)
        try:
            await self.registry.save(record)
        except Exception as err:
            # The header is up but nothing will follow it: say so there, and free the slot.
            await self._end_orphan(record, "it could not start: Redis was unreachable")
            raise ServiceUnavailable(f"Redis is unreachable, so the stream could not start ({err})") from None
        if target is not None and target.id:
            await self.threads.remember(channel, ts, ThreadSubject(plan.host, target.id, target.name, "stream"))
        stream = LiveStream(
            record=record,
            slack=self.slack,
            registry=self.registry,
            settings=StreamSettings(
                duration,
                self.config.batch_seconds,
                self.config.buffer_bytes,
                plan.file_offered,
                sharing=lambda: max(1, len(self._live)),
            ),
            source=plan.source,
            redact=plan.redact,
            clock=self.clock,
        )
        self._live[record.id] = stream
        # A context of its own: the command's (its time limit, its template budget, an
        # approval in progress) must not follow a stream that outlives it by an hour.
        task = asyncio.create_task(stream.run(), name=f"stream {record.id}", context=contextvars.Context())
        self._tasks[record.id] = task
        task.add_done_callback(functools.partial(self._forget, record.id))
        try:
            link = await self.slack.permalink(channel, ts)
        except SlackRefused:
            link = ""
        return Started(record, link)

    def _forget(self, stream_id: str, _task: object = None) -> None:
        self._live.pop(stream_id, None)
        task = self._tasks.pop(stream_id, None)
        if task is not None and not task.cancelled() and (err := task.exception()) is not None:
            log.error("stream %s failed", stream_id, exc_info=err)

    def _limit_message(self, reached: str) -> str:
        count = getattr(self.config, reached)
        whose = {"per_user": "you have", "per_channel": "this channel has", "per_host": f"host `{self.host}` has"}[
            reached
        ]
        return (
            f"Not started: {whose} {count} live stream{'' if count == 1 else 's'} already (streams.{reached}). "
            "Stop one first: `/docker streams` lists them."
        )

    async def stop(self, stream_id: str, by: str) -> bool:
        """End the stream (here, or in the process that holds it); True once it has ended."""
        stream = self._live.get(stream_id)
        if stream is None:
            await self.registry.ask_stop(stream_id, by)
            return False
        stream.stop(f"<@{by}> stopped it")
        try:
            await asyncio.wait_for(stream.done.wait(), STOP_WAIT)
        except TimeoutError:
            return False
        return True

    async def close(self, reason: str = "the worker is stopping (a restart or a deploy)") -> None:
        """End every stream of this worker, saying ``reason`` in each thread."""
        for stream in self.live:
            stream.stop(reason)
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_WAIT)
        for task in tasks:
            task.cancel()

    async def upload_to_thread(self, record: StreamRecord, filename: str, text: str) -> None:
        """A file in the stream's thread (its whole log, asked for once it ended)."""
        try:
            await self.slack.upload(channel=record.channel, filename=filename, content=text, thread_ts=record.header_ts)
        except SlackRefused as err:
            raise UserError(f"Slack refused the file ({err.code})") from None

    async def sweep(self) -> int:
        """End, in their threads, this host's streams whose worker died; how many."""
        ended = 0
        for stream_id in await self.registry.abandoned(self.host, self.clock()):
            if stream_id in self._live or not await self.registry.claim_abandoned(self.host, stream_id):
                continue
            record = await self.registry.get(stream_id)
            if record is None:
                continue
            ended += 1
            why = "its worker stopped unexpectedly (a crash or a kill), so nothing after that was shown"
            await self._end_orphan(record, why)
        return ended

    async def _end_orphan(self, record: StreamRecord, why: str) -> None:
        try:
            await self.registry.release(record)
        except Exception as err:  # its lease lapses by itself
            log.warning("stream %s: not released: %s", record.id, err)
        view = rs.StreamView(
            record.shown,
            record.host,
            record.user_id,
            record.started_at,
            self.clock() - record.started_at,
            -1,
            0,
            f"{record.host}/{record.id}",
            live=False,
            ended=why,
        )
        try:
            await self.slack.update_message(record.channel, record.header_ts, rs.header(view))
        except SlackRefused as err:
            log.warning("stream %s: its header could not be marked ended (%s)", record.id, err.code)
        try:
            await self.slack.post_message(record.channel, rs.note(f"Stream ended: {why}."), thread_ts=record.header_ts)
        except SlackRefused as err:
            log.warning("stream %s: its end could not be said in the thread (%s)", record.id, err.code)


def _cannot_post(code: str) -> str:
    if code in ("not_in_channel", "channel_not_found"):
        return (
            f"A stream needs a thread, and dockbell cannot post in this conversation ({code}). "
            "Invite @dockbell to the channel, or run the stream in one where it is."
        )
    return f"Slack refused the stream's header message ({code}); nothing was started."
