"""Live output in threads: `attach`, `events`, the streaming halves of `logs -f` and `stats`, and `streams`.

A stream posts a header in the channel (who, what, since when, a Stop button) and its
output in the header's thread (bot/jobs/streams).  It runs on the host's worker, bounded
by the ``streams:`` config (docs/streams.md): a duration, and live streams per person,
channel and host.  What the gate resolved is what is read: the container's ID, never
its name again.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.cli_output.units import elapsed
from bot.core.cliparse import Flag, Kind
from bot.core.gotime import parse_duration
from bot.core.redact import Redactor
from bot.core.registry import command
from bot.core.timeparse import parse_timestamp
from bot.core.types import Invocation, Output
from bot.errors import NotFound, ParseError, ServiceUnavailable, UserError
from bot.jobs.context import HandlerContext
from bot.jobs.gate import Denied
from bot.jobs.streams.desk import StreamDesk, StreamPlan
from bot.jobs.streams.registry import StreamRecord
from bot.jobs.streams.sources import AttachSource, EventsSource, LineSource, LogsSource, StatsSource
from bot.jobs.visible import container_target, no_such
from bot.policy import Target

DURATION_FLAG = Flag(
    "duration",
    "dockbell's own: how long to stream (default and maximum: the streams config)",
    Kind.STRING,
    value_name="duration",
)


def desk_of(ctx: HandlerContext) -> StreamDesk:
    if ctx.streams is None:
        raise ServiceUnavailable("live streams are not set up on this worker")
    return ctx.streams


def asked_duration(inv: Invocation) -> float:
    value = inv.opt("duration")
    if not value:
        return 0.0
    try:
        nanos = parse_duration(value)
    except ValueError as err:
        raise ParseError(f'invalid argument "{value}" for "--duration" flag: {err}') from None
    if nanos <= 0:
        raise ParseError(f'invalid argument "{value}" for "--duration" flag: it must be positive')
    return nanos / 1e9


async def start(ctx: HandlerContext, plan: StreamPlan) -> Output:
    started = await desk_of(ctx).start(plan)
    return Output(
        f"Streaming `{plan.shown}` in the thread under dockbell's message in this channel "
        f"(stream {started.record.id}). Stop it with the message's button, "
        f"or `/docker streams stop {started.record.id}`.",
        monospace=False,
    )


def _resolved_id(ctx: HandlerContext, ref: str) -> Target:
    target = ctx.targets[0] if ctx.targets else None
    if target is None or not target.id:
        raise NotFound(no_such("container", ref))
    return target


async def container_stream(
    inv: Invocation, ctx: HandlerContext, *, kind: str, verb: str, make: Callable[[str, bool], LineSource]
) -> Output:
    """``logs -f`` and ``attach``: one container, read by its ID, its env's secrets redacted."""
    ref = inv.args[0]
    target = _resolved_id(ctx, ref)
    try:
        info = await ctx.docker.inspect_container(target.id)
    except NotFound:
        raise NotFound(no_such("container", ref)) from None
    tty = bool((info.get("Config") or {}).get("Tty"))
    redactor = Redactor.from_env((info.get("Config") or {}).get("Env"))
    source: LineSource = make(target.id, tty)
    plan = StreamPlan(
        kind=kind,
        verb=verb,
        shown=inv.text,
        requester=ctx.requester,
        host=ctx.access.host,
        source=source,
        target=container_target(info),
        duration=asked_duration(inv),
        redact=redactor.text,
        file_offered=True,
    )
    return await start(ctx, plan)


async def follow_logs(inv: Invocation, ctx: HandlerContext, *, tail: int | None, since: float | None) -> Output:
    if inv.opt("until"):
        raise ParseError("--until cannot be used with --follow: a followed log has no end")

    def make(cid: str, tty: bool) -> LineSource:
        return LogsSource(ctx.docker, cid, tty, tail, since, bool(inv.opt("timestamps")))

    return await container_stream(inv, ctx, kind="logs", verb="logs", make=make)


@command(
    "attach",
    aliases=("container attach",),
    usage="docker attach [OPTIONS] CONTAINER",
    summary="Watch a running container's output live, in a thread (read only: never its input)",
    targets="container:first",
    min_args=1,
    max_args=1,
    flags=[
        Flag(
            "no-stdin",
            "Do not attach STDIN (always so in dockbell: nothing typed reaches the container)",
        ),
        Flag(
            "sig-proxy",
            "Proxy all received signals to the process (never in dockbell)",
            not_available="dockbell's attach is read only: it never sends signals",
        ),
        Flag("detach-keys", "Override the key sequence for detaching a container", Kind.STRING, value_name="string"),
        DURATION_FLAG,
    ],
)
async def attach(inv: Invocation, ctx: HandlerContext) -> Output:
    state_of = await ctx.docker.inspect_container(_resolved_id(ctx, inv.args[0]).id)
    if not (state_of.get("State") or {}).get("Running"):
        raise UserError("You cannot attach to a stopped container, start it first")

    def make(cid: str, tty: bool) -> LineSource:
        return AttachSource(ctx.docker, cid, tty)

    out = await container_stream(inv, ctx, kind="attach", verb="attach", make=make)
    out.text += " Read only: its output, never its input or signals."
    return out


async def follow_stats(inv: Invocation, ctx: HandlerContext, containers: list[tuple[str, str]]) -> Output:
    if inv.opt("format"):
        raise ParseError("--format is not offered for live stats; use it with --no-stream")
    if not containers:
        raise UserError("no running containers you may see to show stats for")
    one = ctx.targets[0] if len(ctx.targets) == 1 else None
    plan = StreamPlan(
        kind="stats",
        verb="stats",
        shown=inv.text,
        requester=ctx.requester,
        host=ctx.access.host,
        source=StatsSource(ctx.docker, containers, trunc=not inv.opt("no_trunc")),
        target=one,
        duration=asked_duration(inv),
    )
    return await start(ctx, plan)


@command(
    "events",
    aliases=("system events",),
    usage="docker events [OPTIONS]",
    summary="Get real time events from the server, in a thread (container and image events you may see)",
    max_args=0,
    flags=[
        Flag("filter", "Filter output based on conditions provided", Kind.LIST, short="f", value_name="filter"),
        Flag(
            "format",
            "Format output using a custom template",
            Kind.STRING,
            value_name="string",
            not_available="--format is not offered for live events yet",
        ),
        Flag("since", "Show all events created since timestamp", Kind.STRING, value_name="string"),
        Flag("until", "Stream events until this timestamp", Kind.STRING, value_name="string"),
        DURATION_FLAG,
    ],
)
async def events(inv: Invocation, ctx: HandlerContext) -> Output:
    from handlers.containers import parse_filters  # one parser of --filter for every command

    now = ctx.now()
    since = parse_timestamp(inv.opt("since"), now, flag="since") if inv.opt("since") else None
    until = parse_timestamp(inv.opt("until"), now, flag="until") if inv.opt("until") else None
    plan = StreamPlan(
        kind="events",
        verb="events",
        shown=inv.text,
        requester=ctx.requester,
        host=ctx.access.host,
        source=EventsSource(
            ctx.docker,
            ctx.access,
            parse_filters(inv.opt("filter") or []),
            f"{since:.9f}" if since is not None else None,
            f"{until:.9f}" if until is not None else None,
        ),
    )
    return await start(ctx, plan)


@command(
    "streams",
    usage="docker streams | docker streams stop STREAM | docker streams log STREAM",
    summary="dockbell's own: list live streams, stop one, or upload a finished stream's whole log",
    max_args=2,
)
async def streams(inv: Invocation, ctx: HandlerContext) -> Output:
    if not inv.args:
        return await _list(ctx)
    if inv.args[0] in ("stop", "log") and len(inv.args) == 2:
        record = await desk_of(ctx).registry.get(inv.args[1])
        if record is None or record.host != ctx.access.host or not _may_act(ctx, record):
            raise NotFound(f"No such stream: {inv.args[1]}")
        if inv.args[0] == "stop":
            return await _stop(ctx, record)
        return await _log_file(ctx, record)
    raise ParseError(
        f"unknown streams subcommand {' '.join(inv.args)!r}",
        usage="Usage:  docker streams | docker streams stop STREAM | docker streams log STREAM",
    )


def _target_of(record: StreamRecord) -> Target | None:
    if not record.container_id:
        return None
    return Target(
        "container", record.container_name, id=record.container_id, labels=dict(record.labels), image=record.image
    )


def _may_act(ctx: HandlerContext, record: StreamRecord) -> bool:
    """The starter, or someone who may run the stream's verb on its container (checked, audited)."""
    if record.user_id == ctx.requester.user_id:
        return True
    target = _target_of(record)
    if target is not None and not ctx.access.sees(target):
        return False  # answered as missing: a hidden container's stream is not admitted to exist
    decision = ctx.access.check(record.verb, target)
    if not decision.allowed:
        raise Denied(decision, f"streams stop {record.id}")
    return True


async def _stop(ctx: HandlerContext, record: StreamRecord) -> Output:
    if record.ended_at:
        return Output(f"Stream {record.id} had already ended; nothing to stop.", monospace=False)
    ended = await desk_of(ctx).stop(record.id, ctx.requester.user_id)
    if ended:
        return Output(f"Stream {record.id} stopped: its thread says so, with what it showed.", monospace=False)
    return Output(
        f"Asked stream {record.id} to stop: it ends within a few seconds, and its thread will say so.",
        monospace=False,
    )


async def _log_file(ctx: HandlerContext, record: StreamRecord) -> Output:
    if record.kind not in ("logs", "attach") or not record.container_id:
        raise UserError("only a logs or attach stream has a log to upload")
    if not record.ended_at:
        raise UserError(f"stream {record.id} is still live: its whole log can be uploaded once it has ended")
    if record.user_id != ctx.requester.user_id:
        target = _target_of(record)
        decision = ctx.access.check("logs", target)
        if not decision.allowed:
            raise Denied(decision, f"streams log {record.id}")
    try:
        info = await ctx.docker.inspect_container(record.container_id)
        raw = await ctx.docker.logs(
            record.container_id, tail=None, since=record.started_at, until=record.ended_at, timestamps=False
        )
    except NotFound:
        raise UserError("the container is gone, and its log with it") from None
    text = raw.decode("utf-8", "replace").replace("\r\n", "\n")
    text = Redactor.from_env((info.get("Config") or {}).get("Env")).text(text)
    name = record.container_name or record.container_id[:12]
    await desk_of(ctx).upload_to_thread(record, f"{name}-stream-{record.id}.log", text)
    return Output(f"The stream's whole log ({len(text.encode()):,} bytes) is in its thread.", monospace=False)


async def _list(ctx: HandlerContext) -> Output:
    desk = desk_of(ctx)
    records = await desk.registry.live(ctx.access.host, ctx.now())
    rows = ["STREAM ID      USER          SINCE          COMMAND"]
    for record in records:
        target = _target_of(record)
        if record.user_id != ctx.requester.user_id and (target is None or not ctx.access.can_see(record.verb, target)):
            continue
        since = elapsed(ctx.now() - record.started_at) + " ago"
        rows.append(f"{record.id:<14} {record.user_id:<13} {since:<14} {record.shown}")
    if len(rows) == 1:
        return Output(f"no live streams on host {ctx.access.host} that you may see")
    return Output("\n".join(rows), filename="streams.txt")
