"""Engine-wide read commands: version, info."""

from __future__ import annotations

import asyncio

from bot import __version__
from bot.cli_output.formatters import system as sysfmt
from bot.cli_output.formatters.templated import render_one
from bot.cli_output.offload import evaluate
from bot.core.cliparse import Flag, Kind
from bot.core.registry import command
from bot.core.types import Invocation, Output
from bot.jobs.context import HandlerContext

CLIENT = {"Version": __version__, "ApiVersion": "1.41", "Os": "slack", "Arch": "chatops"}


@command(
    "version",
    usage="docker version [OPTIONS]",
    summary="Show the Docker version information",
    max_args=0,
    flags=[Flag("format", "Format output using a custom template", Kind.STRING, short="f", value_name="string")],
)
async def version(inv: Invocation, ctx: HandlerContext) -> Output:
    server = await ctx.docker.version()
    if inv.opt("format"):
        data = {"Client": CLIENT, "Server": server}
        return Output(await evaluate(render_one, inv.opt("format"), data), filename="version.txt")
    return Output(sysfmt.format_version(server, CLIENT), filename="version.txt")


@command(
    "info",
    aliases=("system info",),
    usage="docker info [OPTIONS]",
    summary="Display system-wide information",
    max_args=0,
    flags=[Flag("format", "Format output using a custom template", Kind.STRING, short="f", value_name="string")],
)
async def info(inv: Invocation, ctx: HandlerContext) -> Output:
    data, server = await asyncio.gather(ctx.docker.info(), ctx.docker.version())
    if inv.opt("format"):
        return Output(await evaluate(render_one, inv.opt("format"), data), filename="info.txt")
    return Output(sysfmt.format_info(data, server), filename="info.txt")
