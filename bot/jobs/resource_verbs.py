"""What a worker does for the volume and network job verbs, and compose's (from compose_verbs.py).

Each is one engine call, sent once: a cancel cannot stop it once it runs, so none is
Cancellable.  What a handler returns is what the docker CLI prints on success (the volume's
name, the network's ID), said so that the status message reads as a result.
"""

from __future__ import annotations

from typing import Any

from bot.engine.gateway import DockerGateway
from bot.engine.networks import Networks, NetworkSpec
from bot.engine.volumes import Volumes
from bot.jobs.compose_verbs import CANCELLABLE_WHILE_RUNNING as COMPOSE_CANCELLABLE
from bot.jobs.compose_verbs import compose_handlers
from bot.jobs.queue import JobContext
from bot.jobs.queue.context import JobHandler

VERBS = ("volume-create", "volume-rm", "network-create", "network-rm", "network-connect", "network-disconnect")
# One engine call each: once sent, a cancel cannot undo it (see bot/jobs/verbs.py).
CANCELLABLE_WHILE_RUNNING: dict[str, bool] = {**dict.fromkeys(VERBS, False), **COMPOSE_CANCELLABLE}


def resource_handlers(docker: DockerGateway) -> dict[str, JobHandler]:
    # The wrappers are made per call: building the table touches nothing of the engine.
    def volumes() -> Volumes:
        return Volumes(docker)

    def networks() -> Networks:
        return Networks(docker)

    async def volume_create(ctx: JobContext) -> str:
        args: dict[str, Any] = ctx.job.args
        made = await volumes().create(
            args.get("name") or None,
            driver=str(args.get("driver") or "local"),
            driver_opts=dict(args.get("driver_opts") or {}),
            labels=dict(args.get("labels") or {}),
        )
        return str(made.get("Name", ""))  # docker volume create prints the name

    async def volume_rm(ctx: JobContext) -> str:
        await volumes().remove(ctx.job.target, force=bool(ctx.job.args.get("force")))
        return ctx.job.target

    async def network_create(ctx: JobContext) -> str:
        made = await networks().create(NetworkSpec.from_json(ctx.job.args["spec"]))
        warning = str(made.get("Warning") or "")
        return str(made.get("Id", "")) + (f"\n{warning}" if warning else "")

    async def network_rm(ctx: JobContext) -> str:
        await networks().remove(ctx.job.target)
        return str(ctx.job.args.get("target_name") or ctx.job.target)

    async def network_connect(ctx: JobContext) -> str:
        args = ctx.job.args
        await networks().connect(
            ctx.job.target,
            str(args["container"]),
            ipv4=str(args.get("ip") or ""),
            ipv6=str(args.get("ip6") or ""),
            aliases=[str(a) for a in args.get("aliases") or []],
        )
        return f"{args.get('container_name')}: connected to {args.get('target_name')}"

    async def network_disconnect(ctx: JobContext) -> str:
        args = ctx.job.args
        await networks().disconnect(ctx.job.target, str(args["container"]), force=bool(args.get("force")))
        return f"{args.get('container_name')}: disconnected from {args.get('target_name')}"

    return {
        "volume-create": volume_create,
        "volume-rm": volume_rm,
        "network-create": network_create,
        "network-rm": network_rm,
        "network-connect": network_connect,
        "network-disconnect": network_disconnect,
        **compose_handlers(docker),
    }
