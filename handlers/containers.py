"""Container read commands: ps, inspect, logs, top, port, stats."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable
from typing import Any, TypeVar

from bot.cli_output import gotemplate
from bot.cli_output.formatters import containers as cfmt
from bot.cli_output.formatters import stats as sfmt
from bot.cli_output.formatters import system as sysfmt
from bot.cli_output.formatters.listing import render_list
from bot.cli_output.formatters.templated import render_each
from bot.cli_output.offload import evaluate
from bot.core.cliparse import Flag, Kind
from bot.core.redact import Redactor
from bot.core.registry import command
from bot.core.timeparse import parse_timestamp
from bot.core.types import Invocation, Output
from bot.errors import DockerError, NotFound, ParseError, UserError
from bot.jobs.context import HandlerContext
from bot.jobs.visible import container_target, no_such
from bot.policy import Target
from handlers import streams

T = TypeVar("T")

FORMAT_HELP = (
    "Format output using a custom template:\n"
    "'table':            Print output in table format with column headers (default)\n"
    "'table TEMPLATE':   Print output in table format using the given Go template\n"
    "'json':             Print in JSON format\n"
    "'TEMPLATE':         Print output using the given Go template."
)


def parse_filters(values: list[str]) -> dict[str, list[str]]:
    """`--filter k=v` (repeatable) into the Engine API's filters map."""
    filters: dict[str, list[str]] = {}
    for raw in values:
        key, eq, value = raw.partition("=")
        if not eq or not key:
            raise ParseError(f"bad format of filter (expected name=value): {raw}")
        filters.setdefault(key.strip().lower(), []).append(value)
    return filters


@command(
    "ps",
    aliases=("container ls", "container list", "container ps"),
    usage="docker ps [OPTIONS]",
    summary="List containers",
    max_args=0,
    flags=[
        Flag("all", "Show all containers (default shows just running)", short="a"),
        Flag("filter", "Filter output based on conditions provided", Kind.LIST, short="f", value_name="filter"),
        Flag("format", FORMAT_HELP, Kind.STRING, value_name="string"),
        Flag("last", "Show n last created containers (includes all states)", Kind.INT, short="n", default=-1),
        Flag("latest", "Show the latest created container (includes all states)", short="l"),
        Flag("no-trunc", "Don't truncate output"),
        Flag("quiet", "Only display container IDs", short="q"),
        Flag("size", "Display total file sizes", short="s"),
    ],
)
async def ps(inv: Invocation, ctx: HandlerContext) -> Output:
    given: str | None = inv.opt("format")
    # Like the CLI: the template is checked before listing, and sizes (costly for the
    # engine) are asked for only when they will be shown.
    size = bool(inv.opt("size")) or await evaluate(cfmt.ps_needs_size, given)
    fmt = cfmt.ps_format(given, quiet=inv.opt("quiet"), size=size)
    limit = 1 if inv.opt("latest") and inv.opt("last") == -1 else inv.opt("last")
    filters = await _visible_anchors(ctx, parse_filters(inv.opt("filter")))
    # -n and -l count what the caller sees: the engine's own limit would count hidden
    # containers too and show fewer rows (or none) than docker shows a caller who sees all.
    # They include every state, as the engine's limit does.
    listed = await ctx.docker.containers(
        all=inv.opt("all") or limit > 0, limit=limit if limit <= 0 else -1, size=size, filters=filters
    )
    rows = [c for c in listed if ctx.access.can_see("ps", container_target(c))]
    if limit > 0:
        rows = rows[:limit]  # the engine lists newest first, as the limit wants
    now = ctx.now()
    contexts = [cfmt.ContainerContext(c, trunc=not inv.opt("no_trunc"), now=now) for c in rows]
    text = await evaluate(
        render_list, fmt, default_table=cfmt.PS_DEFAULT_TABLE, headers=cfmt.CONTAINER_HEADERS, contexts=contexts
    )
    return Output(text, filename="ps.txt")


async def _visible_anchors(ctx: HandlerContext, filters: dict[str, list[str]]) -> dict[str, list[str]]:
    """``before=``/``since=`` name a container: one the caller may not see is answered as a missing one.

    The engine would list the rows around a hidden container (and its creation order) but
    refuse a missing one, so each is resolved here among what the caller sees and handed on
    by ID; what resolves to nothing gets the engine's own words for a missing container.
    """
    lookup = ctx.access.lookup(ctx.docker)
    out = dict(filters)
    for key in ("before", "since"):
        if key not in filters:
            continue
        resolved = []
        for value in filters[key]:
            found = await lookup.container(value)
            if found is None:
                raise NotFound(f"Error response from daemon: no such container {value}")
            resolved.append(found.id)
        out[key] = resolved
    return out


async def _inspect_one(ctx: HandlerContext, ref: str, target: Target, kind: str | None) -> dict[str, Any]:
    """The document of what the gate resolved; a target it did not resolve is missing, in docker's words."""
    try:
        if target.id and target.kind == "container":
            doc = await ctx.docker.inspect_container(target.id)
        elif target.id:
            doc = await ctx.docker.inspect_image(target.id)
        else:
            raise NotFound(ref)
    except NotFound:  # missing, hidden, or removed since the gate looked: all the same to the caller
        raise NotFound(f"Error: No such {kind or 'object'}: {ref}") from None
    return Redactor.from_env(doc.get("Config", {}).get("Env")).document(doc)  # type: ignore[no-any-return]


def go_json(value: Any, *, indent: int | None = 4) -> str:
    """JSON the way Go's encoding/json writes it (the CLI escapes <, > and &)."""
    text = json.dumps(value, indent=indent, ensure_ascii=False, separators=(",", ": ") if indent else (",", ":"))
    for char, escaped in _GO_JSON_ESCAPES:
        text = text.replace(char, escaped)
    return text


_GO_JSON_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


@command(
    "inspect",
    aliases=("container inspect", "image inspect"),
    usage="docker inspect [OPTIONS] NAME|ID [NAME|ID...]",
    summary="Return low-level information on Docker objects",
    min_args=1,
    targets="object:all",
    flags=[
        Flag("format", FORMAT_HELP, Kind.STRING, short="f", value_name="string"),
        Flag("type", "Only inspect objects of the given type (container, image)", Kind.STRING, value_name="string"),
    ],
)
async def inspect(inv: Invocation, ctx: HandlerContext) -> Output:
    kind: str | None = inv.opt("type")
    if kind not in (None, "container", "image"):
        raise ParseError(f'"{kind}" is not a valid value for --type')
    template = gotemplate.parse(inv.opt("format")) if inv.opt("format") else None
    results = await asyncio.gather(
        *(_inspect_one(ctx, ref, target, kind) for ref, target in zip(inv.args, ctx.targets, strict=True)),
        return_exceptions=True,
    )
    docs: list[dict[str, Any]] = []
    errors: list[str] = []
    for result in results:
        if isinstance(result, UserError):
            errors.append(result.message)
        elif isinstance(result, BaseException):
            raise result
        else:
            docs.append(result)
    if not docs and errors:
        raise NotFound("\n".join(errors))
    # One budget for every document (the command's): inspect -f T x x x ... cannot multiply it.
    text = await evaluate(render_each, inv.opt("format"), docs) if template is not None else go_json(docs)
    return Output(text, filename="inspect.json", errors=errors)


@command(
    "logs",
    aliases=("container logs",),
    usage="docker logs [OPTIONS] CONTAINER",
    summary="Fetch the logs of a container",
    targets="container:first",
    min_args=1,
    max_args=1,
    flags=[
        Flag("details", "Show extra details provided to logs", not_available="--details is not offered yet"),
        Flag("follow", "Follow log output (in a thread, live)", short="f"),
        Flag(
            "since",
            'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
            Kind.STRING,
            value_name="string",
        ),
        Flag(
            "tail",
            "Number of lines to show from the end of the logs",
            Kind.STRING,
            short="n",
            default="all",
            value_name="string",
        ),
        Flag("timestamps", "Show timestamps", short="t"),
        Flag(
            "until",
            'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
            Kind.STRING,
            value_name="string",
        ),
        streams.DURATION_FLAG,
    ],
)
async def logs(inv: Invocation, ctx: HandlerContext) -> Output:
    ref = inv.args[0]
    tail = _parse_tail(inv.opt("tail"))
    now = ctx.now()
    since = parse_timestamp(inv.opt("since"), now, flag="since") if inv.opt("since") else None
    if inv.opt("follow"):
        return await streams.follow_logs(inv, ctx, tail=tail, since=since if since is None or since > 0 else None)
    if inv.opt("duration"):
        raise ParseError("--duration is for a followed log: add -f")
    until = parse_timestamp(inv.opt("until"), now, flag="until") if inv.opt("until") else None
    if inv.opt("until") == "0":
        until = None  # the engine reads a bare "0" as no limit (but "00" as 1970)
    info = await _resolved(ctx, ref)
    if until is not None and until <= 0:
        raw = b""  # up to 1970 or before: no line is that old (and docker-py refuses to ask)
    else:
        raw = await _or_missing(
            ref,
            ctx.docker.logs(
                info["Id"],
                tail=tail,
                since=since if since is not None and since > 0 else None,  # up to 1970: every line
                until=until,
                timestamps=inv.opt("timestamps"),
            ),
        )
    text = raw.decode("utf-8", "replace").replace("\r\n", "\n")
    redactor = Redactor.from_env(info.get("Config", {}).get("Env"))
    # About 28 ms a megabyte: a long log is redacted off the event loop the worker shares.
    text = redactor.text(text) if len(text) < REDACT_INLINE else await asyncio.to_thread(redactor.text, text)
    name = info.get("Name", ref).lstrip("/")
    return Output(text.rstrip("\n"), filename=f"{name}.log")


REDACT_INLINE = 64 * 1024  # characters of log redacted on the loop; longer ones on a thread


def _target_id(ctx: HandlerContext, ref: str) -> str:
    """The ID the gate resolved ``ref`` to; a missing or hidden container is missing, in docker's words."""
    target = ctx.targets[0] if ctx.targets else None
    if target is None or not target.id:
        raise NotFound(no_such("container", ref))
    return target.id


async def _resolved(ctx: HandlerContext, ref: str) -> dict[str, Any]:
    """The inspect document of the container the gate resolved, by ID: never looked up again by name."""
    return await _or_missing(ref, ctx.docker.inspect_container(_target_id(ctx, ref)))


async def _or_missing(ref: str, call: Awaitable[T]) -> T:
    """``call`` on a resolved ID; gone since (NotFound) is worded with what was typed, as a missing one."""
    try:
        return await call
    except NotFound:
        raise NotFound(no_such("container", ref)) from None


async def _stats_containers(inv: Invocation, ctx: HandlerContext) -> list[tuple[str, str]]:
    """(ID, as shown) of what live stats shows: the containers named, or every running one the caller may see."""
    if inv.args:
        for ref, target in zip(inv.args, ctx.targets, strict=True):
            if not target.id:
                raise NotFound(no_such("container", ref))
        return [(t.id, ref) for ref, t in zip(inv.args, ctx.targets, strict=True)]
    listed = await ctx.docker.containers(all=inv.opt("all"))
    return [(c["Id"], c["Id"][:12]) for c in listed if ctx.access.can_see("stats", container_target(c))]


async def _sample(ctx: HandlerContext, ref: str, cid: str) -> dict[str, Any]:
    if not cid:  # the gate found nothing the caller may see
        raise NotFound(no_such("container", ref))
    return await _or_missing(ref, ctx.docker.stats(cid))


def _parse_tail(value: str) -> int | None:
    """``--tail`` as the engine reads it: the CLI passes the string on and the daemon's
    ``strconv.Atoi`` takes a decimal count (``010`` is 10, ``+3`` is 3); anything else, and a
    negative count, means every line (docker's docs: "the value is set to all")."""
    if not re.fullmatch(r"[+-]?[0-9]+", value) or not -(2**63) <= int(value) < 2**63:
        return None
    n = int(value)
    return None if n < 0 else n


_PS_ARG = re.compile(r"^[A-Za-z0-9,=:%_+-]+$")


@command(
    "top",
    aliases=("container top",),
    usage="docker top CONTAINER [ps OPTIONS]",
    summary="Display the running processes of a container",
    targets="container:first",
    min_args=1,
    interspersed=False,
)
async def top(inv: Invocation, ctx: HandlerContext) -> Output:
    ref, *ps_args = inv.args
    # The daemon runs the host's ps with these words; keep them to option syntax.
    for word in ps_args:
        if not _PS_ARG.match(word):
            raise ParseError(f"ps option {word!r} is not allowed")
    cid = _target_id(ctx, ref)
    result = await _or_missing(ref, ctx.docker.top(cid, " ".join(ps_args) or None))
    return Output(sysfmt.format_top(result), filename="top.txt")


@command(
    "port",
    aliases=("container port",),
    usage="docker port CONTAINER [PRIVATE_PORT[/PROTO]]",
    summary="List port mappings or a specific mapping for the container",
    targets="container:first",
    min_args=1,
    max_args=2,
)
async def port(inv: Invocation, ctx: HandlerContext) -> Output:
    info = await _resolved(ctx, inv.args[0])
    wanted = inv.args[1] if len(inv.args) > 1 else None
    text = cfmt.format_port_output(info, wanted)
    if wanted is not None and not text:
        raise DockerError(f"Error: No public port '{wanted}' published for {inv.args[0]}")
    return Output(text, filename="port.txt")


@command(
    "stats",
    aliases=("container stats",),
    usage="docker stats [OPTIONS] [CONTAINER...]",
    summary="Display a live stream of container(s) resource usage statistics",
    targets="container:all",
    flags=[
        Flag("all", "Show all containers (default shows just running)", short="a"),
        Flag("format", FORMAT_HELP, Kind.STRING, value_name="string"),
        Flag("no-stream", "Disable streaming stats and only pull the first result"),
        Flag("no-trunc", "Do not truncate output"),
        streams.DURATION_FLAG,
    ],
)
async def stats(inv: Invocation, ctx: HandlerContext) -> Output:
    if not inv.opt("no_stream"):
        return await streams.follow_stats(inv, ctx, await _stats_containers(inv, ctx))
    if inv.opt("duration"):
        raise ParseError("--duration is for live stats: leave out --no-stream")
    if inv.args:
        targets = list(inv.args)
        ids = [t.id for t in ctx.targets]
    else:
        listed = await ctx.docker.containers(all=inv.opt("all"))
        targets = [c["Id"] for c in listed if ctx.access.can_see("stats", container_target(c))]
        ids = list(targets)
    # One sample takes ~2 s (the daemon waits for a second reading), so all in parallel.
    pairs = zip(targets, ids, strict=True)
    samples = await asyncio.gather(*(_sample(ctx, t, i) for t, i in pairs), return_exceptions=True)
    contexts = []
    errors = []
    for target, sample in zip(targets, samples, strict=True):
        if isinstance(sample, UserError):
            errors.append(sample.message)
        elif isinstance(sample, BaseException):
            raise sample
        else:
            entry = sfmt.compute_stats(sample)
            contexts.append(sfmt.StatsContext(entry, container=target, trunc=not inv.opt("no_trunc")))
    if errors and not contexts:
        raise DockerError("\n".join(errors))
    text = await evaluate(
        render_list,
        inv.opt("format"),
        default_table=sfmt.STATS_DEFAULT_TABLE,
        headers=sfmt.STATS_HEADERS,
        contexts=contexts,
    )
    return Output(text, filename="stats.txt", errors=errors)
