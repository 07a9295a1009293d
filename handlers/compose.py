"""``docker compose``, for projects known by their containers' labels.

``ls``, ``ps``, ``logs``, ``start``, ``stop`` and ``restart`` need no compose file: they act on
the containers labelled ``com.docker.compose.project=NAME`` that the caller may see, and each
container is judged by its own verb (a restart of a project is a restart of each of its
containers, each through the gate and the queue).  ``pull``, ``up -d`` and ``down`` run the
compose CLI on the worker's host with the files the project's containers recorded; they are
judged on the project (``on: {projects: [...]}``).
"""

from __future__ import annotations

import re
from typing import Any

from bot.cli_output.formatters import compose as cfmt
from bot.cli_output.formatters.listing import render_list
from bot.cli_output.offload import evaluate
from bot.core.cliparse import Flag, Kind
from bot.core.redact import Redactor
from bot.core.registry import command
from bot.core.timeparse import parse_timestamp
from bot.core.types import Invocation, Output
from bot.engine.compose import ONEOFF_LABEL, ComposeUnavailable, ProjectFiles, find_cli
from bot.errors import NotFound, ParseError, UserError
from bot.jobs.context import HandlerContext
from bot.jobs.gate import project_name
from bot.jobs.verbs import START_TIMEOUT, stop_timeout
from bot.jobs.visible import container_target, no_such
from handlers.containers import FORMAT_HELP
from handlers.resource_jobs import JobOrder, queue_jobs

PROJECT_FLAG = Flag("project-name", "Project name", Kind.STRING, short="p", value_name="string")
COMPOSE_JOB_TIMEOUT = 30 * 60.0  # an up may pull images first; never unlimited
_NO_ATTACH = "attaching is not possible in chat: use `docker compose up -d`, then `docker compose logs`"


def _project_items(listed: list[dict[str, Any]], services: list[str], *, all: bool) -> list[dict[str, Any]]:
    """compose's own selection: one-off (``compose run``) containers only with -a, and only the services named."""
    out = []
    for item in listed:
        labels = item.get("Labels") or {}
        if not all and str(labels.get(ONEOFF_LABEL, "")).lower() == "true":
            continue
        if services and labels.get(cfmt.SERVICE_LABEL) not in services:
            continue
        out.append(item)
    return out


@command(
    "compose ls",
    usage="docker compose ls [OPTIONS]",
    summary="List running compose projects",
    verb="ps",
    max_args=0,
    flags=[
        Flag("all", "Show all stopped Compose projects", short="a"),
        Flag("filter", "Filter output based on conditions provided", Kind.LIST, value_name="filter"),
        Flag("format", "Format the output. Values: [table | json]", Kind.STRING, default="table", value_name="string"),
        Flag("quiet", "Only display project names", short="q"),
    ],
)
async def compose_ls(inv: Invocation, ctx: HandlerContext) -> Output:
    names = _name_filters(inv.opt("filter"))
    listed = await ctx.docker.containers(all=inv.opt("all"), filters={"label": [cfmt.PROJECT_LABEL]})
    # The counts are of what the caller sees: a project whose containers are all hidden is not listed.
    seen = [c for c in listed if ctx.access.can_see("ps", container_target(c))]
    found = [s for s in cfmt.stacks(seen) if not names or any(_name_matches(p, s.name) for p in names)]
    return Output(cfmt.render_stacks(found, inv.opt("format"), quiet=inv.opt("quiet")), filename="compose-ls.txt")


def _name_filters(values: list[str]) -> list[str]:
    patterns = []
    for raw in values:
        key, eq, value = raw.partition("=")
        if not eq:
            raise ParseError(f"bad format of filter (expected name=value): {raw}")
        if key.strip().lower() != "name":
            raise UserError(f"invalid filter '{key.strip().lower()}'")
        patterns.append(value)
    return patterns


def _name_matches(pattern: str, name: str) -> bool:
    """compose's match: the exact name, or a regular expression found in it (a bad one matches nothing)."""
    if pattern == name:
        return True
    try:
        return re.search(pattern, name) is not None
    except re.error:
        return False


@command(
    "compose ps",
    usage="docker compose ps [OPTIONS] [SERVICE...]",
    summary="List containers",
    verb="ps",
    flags=[
        PROJECT_FLAG,
        Flag("all", "Show all stopped containers (including those created by the run command)", short="a"),
        Flag("filter", "Filter services by a property (supported filters: status)", Kind.STRING, value_name="string"),
        Flag("format", FORMAT_HELP, Kind.STRING, value_name="string"),
        Flag("no-trunc", "Don't truncate output"),
        Flag("orphans", "Include orphaned services (not declared by project)"),
        Flag("quiet", "Only display IDs", short="q"),
        Flag("services", "Display services"),
        Flag("status", "Filter services by status", Kind.LIST, value_name="stringArray"),
    ],
)
async def compose_ps(inv: Invocation, ctx: HandlerContext) -> Output:
    project = project_name(inv).lower()
    statuses = list(inv.opt("status"))
    if inv.opt("filter"):
        key, eq, value = str(inv.opt("filter")).partition("=")
        if not eq:
            raise UserError("arguments to --filter should be in form KEY=VAL")
        if key != "status":
            raise UserError(f"unknown filter {key}")
        statuses.append(value)
    want_all = bool(inv.opt("all")) or bool(statuses)
    listed = await ctx.docker.containers(all=want_all, filters={"label": [f"{cfmt.PROJECT_LABEL}={project}"]})
    items = _project_items(listed, inv.args, all=bool(inv.opt("all")))
    items = [c for c in items if ctx.access.can_see("ps", container_target(c))]
    if statuses:
        items = [c for c in items if c.get("State") in statuses]
    items.sort(key=cfmt.canonical_name)
    if inv.opt("quiet"):
        return Output("\n".join(str(c.get("Id", "")) for c in items), filename="compose-ps.txt")
    if inv.opt("services"):
        services = list(dict.fromkeys(str((c.get("Labels") or {}).get(cfmt.SERVICE_LABEL, "")) for c in items))
        return Output("\n".join(services), filename="compose-ps.txt")
    fmt = cfmt.compose_ps_format(inv.opt("format"), quiet=False)
    now = ctx.now()
    contexts = [cfmt.ComposeContainerContext(c, trunc=not inv.opt("no_trunc"), now=now) for c in items]
    text = await evaluate(
        render_list, fmt, default_table=cfmt.COMPOSE_PS_TABLE, headers=cfmt.COMPOSE_PS_HEADERS, contexts=contexts
    )
    return Output(text, filename="compose-ps.txt")


def _containers_or_missing(inv: Invocation, ctx: HandlerContext) -> list[Any]:
    """What the gate resolved for ``-p``: the caller's containers of the project, or compose's "no container found"."""
    found = [t for t in ctx.targets if t.id]
    if not found:
        raise NotFound(no_such("project", project_name(inv)))
    return found


@command(
    "compose logs",
    usage="docker compose logs [OPTIONS] [SERVICE...]",
    summary="View output from containers",
    verb="logs",
    targets="project:containers",
    flags=[
        PROJECT_FLAG,
        Flag("follow", "Follow log output", short="f", not_available="following logs is not available; use --tail"),
        Flag("index", "index of the container if service has multiple replicas", Kind.INT, not_available="not offered"),
        Flag("no-color", "Produce monochrome output"),
        Flag("no-log-prefix", "Don't print prefix in logs"),
        Flag("since", "Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative", Kind.STRING),
        Flag("tail", "Number of lines to show from the end of the logs for each container", Kind.STRING, short="n"),
        Flag("timestamps", "Show timestamps", short="t"),
        Flag("until", "Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative", Kind.STRING),
    ],
)
async def compose_logs(inv: Invocation, ctx: HandlerContext) -> Output:
    targets = _containers_or_missing(inv, ctx)
    tail = _tail(inv.opt("tail"))
    now = ctx.now()
    since = parse_timestamp(inv.opt("since"), now) if inv.opt("since") else None
    until = parse_timestamp(inv.opt("until"), now) if inv.opt("until") else None
    lines: list[tuple[str, int, str, str]] = []  # (timestamp, order, prefix name, text)
    names: list[str] = []
    for order, target in enumerate(targets):
        try:
            info = await ctx.docker.inspect_container(target.id)
            raw = await ctx.docker.logs(target.id, tail=tail, since=since, until=until, timestamps=True)
        except NotFound:
            continue  # removed since the gate looked: compose skips it too
        redact = Redactor.from_env((info.get("Config") or {}).get("Env"))
        item = {"Names": [info.get("Name", "")], "Labels": (info.get("Config") or {}).get("Labels") or {}}
        name = cfmt.container_name_without_project(item)
        names.append(name)
        text = redact.text(raw.decode("utf-8", "replace").replace("\r\n", "\n"))
        for line in text.splitlines():
            stamp, _, rest = line.partition(" ")
            lines.append((stamp, order, name, rest))
    # compose streams every container at once; sorted by time is how those lines arrived.
    lines.sort(key=lambda item: (item[0], item[1]))
    width = max((len(n) for n in names), default=0) + 1
    out = []
    for stamp, _, name, rest in lines:
        body = f"{stamp} {rest}" if inv.opt("timestamps") else rest
        out.append(body if inv.opt("no_log_prefix") else f"{name:<{width}}| {body}")
    return Output("\n".join(out), filename=f"{project_name(inv)}.log")


def _tail(value: str | None) -> int | None:
    if value in (None, "", "all"):
        return None
    try:
        n = int(value, 0)
    except ValueError:
        raise ParseError(
            f'invalid argument "{value}" for "-n, --tail" flag: strconv.ParseInt: parsing "{value}": invalid syntax'
        ) from None
    return None if n < 0 else n


async def _each_container(inv: Invocation, ctx: HandlerContext, verb: str) -> Output:
    """One job per container of the project (each already judged by the gate for ``verb``)."""
    targets = _containers_or_missing(inv, ctx)
    seconds = inv.opt("timeout") if "timeout" in inv.opts else None
    timeout = START_TIMEOUT if verb == "start" else stop_timeout(seconds)
    if verb == "restart":
        timeout += START_TIMEOUT
    orders = [
        JobOrder(
            verb=verb,
            target=t.id,
            target_name=t.name,
            kind="container",
            command=f"{verb} {t.name}",
            args={} if verb == "start" else {"time": seconds},
            timeout=timeout,
            idempotent=verb != "restart",  # a second restart after a worker died is a second outage
            lock_key=f"container:{t.id}",
        )
        for t in targets
    ]
    return await queue_jobs(inv, ctx, orders)


TIMEOUT_FLAG = Flag("timeout", "Specify a shutdown timeout in seconds", Kind.INT, short="t", value_name="int")


@command(
    "compose restart",
    usage="docker compose restart [OPTIONS] [SERVICE...]",
    summary="Restart service containers",
    verb="restart",
    group="operate",
    targets="project:containers",
    flags=[PROJECT_FLAG, TIMEOUT_FLAG, Flag("no-deps", "Don't restart dependent services")],
)
async def compose_restart(inv: Invocation, ctx: HandlerContext) -> Output:
    return await _each_container(inv, ctx, "restart")


@command(
    "compose stop",
    usage="docker compose stop [OPTIONS] [SERVICE...]",
    summary="Stop services",
    verb="stop",
    group="operate",
    targets="project:containers",
    flags=[PROJECT_FLAG, TIMEOUT_FLAG],
)
async def compose_stop(inv: Invocation, ctx: HandlerContext) -> Output:
    return await _each_container(inv, ctx, "stop")


@command(
    "compose start",
    usage="docker compose start [SERVICE...]",
    summary="Start services",
    verb="start",
    group="operate",
    targets="project:containers",
    flags=[PROJECT_FLAG],
)
async def compose_start(inv: Invocation, ctx: HandlerContext) -> Output:
    return await _each_container(inv, ctx, "start")


async def _compose_cli_job(inv: Invocation, ctx: HandlerContext, verb: str, argv: list[str]) -> Output:
    """A job running the compose CLI with the project's recorded files; refused at once where it cannot run."""
    target = ctx.targets[0] if ctx.targets else None
    name = project_name(inv)
    if target is None or not target.id:
        raise NotFound(no_such("project", name))
    files = ProjectFiles.from_labels(target.name, target.labels)
    if (problem := files.problem()) is not None:
        raise UserError(problem)
    try:
        cli = await find_cli(ctx.docker.base_url)
    except ComposeUnavailable as err:
        raise UserError(str(err)) from None
    order = JobOrder(
        verb=verb,
        target=files.name,
        target_name=files.name,
        kind="project",
        command=inv.text,
        args={
            "argv": argv,
            "working_dir": files.working_dir,
            "config_files": list(files.config_files),
            "cli": cli.name,
        },
        timeout=COMPOSE_JOB_TIMEOUT,
        idempotent=verb != "compose-down",
        lock_key=f"project:{files.name}",
    )
    return await queue_jobs(inv, ctx, [order])


@command(
    "compose pull",
    usage="docker compose pull [OPTIONS] [SERVICE...]",
    summary="Pull service images",
    verb="compose-pull",
    group="admin",
    targets="project:named",
    flags=[
        PROJECT_FLAG,
        Flag("ignore-pull-failures", "Pull what it can and ignores images with pull failures"),
        Flag("quiet", "Pull without printing progress information", short="q"),
    ],
)
async def compose_pull(inv: Invocation, ctx: HandlerContext) -> Output:
    argv = ["pull", *_given(inv, "ignore-pull-failures", "quiet"), *inv.args]
    return await _compose_cli_job(inv, ctx, "compose-pull", argv)


@command(
    "compose up",
    usage="docker compose up [OPTIONS] [SERVICE...]",
    summary="Create and start containers",
    verb="compose-up",
    group="admin",
    targets="project:named",
    flags=[
        PROJECT_FLAG,
        Flag("detach", "Detached mode: Run containers in the background", short="d"),
        Flag("force-recreate", "Recreate containers even if their configuration and image haven't changed"),
        Flag("no-recreate", "If containers already exist, don't recreate them"),
        Flag("remove-orphans", "Remove containers for services not defined in the Compose file"),
    ],
)
async def compose_up(inv: Invocation, ctx: HandlerContext) -> Output:
    if not inv.opt("detach"):
        raise UserError(f"`docker compose up` without -d would attach to the containers: {_NO_ATTACH}")
    if inv.opt("force_recreate") and inv.opt("no_recreate"):
        raise UserError("--force-recreate and --no-recreate are incompatible")
    argv = ["up", "-d", *_given(inv, "force-recreate", "no-recreate", "remove-orphans"), *inv.args]
    return await _compose_cli_job(inv, ctx, "compose-up", argv)


@command(
    "compose down",
    usage="docker compose down [OPTIONS] [SERVICES]",
    summary="Stop and remove containers, networks",
    verb="compose-down",
    group="admin",
    targets="project:named",
    flags=[
        PROJECT_FLAG,
        Flag("remove-orphans", "Remove containers for services not defined in the Compose file"),
        Flag("rmi", "Remove images used by services", Kind.STRING, not_available="removing images is `docker rmi`"),
        TIMEOUT_FLAG,
        Flag("volumes", "Remove named volumes declared in the volumes section of the Compose file", short="v"),
    ],
)
async def compose_down(inv: Invocation, ctx: HandlerContext) -> Output:
    if inv.args:
        raise UserError("`docker compose down SERVICE` is not offered: compose v1 has no such form; use compose stop")
    argv = ["down", *_given(inv, "remove-orphans", "volumes")]
    if inv.opt("timeout") is not None:
        argv += ["-t", str(inv.opt("timeout"))]
    return await _compose_cli_job(inv, ctx, "compose-down", argv)


def _given(inv: Invocation, *names: str) -> list[str]:
    """The boolean flags typed, spelled long for either compose CLI."""
    return [f"--{n}" for n in names if inv.opt(n)]
