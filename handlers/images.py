"""Image read commands: images."""

from __future__ import annotations

from bot.cli_output.formatters import images as ifmt
from bot.cli_output.formatters.listing import render_list
from bot.cli_output.offload import evaluate
from bot.cli_output.pull import pull_reference
from bot.core.cliparse import Flag, Kind
from bot.core.registry import command
from bot.core.types import Invocation, Output
from bot.errors import NotFound
from bot.jobs.context import HandlerContext
from bot.policy import Target
from handlers.containers import FORMAT_HELP, parse_filters


def _target(row: ifmt.ImageContext) -> Target:
    repo, tag = row.Repository(), row.Tag()
    name = f"{repo}:{tag}" if repo != "<none>" and tag != "<none>" else repo if repo != "<none>" else row.ID()
    return Target(kind="image", name=name, id=row.ID(), image=name)


def _missing_image(value: str) -> str:
    """The engine's words for a ``before=``/``since=`` image it does not have (``busybox`` -> ``busybox:latest``)."""
    if value.startswith("sha256:"):
        return f"Error response from daemon: No such image: {value}"
    ref = pull_reference(value)  # a malformed reference: the CLI's own ParseError, the same for everyone
    return f"Error response from daemon: No such image: {ref.familiar_string()}"


async def _visible_anchors(ctx: HandlerContext, filters: dict[str, list[str]]) -> dict[str, list[str]]:
    """``before=``/``since=`` name an image: one the caller may not see is answered as a missing one.

    The engine would list the images around a hidden one but refuse a missing one; so each
    is resolved among what the caller sees and handed on by ID.
    """
    lookup = ctx.access.lookup(ctx.docker)
    out = dict(filters)
    for key in ("before", "since"):
        resolved = []
        for value in filters.get(key, []):
            found = await lookup.image(value)
            if found is None:
                raise NotFound(_missing_image(value))
            resolved.append(found.id)
        if resolved:
            out[key] = resolved
    return out


@command(
    "images",
    aliases=("image ls", "image list"),
    usage="docker images [OPTIONS] [REPOSITORY[:TAG]]",
    summary="List images",
    max_args=1,
    flags=[
        Flag("all", "Show all images (default hides intermediate images)", short="a"),
        Flag("digests", "Show digests"),
        Flag("filter", "Filter output based on conditions provided", Kind.LIST, short="f", value_name="filter"),
        Flag("format", FORMAT_HELP, Kind.STRING, value_name="string"),
        Flag("no-trunc", "Don't truncate output"),
        Flag("quiet", "Only show image IDs", short="q"),
    ],
)
async def images(inv: Invocation, ctx: HandlerContext) -> Output:
    filters = await _visible_anchors(ctx, parse_filters(inv.opt("filter")))
    if inv.args:
        filters.setdefault("reference", []).append(inv.args[0])
    raw = await ctx.docker.images(all=inv.opt("all"), filters=filters)
    fmt = ifmt.images_format(inv.opt("format"), quiet=inv.opt("quiet"), digests=inv.opt("digests"))
    every = ifmt.image_rows(raw, digests=inv.opt("digests"), trunc=not inv.opt("no_trunc"), now=ctx.now(), fmt=fmt)
    rows = [r for r in every if ctx.access.can_see("images", _target(r))]
    text = await evaluate(
        render_list, fmt, default_table=ifmt.IMAGES_DEFAULT_TABLE, headers=ifmt.IMAGE_HEADERS, contexts=rows
    )
    return Output(text, filename="images.txt")
