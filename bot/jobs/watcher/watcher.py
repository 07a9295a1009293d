"""One host's crash watcher: the engine's events in, incidents out, delivered without flooding a channel.

Started by the host's worker (bot/jobs/host_worker.py) as a side task it owns and cancels.

Reading, top to bottom (``run``):

1. load the incidents kept in Redis (a message not posted yet is posted now);
2. catch up: replay from the cursor with ``since`` up to now.  If the cursor's own event
   did not come back, the engine's 256-event memory (or its restart) lost some: read the
   containers' state (State.FinishedAt, ExitCode, RestartCount) for the part of the gap
   the replay does not cover, and say in each such notification that it was found late;
3. follow the live stream from the last event handled (inclusive; duplicates dropped);
   when it breaks (engine restarted, connection dropped), go back to 2 with backoff.

Alongside, a tick: dies waiting to settle, unhealthy spells that lasted, recoveries,
snoozes that ended, baselines for forensics, the cursor written, the host's "unreachable"
state read.  Every event's effects are in Redis (incident, ``seen``) before the cursor
moves past it, so a worker killed at any point replays it and reports it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from bot.core.jobtext import escape
from bot.core.redact import Redactor
from bot.engine.events import inspect_or_none, log_tail, snapshot, stream_events
from bot.engine.gateway import DockerGateway
from bot.jobs.crash_checks import engine_time
from bot.jobs.threads import ThreadMap, ThreadSubject
from bot.jobs.watcher import keys
from bot.jobs.watcher.classify import Classifier, Event, Finding
from bot.jobs.watcher.cursor import Cursor, Position
from bot.jobs.watcher.delivery import POST_EVERY, Outbox
from bot.jobs.watcher.facts import (
    Baseline,
    ContainerFacts,
    baseline_of,
    changes_since,
    explain_exit,
    facts_of,
    health_outputs,
    log_excerpt,
    policy_base,
)
from bot.jobs.watcher.incidents import Change, Incident, IncidentBook, Occurrence
from bot.jobs.watcher.intents import PROJECT, Intents
from bot.jobs.watcher.reachability import DownRecord, read_down, write_down
from bot.jobs.watcher.snooze import UNTIL_HEALTHY, Snoozes
from bot.notifications_config import NotificationsConfig
from bot.policy.model import Target
from bot.policy.selector import covers
from bot.slack import render_notifications as rn
from bot.slack.paced import PacedSlack
from bot.slack.render import Message

log = logging.getLogger(__name__)

TICK = 0.25
CURSOR_EVERY = 0.5
SNOOZE_EVERY = 2.0
DOWN_EVERY = 1.0
LOOKBACK_NS = 7 * 86400 * 10**9  # how far before the cursor the replay asks (the engine has at most 256)
RECENT_KEYS = 4096  # event keys remembered in memory, so an overlap of replay and live is read once
# Crashes looked into at the same time (inspect, logs, Redis): in a storm the engine answers
# slowly while it tears the dead containers down, so many wait together.
INSPECT_AT_ONCE = 16
LOG_SCAN = 5  # read this many times log_lines, to find the error lines before the tail
BACKOFF_CAP = 5.0
# After the engine itself went away, containers that ended with these codes near the outage
# were stopped by the engine's own shutdown, not crashed.
SHUTDOWN_CODES = frozenset({0, 137, 143})


@dataclass
class _Unhealthy:
    cid: str
    since: float  # watcher clock
    at: float  # event time (epoch)


class Watcher:
    def __init__(
        self,
        *,
        host: str,
        docker: DockerGateway,
        redis: aioredis.Redis,
        slack: PacedSlack,
        config: NotificationsConfig,
        clock: Callable[[], float] = time.time,
        post_every: float | None = None,
    ) -> None:
        self.host = host
        self.docker = docker
        self.redis = redis
        self.slack = slack
        self.config = config
        self.clock = clock
        self.cursor = Cursor(redis, host)
        self.classifier = Classifier()
        self.book = IncidentBook(redis, host, config, clock)
        self.intents = Intents(redis, host)
        self.snoozes = Snoozes(redis, host, clock)
        self.outboxes: dict[str, Outbox] = {}
        self._post_every = post_every
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._lock = asyncio.Lock()
        self._inspecting = asyncio.Semaphore(INSPECT_AT_ONCE)
        self._in_flight: dict[str, Event] = {}  # crashes being looked into: the cursor stays before them
        self._crash_tasks: set[asyncio.Task[None]] = set()
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._position: Position | None = None
        self._unhealthy: dict[str, _Unhealthy] = {}
        self._started: dict[str, tuple[float, str]] = {}  # name -> (watcher clock at start, cid)
        self._down: DownRecord | None = None
        self._lost_at: float | None = None  # when the engine connection broke (epoch)
        self.caught_up = asyncio.Event()
        self.reported = 0  # crashes and unhealthy spells recorded (tests, the benchmark)

    # ---- running ----------------------------------------------------------------------------

    async def run(self) -> None:
        await self._until_redis(self._load)
        ticker = asyncio.create_task(self._tick_loop(), name=f"watcher tick {self.host}")
        try:
            await self._follow()
        finally:
            ticker.cancel()
            for task in [*self._tasks.values(), *self._crash_tasks]:
                task.cancel()
            await asyncio.gather(ticker, *self._tasks.values(), *self._crash_tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await self._save_cursor()

    async def _until_redis(self, call: Callable[[], Any]) -> None:
        delay = 0.2
        while True:
            try:
                await call()
                return
            except Exception as err:  # Redis away at start-up: wait for it
                log.warning("watcher %s: %s; trying again", self.host, err)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_CAP)

    async def _load(self) -> None:
        for inc in await self.book.load():
            if not inc.ts and inc.state == "open":
                self._outbox(inc.channel).post(inc.name)
        self._down = await read_down(self.redis, self.host)

    async def _follow(self) -> None:
        delay = 0.2
        while True:
            try:
                since = await self._catch_up()
                self.caught_up.set()
                delay = 0.2
                await stream_events(self.docker, self._on_raw, since_ns=since)
                self._lost_at = self._lost_at or self.clock()
                log.info("watcher %s: the events stream ended; reconnecting", self.host)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self._lost_at = self._lost_at or self.clock()
                log.warning("watcher %s: %s; reconnecting in %.1f s", self.host, err, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_CAP)

    async def _catch_up(self) -> int:
        """Replay since the cursor up to now; read the containers' state for what replay cannot cover.

        The replay asks for a week before the cursor: the engine answers with what its ring
        still holds.  An event at or before the cursor in the answer proves the ring reaches
        back to it (nothing lost); none means it does not (a burst rolled it over, or the
        engine restarted), and the state fallback covers the gap up to the first event replayed.
        """
        position = self._position or await self.cursor.load()
        now_ns = time.time_ns()
        if position is None:  # the first start on this host: from now on
            self._position = Position(now_ns, "start")
            await self.cursor.save(self._position)
            return now_ns
        replayed: list[Event] = []

        def collect(raw: dict[str, Any]) -> None:
            event = Event.from_docker(raw)
            if event is not None:
                replayed.append(event)

        await stream_events(self.docker, collect, since_ns=max(1, position.ns - LOOKBACK_NS), until_ns=now_ns)
        covered = any(e.ns <= position.ns for e in replayed)
        fresh = [e for e in replayed if e.ns >= position.ns]
        if not covered:
            await self._reconcile(position.ns, min((e.ns for e in fresh), default=now_ns))
        for event in fresh:
            await self._handle(event)
        self._lost_at = None
        return max([position.ns, *(e.ns for e in fresh)])

    async def _on_raw(self, raw: dict[str, Any]) -> None:
        event = Event.from_docker(raw)
        if event is not None:
            await self._handle(event)

    async def _handle(self, event: Event) -> None:
        if event.key in self._recent:
            return
        self._recent[event.key] = None
        while len(self._recent) > RECENT_KEYS:
            self._recent.popitem(last=False)
        async with self._lock:
            for finding in self.classifier.feed(event):
                await self._act(finding)
            self._position = Position(event.ns, event.key)

    # ---- findings -----------------------------------------------------------------------------

    async def _act(self, finding: Finding) -> None:
        event = finding.event
        if finding.kind == "crash":
            self._spawn_crash(event, finding.oom)
        elif finding.kind == "intended":
            await self._intended(event, finding.how)
        elif finding.kind == "started":
            self._started[event.name] = (time.monotonic(), event.cid)
            self.book.started(event.name, event.ns / 1e9)
        elif finding.kind == "health":
            await self._health(event)
        elif finding.kind == "gone":
            self._started.pop(event.name, None)
            self._unhealthy.pop(event.name, None)

    def _spawn_crash(self, event: Event, oom: bool) -> None:
        """Look into a crash off the event loop's line: a storm of deaths is inspected several at a
        time, while events keep being read.  The cursor waits for it (``_save_cursor``)."""
        self._in_flight[event.key] = event

        async def look() -> None:
            try:
                async with self._inspecting:
                    await self._crash(event, oom=oom)
            except Exception:
                log.exception("watcher %s: looking into the crash of %s failed", self.host, event.name)
            finally:
                self._in_flight.pop(event.key, None)

        task = asyncio.create_task(look(), name=f"crash {event.name}")
        self._crash_tasks.add(task)
        task.add_done_callback(self._crash_tasks.discard)

    def _target(self, event: Event, facts: ContainerFacts | None) -> Target:
        labels = dict(facts.labels) if facts else event.labels
        return Target(
            kind="container",
            name=event.name or (facts.name if facts else ""),
            id=event.cid,
            labels=labels,
            image=(facts.image if facts else "") or event.image,
        )

    def _channel_for(self, target: Target) -> str:
        for route in self.config.routes:
            if covers(route.on, self.host, target):
                return route.channel
        return self.config.channel

    def _watched(self, target: Target) -> bool:
        watch = self.config.watch
        if watch == type(watch)():
            return True
        return covers(watch, self.host, target)

    async def _crash(self, event: Event, *, oom: bool, late: str = "") -> None:
        self._started.pop(event.name, None)
        project = event.attributes.get("com.docker.compose.project", "")
        intent = await self.intents.find(event.cid, event.name, PROJECT + project if project else "")
        if intent is not None:
            who = f"<@{intent.user}>" if intent.user else "dockbell"
            await self._intended(event, f"{intent.verb} by {who}")
            return
        if await self.cursor.seen(event.key):
            return
        doc = await inspect_or_none(self.docker, event.cid)
        facts = facts_of(doc) if doc is not None else None
        target = self._target(event, facts)
        if not self._watched(target) or (facts.silenced if facts else _silenced(event.labels)):
            return
        code = event.exit_code
        policy = facts.restart_policy if facts else "no"
        if code == 0 and policy_base(policy) not in self.config.exit_zero:
            return  # a clean exit of a container meant to stop
        oom = oom or bool(facts and facts.oom_killed and not facts.running)
        snooze = await self.snoozes.get(target.name)
        if snooze is not None:
            await self.snoozes.count_suppressed(snooze)
            await self.cursor.mark(event.key, event.ns)
            return
        occ = await self._occurrence(event, doc, facts, target, oom=oom, late=late)
        await self._record(occ, event)

    async def _occurrence(
        self,
        event: Event,
        doc: dict[str, Any] | None,
        facts: ContainerFacts | None,
        target: Target,
        *,
        oom: bool,
        late: str,
        kind: str = "crash",
        explanation: str = "",
    ) -> Occurrence:
        config_env = ((doc or {}).get("Config") or {}).get("Env")
        redactor = Redactor.from_env(config_env)
        errors: list[str] = []
        tail: list[str] = []
        lines = self.config.log_lines
        if lines:
            text = await log_tail(self.docker, event.cid, min(lines * LOG_SCAN, 1000))
            errors, tail = log_excerpt(text, lines, redactor)
        changes: list[str] = []
        if doc is not None:
            changes = changes_since(await self._baseline(target.name), baseline_of(doc, self.clock()), redactor)
        policy = facts.restart_policy if facts else "no"
        if not explanation:
            explanation = explain_exit(
                event.exit_code, oom=oom, policy=policy, memory_limit=facts.memory_limit if facts else 0
            )
        state = (doc or {}).get("State") or {}
        return Occurrence(
            name=target.name,
            cid=event.cid,
            channel=self._channel_for(target),
            kind=kind,
            at=event.ns / 1e9,
            exit_code=event.exit_code,
            oom=oom,
            explanation=explanation,
            image=target.image,
            project=(facts.project if facts else event.attributes.get("com.docker.compose.project", "")),
            restart_policy=policy,
            restart_count=facts.restart_count if facts else 0,
            error_lines=tuple(errors),
            tail_lines=tuple(tail),
            health=tuple(health_outputs(state)),
            changes=tuple(changes),
            late=late,
        )

    async def _record(self, occ: Occurrence, event: Event) -> None:
        change = self.book.record(occ)
        inc = change.incident
        if self._down is not None and self._down.back_at is None:
            inc.late = inc.late or "while the host was unreachable"
        await self.book.save(inc)
        await self.cursor.mark(event.key, event.ns)
        self.reported += 1
        self._deliver(change)

    def _deliver(self, change: Change) -> None:
        inc = change.incident
        box = self._outbox(inc.channel)
        if change.new:
            box.post(inc.name)
        else:
            if not inc.in_burst:
                box.edit(inc.name)
            view = inc.view()
            line = rn.crash_line(view) if inc.kind == "crash" else f"Unhealthy again at {rn.when(inc.last)}"
            if change.reopened:
                line = ":repeat: Back again after it had recovered. " + line
            box.reply(inc.name, line)
        if change.tripped:
            box.reply(
                inc.name,
                f":warning: Crash loop: {len(inc.crash_times)} crashes within "
                f"{self.config.breaker.within_seconds // 60 or 1} min under restart policy `{inc.restart_policy}`. "
                "*Stop the loop* (on the message) sets its restart policy to `no`.",
            )

    async def _intended(self, event: Event, how: str) -> None:
        inc = self.book.get(event.name)
        if inc is None or inc.state != "open":
            return  # nothing open: an intended stop says nothing
        note = (
            how
            if " by " in how
            else {"stopped": "stopped", "removed": "removed", "redeployed": "redeployed"}.get(how, how)
        )
        self.book.end(inc, note, event.ns / 1e9)
        await self.book.save(inc)
        box = self._outbox(inc.channel)
        if not inc.in_burst:
            box.edit(inc.name)
        said = note[:1].upper() + note[1:]  # not capitalize(): it would lowercase a <@U123> in it
        box.reply(inc.name, f":white_circle: {said} at {rn.when(event.ns / 1e9)}; this incident is closed.")

    async def _health(self, event: Event) -> None:
        if event.status == "unhealthy":
            self._unhealthy.setdefault(event.name, _Unhealthy(event.cid, time.monotonic(), event.ns / 1e9))
            return
        if event.status != "healthy":
            return
        self._unhealthy.pop(event.name, None)
        snooze = await self.snoozes.get(event.name)
        if snooze is not None and snooze.mode == UNTIL_HEALTHY:
            await self._end_snooze(event.name, "it is healthy again")
        inc = self.book.get(event.name)
        if inc is not None and inc.state == "open" and inc.kind == "unhealthy":
            await self._recovered(inc, "healthy again", event.ns / 1e9)

    async def _recovered(self, inc: Incident, note: str, at: float) -> None:
        self.book.recover(inc, f"Recovered: {note} ({rn.when(at)})", at)
        await self.book.save(inc)
        box = self._outbox(inc.channel)
        if not inc.in_burst:
            box.edit(inc.name)
        box.reply(inc.name, f":large_green_circle: Recovered: {note}.")
        doc = await inspect_or_none(self.docker, inc.name)
        if doc is not None:
            await self._save_baseline(inc.name, baseline_of(doc, self.clock()))

    # ---- the state fallback -----------------------------------------------------------------------

    async def _reconcile(self, since_ns: int, until_ns: int) -> None:
        """Crashes between the cursor and the first replayed event, read from the containers' state."""
        since_text = rn.when(since_ns / 1e9)
        try:
            docs = await snapshot(self.docker)
        except Exception as err:
            log.warning("watcher %s: cannot read the containers' state: %s", self.host, err)
            return
        lost = self._lost_at
        for doc in docs:
            facts = facts_of(doc)
            finished = engine_time(facts.finished_at)
            if finished is None:
                continue
            finished_ns = int(finished * 1e9)
            if not since_ns < finished_ns < until_ns:
                continue
            known = self.book.get(facts.name)
            if known is not None and known.last >= finished - 2:
                continue  # reported already (the cursor had not been written yet)
            restarted = facts.running
            code: int | None = None if restarted else facts.exit_code
            by_shutdown = code is None or code in SHUTDOWN_CODES
            if lost is not None and by_shutdown and abs(finished - lost) < 30 and not facts.oom_killed:
                continue  # the engine's own shutdown stopped it (and its restart policy may have started it again)
            attrs = {**facts.labels, "name": facts.name, "image": facts.image}
            if code is not None:
                attrs["exitCode"] = str(code)
            event = Event(finished_ns, "die", facts.cid, facts.name, facts.image, attrs)
            late = (
                f"the engine's event log no longer reached back to {since_text}; "
                "found from the container's state (State.FinishedAt"
                + (f", RestartCount {facts.restart_count}: restarted since" if restarted else ", ExitCode")
                + ")"
            )
            if restarted and not code:
                await self._late_restarted(event, doc, facts, late)
            elif code or policy_base(facts.restart_policy) in self.config.exit_zero:
                async with self._lock:
                    await self._crash(event, oom=facts.oom_killed, late=late)

    async def _late_restarted(self, event: Event, doc: dict[str, Any], facts: ContainerFacts, late: str) -> None:
        """Died and was restarted by its policy while nobody watched: its exit code is gone with the restart."""
        target = self._target(event, facts)
        if not self._watched(target) or facts.silenced or await self.cursor.seen(event.key):
            return
        explanation = (
            f"died and was restarted by its restart policy ({facts.restart_policy}); "
            "the exit code was not kept by the engine across the restart"
        )
        async with self._lock:
            occ = await self._occurrence(event, doc, facts, target, oom=False, late=late, explanation=explanation)
            await self._record(occ, event)

    # ---- the tick ---------------------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        last_cursor = last_snooze = last_down = 0.0
        while True:
            await asyncio.sleep(TICK)
            now = time.monotonic()
            try:
                async with self._lock:
                    for finding in self.classifier.tick():
                        await self._act(finding)
                await self._check_unhealthy()
                await self._check_recoveries()
                await self._check_steady()
                if now - last_snooze >= SNOOZE_EVERY:
                    last_snooze = now
                    await self._check_snoozes()
                if now - last_down >= DOWN_EVERY:
                    last_down = now
                    await self._check_down()
                if now - last_cursor >= CURSOR_EVERY:
                    last_cursor = now
                    await self._save_cursor()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # Redis or the engine away: the next tick tries again
                log.debug("watcher %s tick: %s", self.host, err)

    async def _save_cursor(self) -> None:
        position = self._position
        if position is None:
            return
        waiting = [e for e in (self.classifier.earliest_pending(), *self._in_flight.values()) if e is not None]
        earliest = min(waiting, key=lambda e: e.ns, default=None)
        if earliest is not None and earliest.ns <= position.ns:
            # A die still settling, or still being looked into, is replayed after a restart, not lost.
            position = Position(earliest.ns, earliest.key)
        await self.cursor.save(position)

    async def _check_unhealthy(self) -> None:
        now = time.monotonic()
        for name, spell in list(self._unhealthy.items()):
            doc = await inspect_or_none(self.docker, spell.cid)
            if doc is None:
                self._unhealthy.pop(name, None)
                continue
            facts = facts_of(doc)
            if facts.health != "unhealthy":
                continue  # the healthy event will clear it
            lasted = now - spell.since >= self.config.unhealthy_after_seconds
            if not lasted and facts.failing_streak < self.config.unhealthy_checks:
                continue
            self._unhealthy.pop(name, None)
            event = Event(int(spell.at * 1e9), "unhealthy", spell.cid, name, facts.image, dict(facts.labels))
            target = self._target(event, facts)
            if not self._watched(target) or facts.silenced:
                continue
            if await self.snoozes.get(name) is not None:
                continue
            outputs = health_outputs(doc.get("State") or {})
            explanation = f"health check failing: {facts.failing_streak} in a row" + (
                f"; last output: {outputs[-1]}" if outputs else ""
            )
            async with self._lock:
                occ = await self._occurrence(
                    event, doc, facts, target, oom=False, late="", kind="unhealthy", explanation=explanation
                )
                await self._record(occ, event)

    async def _check_recoveries(self) -> None:
        for inc in self.book.recovered_due(self.clock()):
            seconds = self.config.recovered_after_seconds
            async with self._lock:
                if inc.state == "open":
                    await self._recovered(inc, f"running steadily for {seconds} s since its last crash", self.clock())

    async def _check_steady(self) -> None:
        """A container running steadily since its start: its state is the baseline for forensics."""
        now = time.monotonic()
        for name, (at, cid) in list(self._started.items()):
            if now - at < self.config.recovered_after_seconds:
                continue
            self._started.pop(name, None)
            doc = await inspect_or_none(self.docker, cid)
            if doc is not None:
                facts = facts_of(doc)
                if facts.running and facts.health != "unhealthy":
                    await self._save_baseline(name, baseline_of(doc, self.clock()))

    async def _check_snoozes(self) -> None:
        now = self.clock()
        for snooze in await self.snoozes.all():
            if snooze.until <= now:
                await self._end_snooze(snooze.name, "its time is up")

    async def _end_snooze(self, name: str, why: str) -> None:
        snooze = await self.snoozes.clear(name)
        if snooze is None:
            return
        inc = self.book.get(name)
        if inc is not None and inc.ts:
            extra = f" ({snooze.suppressed} crash{'es' if snooze.suppressed != 1 else ''} silenced meanwhile)"
            self._outbox(inc.channel).reply(
                name,
                f":alarm_clock: The snooze set by <@{snooze.by}> has ended: {why}{extra}. Notifications are on again.",
            )

    async def _check_down(self) -> None:
        down = await read_down(self.redis, self.host)
        self._down = down
        if down is None or down.back_at is None or down.missed_reported:
            return
        if not self.caught_up.is_set():
            return
        missed = [inc for inc in self.book.open.values() if down.since - 5 <= inc.last <= down.back_at + 5]
        down.missed_reported = True
        await write_down(self.redis, self.host, down)
        if down.ts:
            lines = [f"• *{escape(inc.name)}*: {escape(inc.explanation)}" for inc in missed] or [
                "Nothing crashed while it was unreachable."
            ]
            box = self._outbox(down.channel)
            box.reply(f"ts:{down.ts}", f"While `{self.host}` was unreachable:\n" + "\n".join(lines))
            with contextlib.suppress(Exception):
                await self.slack.update(
                    down.channel,
                    down.ts,
                    rn.host_unreachable(self.host, down.since, back=down.back_at, missed=len(missed)),
                )

    # ---- baselines ----------------------------------------------------------------------------

    async def _baseline(self, name: str) -> Baseline | None:
        raw = await self.redis.hget(keys.baseline(self.host), name)
        if not raw:
            return None
        try:
            return Baseline.from_json(json.loads(raw))
        except ValueError:
            return None

    async def _save_baseline(self, name: str, baseline: Baseline) -> None:
        await self.redis.hset(keys.baseline(self.host), name, json.dumps(baseline.to_json()))

    # ---- delivery (the outbox's Sink) -------------------------------------------------------------

    def _outbox(self, channel: str) -> Outbox:
        box = self.outboxes.get(channel)
        if box is None:
            box = Outbox(
                channel,
                self.slack,
                _Sink(self),
                burst=self.config.burst,
                post_every=self._post_every if self._post_every is not None else POST_EVERY,
            )
            self.outboxes[channel] = box
            self._tasks[channel] = asyncio.create_task(box.run(), name=f"notify {self.host} {channel}")
        return box

    async def idle(self, timeout: float) -> bool:
        """Nothing left to send in any channel (tests, the benchmark)."""
        deadline = time.monotonic() + timeout
        for box in list(self.outboxes.values()):
            if not await box.idle(max(0.0, deadline - time.monotonic())):
                return False
        return True


class _Sink:
    """The outbox's view of the watcher: rendering at send time, and where messages ended up."""

    def __init__(self, watcher: Watcher) -> None:
        self.w = watcher

    def single(self, key: str) -> Message | None:
        inc = self.w.book.get(key)
        return rn.incident_message(inc.view()) if inc is not None else None

    def summary(self, keys_: list[str]) -> Message:
        views = [inc.view() for k in keys_ if (inc := self.w.book.get(k)) is not None]
        return rn.summary_message(self.w.host, views)

    def details(self, keys_: list[str]) -> list[Message]:
        views = [inc.view() for k in keys_ if (inc := self.w.book.get(k)) is not None]
        return rn.detail_replies(views)

    def edited(self, key: str) -> tuple[str, Message] | None:
        inc = self.w.book.get(key)
        if inc is None or not inc.ts or inc.in_burst:
            return None
        return inc.ts, rn.incident_message(inc.view())

    def thread_of(self, key: str) -> str | None:
        if key.startswith("ts:"):
            return key[3:]
        inc = self.w.book.get(key)
        return inc.ts if inc is not None and inc.ts else None

    async def posted(self, keys_: list[str], ts: str, summary: bool) -> None:
        for key in keys_:
            inc = self.w.book.get(key)
            if inc is None:
                continue
            inc.ts, inc.in_burst = ts, summary
            with contextlib.suppress(Exception):  # Redis away: the message stands; a restart may post it again
                await self.w.book.save(inc)
            if not summary:  # a notification about one container: a mention in its thread may leave it out
                subject = ThreadSubject(self.w.host, inc.cid, inc.name, "notification")
                await ThreadMap(self.w.redis).remember(inc.channel, ts, subject)

    async def held(self) -> bool:
        down = self.w._down
        return down is not None and down.back_at is None


def _silenced(labels: dict[str, str]) -> bool:
    return labels.get("dockbell.notify", "").strip().lower() in ("false", "no", "off", "0")
