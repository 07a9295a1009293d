"""``docker volume ls/inspect/create/rm``: lists and inspects answered directly, create and rm as jobs."""

from __future__ import annotations

from typing import Any

from bot.cli_output.formatters import volumes as vfmt
from bot.cli_output.formatters.listing import render_list
from bot.cli_output.formatters.templated import render_each
from bot.cli_output.offload import evaluate
from bot.core.cliparse import Flag, Kind
from bot.core.registry import command
from bot.core.types import Invocation, Output
from bot.engine.volumes import Volumes
from bot.errors import NotFound, UserError
from bot.jobs.context import HandlerContext
from bot.jobs.gate import label_map
from bot.jobs.visible import no_such, volume_target
from handlers.containers import FORMAT_HELP, go_json, parse_filters
from handlers.resource_jobs import JobOrder, queue_jobs

INSPECT_FORMAT_HELP = (
    "Format output using a custom template:\n"
    "'json':             Print in JSON format\n"
    "'TEMPLATE':         Print output using the given Go template."
)
VOLUME_JOB_TIMEOUT = 120.0  # a driver may take a while (a remote mount), never unlimited
_SWARM_ONLY = "cluster volumes need a swarm manager, which dockbell does not drive"


@command(
    "volume ls",
    aliases=("volume list",),
    usage="docker volume ls [OPTIONS]",
    summary="List volumes",
    verb="volume-ls",
    max_args=0,
    flags=[
        Flag(
            "cluster", "Display only cluster volumes, and use cluster volume list formatting", not_available=_SWARM_ONLY
        ),
        Flag("filter", 'Provide filter values (e.g. "dangling=true")', Kind.LIST, short="f", value_name="filter"),
        Flag("format", FORMAT_HELP, Kind.STRING, value_name="string"),
        Flag("quiet", "Only display volume names", short="q"),
    ],
)
async def volume_ls(inv: Invocation, ctx: HandlerContext) -> Output:
    fmt = vfmt.volumes_format(inv.opt("format"), quiet=inv.opt("quiet"))
    listed = await Volumes(ctx.docker).list(parse_filters(inv.opt("filter")))
    rows = [v for v in vfmt.sorted_volumes(listed) if ctx.access.can_see("volume-ls", volume_target(dict(v)))]
    contexts = [vfmt.VolumeContext(v) for v in rows]
    text = await evaluate(
        render_list, fmt, default_table=vfmt.VOLUMES_DEFAULT_TABLE, headers=vfmt.VOLUME_HEADERS, contexts=contexts
    )
    return Output(text, filename="volumes.txt")


@command(
    "volume inspect",
    usage="docker volume inspect [OPTIONS] VOLUME [VOLUME...]",
    summary="Display detailed information on one or more volumes",
    verb="volume-inspect",
    min_args=1,
    targets="volume:all",
    flags=[Flag("format", INSPECT_FORMAT_HELP, Kind.STRING, short="f", value_name="string")],
)
async def volume_inspect(inv: Invocation, ctx: HandlerContext) -> Output:
    volumes = Volumes(ctx.docker)
    docs: list[dict[str, Any]] = []
    errors: list[str] = []
    for ref, target in zip(inv.args, ctx.targets, strict=True):
        try:
            if not target.id:
                raise NotFound(ref)
            docs.append(vfmt.volume_document(await volumes.inspect(target.id)))
        except NotFound:  # missing, hidden, or removed since the gate looked: the daemon's words
            errors.append(no_such("volume", ref))
    fmt: str | None = inv.opt("format")
    if not docs and errors:
        raise NotFound("\n".join(errors))
    if fmt == "json":
        fmt = None  # inspect's "json" is the default output
    text = await evaluate(render_each, fmt, docs) if fmt else go_json(docs)
    return Output(text, filename="volume-inspect.json", errors=errors)


@command(
    "volume create",
    usage="docker volume create [OPTIONS] [VOLUME]",
    summary="Create a volume",
    verb="volume-create",
    group="admin",
    max_args=1,
    targets="volume:new",
    flags=[
        Flag("driver", "Specify volume driver name", Kind.STRING, short="d", default="local", value_name="string"),
        Flag("label", "Set metadata for a volume", Kind.LIST, value_name="list"),
        Flag("name", "Specify volume name", Kind.STRING, value_name="string"),
        Flag("opt", "Set driver specific options", Kind.LIST, short="o", value_name="map"),
        *(
            Flag(name, help, Kind.STRING, value_name="string", not_available=_SWARM_ONLY)
            for name, help in (
                ("availability", 'Cluster Volume availability ("active", "pause", "drain")'),
                ("group", "Cluster Volume group (cluster volumes)"),
                ("limit-bytes", "Minimum size of the Cluster Volume in bytes"),
                ("required-bytes", "Maximum size of the Cluster Volume in bytes"),
                ("scope", 'Cluster Volume access scope ("single", "multi")'),
                ("secret", "Cluster Volume secrets"),
                ("sharing", 'Cluster Volume access sharing ("none", "readonly", "onewriter", "all")'),
                ("topology-preferred", "A topology that the Cluster Volume would be preferred in"),
                ("topology-required", "A topology that the Cluster Volume must be accessible from"),
                ("type", 'Cluster Volume access type ("mount", "block")'),
            )
        ),
    ],
)
async def volume_create(inv: Invocation, ctx: HandlerContext) -> Output:
    name = inv.args[0] if inv.args else inv.opt("name") or ""
    if inv.args and inv.opt("name"):
        raise UserError("conflicting options: cannot specify a volume-name through both --name and as a positional arg")
    args: dict[str, object] = {
        "name": name,
        "driver": inv.opt("driver") or "local",
        "driver_opts": driver_options(inv.opt("opt")),
        "labels": label_map(inv.opt("label")),
    }
    order = JobOrder(
        verb="volume-create",
        target=name,
        target_name=name or "(a new anonymous volume)",
        kind="volume",
        command=inv.text,
        args=args,
        timeout=VOLUME_JOB_TIMEOUT,
        # An anonymous create run twice makes two volumes; a named one is the same volume again.
        idempotent=bool(name),
        lock_key=f"volume:{name}" if name else None,
    )
    return await queue_jobs(inv, ctx, [order])


def driver_options(values: list[str]) -> dict[str, str]:
    """``-o k=v`` as docker's MapOpts: ``k`` alone is ``k=""``; the last of a repeated key wins."""
    opts: dict[str, str] = {}
    for item in values:
        key, _, value = item.partition("=")
        opts[key] = value
    return opts


@command(
    "volume rm",
    aliases=("volume remove",),
    usage="docker volume rm [OPTIONS] VOLUME [VOLUME...]",
    summary="Remove one or more volumes",
    verb="volume-rm",
    group="admin",
    min_args=1,
    targets="volume:all",
    flags=[Flag("force", "Force the removal of one or more volumes", short="f")],
)
async def volume_rm(inv: Invocation, ctx: HandlerContext) -> Output:
    force = bool(inv.opt("force"))
    missing = [ref for ref, t in zip(inv.args, ctx.targets, strict=True) if not t.id]
    if missing and not force:
        # Nothing is removed when one of them does not exist: never a half-done command.
        raise NotFound("\n".join(no_such("volume", m) for m in missing))
    found = [t for t in ctx.targets if t.id]
    if not found:
        return Output("\n".join(missing))  # -f: docker prints each name, missing or not
    orders = [
        JobOrder(
            verb="volume-rm",
            target=t.id,
            target_name=t.name,
            kind="volume",
            command=f"volume rm{' -f' if force else ''} {t.name}",
            args={"force": force},
            timeout=VOLUME_JOB_TIMEOUT,
            idempotent=True,
            lock_key=f"volume:{t.id}",
        )
        for t in dict.fromkeys(found)
    ]
    answer = await queue_jobs(inv, ctx, orders)
    if missing and not answer.silent:
        answer.text += "\n" + "\n".join(missing)
    return answer
