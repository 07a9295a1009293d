"""What a live stream reads: a container's log or output, its stats, the engine's events.

A source runs until the engine ends it, or until it is cancelled (Stop, the time limit, a
stopping worker).  Line sources feed the stream's bounded buffer; it returns why it ended,
in words for the thread ("the container exited with code 3").  The stats source keeps only
the latest sample per container, so it holds a fixed amount whatever the duration.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.cli_output.formatters import stats as sfmt
from bot.cli_output.formatters.listing import render_list
from bot.core.linebuffer import LineBuffer
from bot.engine import follow
from bot.engine.gateway import DockerGateway
from bot.errors import DockerError, NotFound
from bot.jobs.gate import Access
from bot.policy import Target


class LineSource(Protocol):
    async def run(self, buffer: LineBuffer) -> str:
        """Read into ``buffer`` until the engine ends the stream; why it ended."""


async def container_end(gateway: DockerGateway, container_id: str, what: str) -> str:
    """Why a container's stream ended, from its state now."""
    try:
        info = await gateway.inspect_container(container_id)
    except NotFound:
        return "the container was removed"
    except DockerError as err:
        return f"{what} ended, and the container's state could not be read ({err.message})"
    state = info.get("State") or {}
    if state.get("Running"):
        return f"the engine closed the {what} (the container is still running)"
    code = state.get("ExitCode", "?")
    oom = " after being killed for lack of memory (OOMKilled)" if state.get("OOMKilled") else ""
    return f"the container exited with code {code}{oom}"


@dataclass
class LogsSource:
    gateway: DockerGateway
    container_id: str
    tty: bool
    tail: int | None
    since: float | None
    timestamps: bool

    async def run(self, buffer: LineBuffer) -> str:
        await follow.follow_logs(
            self.gateway,
            self.container_id,
            buffer,
            tty=self.tty,
            tail=self.tail,
            since=self.since,
            timestamps=self.timestamps,
        )
        return await container_end(self.gateway, self.container_id, "log stream")


@dataclass
class AttachSource:
    gateway: DockerGateway
    container_id: str
    tty: bool

    async def run(self, buffer: LineBuffer) -> str:
        await follow.attach_output(self.gateway, self.container_id, buffer, tty=self.tty)
        return await container_end(self.gateway, self.container_id, "attached stream")


# Attributes of a container event that are not the container's labels.
_EVENT_FIELDS = frozenset({"name", "image", "exitCode", "signal", "execID", "container", "oomKilled"})


def event_target(event: dict[str, Any]) -> Target | None:
    """What the policy judges an event by; None for a kind dockbell does not stream."""
    actor = event.get("Actor") or {}
    attrs: dict[str, str] = {str(k): str(v) for k, v in (actor.get("Attributes") or {}).items()}
    kind = event.get("Type") or ""
    if kind == "container":
        labels = {k: v for k, v in attrs.items() if k not in _EVENT_FIELDS}
        return Target(
            "container", attrs.get("name", ""), id=str(actor.get("ID", "")), labels=labels, image=attrs.get("image", "")
        )
    if kind == "image":
        return Target("image", str(actor.get("ID", "")), id=str(actor.get("ID", "")))
    return None


def event_line(event: dict[str, Any]) -> str:
    """The line ``docker events`` prints for ``event`` (its default format, in UTC)."""
    nanos = int(event.get("timeNano") or int(event.get("time") or 0) * 10**9)
    seconds, fraction = divmod(nanos, 10**9)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    if fraction:
        stamp += "." + f"{fraction:09d}".rstrip("0")
    actor = event.get("Actor") or {}
    attrs = actor.get("Attributes") or {}
    line = f"{stamp}Z {event.get('Type', '')} {event.get('Action', '')} {actor.get('ID', '')}"
    if attrs:
        line += " (" + ", ".join(f"{k}={attrs[k]}" for k in sorted(attrs)) + ")"
    return line


@dataclass
class EventsSource:
    gateway: DockerGateway
    access: Access  # the starter's: an event about something they may not see is never shown
    filters: dict[str, list[str]]
    since: str | None
    until: str | None
    hidden: int = 0

    async def run(self, buffer: LineBuffer) -> str:
        def on_event(event: dict[str, Any]) -> None:
            target = event_target(event)
            if target is None or not self.access.can_see("events", target):
                self.hidden += 1
                return
            buffer.add_line(event_line(event))

        await follow.follow_events(self.gateway, on_event, filters=self.filters, since=self.since, until=self.until)
        return "it reached --until" if self.until else "the engine closed the event stream"


@dataclass
class StatsSource:
    """The latest sample of each container, rendered as docker's stats table on demand."""

    gateway: DockerGateway
    containers: list[tuple[str, str]]  # (id, as shown in the table's first column)
    trunc: bool = True
    latest: dict[str, dict[str, Any]] = field(default_factory=dict)
    ended: dict[str, str] = field(default_factory=dict)

    async def run(self) -> str:
        await asyncio.gather(*(self._one(cid) for cid, _ in self.containers))
        return "every container's stats stream ended (" + "; ".join(sorted(set(self.ended.values()))) + ")"

    async def _one(self, container_id: str) -> None:
        def keep(sample: dict[str, Any]) -> None:
            self.latest[container_id] = sample

        try:
            await follow.follow_stats(self.gateway, container_id, keep)
            self.ended[container_id] = await container_end(self.gateway, container_id, "stats stream")
        except DockerError as err:
            self.ended[container_id] = err.message

    def table(self, render: Callable[..., str] = render_list) -> str:
        contexts = []
        for cid, shown in self.containers:
            sample = self.latest.get(cid)
            if sample is None:
                continue
            contexts.append(sfmt.StatsContext(sfmt.compute_stats(sample), container=shown, trunc=self.trunc))
        return render(None, default_table=sfmt.STATS_DEFAULT_TABLE, headers=sfmt.STATS_HEADERS, contexts=contexts)
