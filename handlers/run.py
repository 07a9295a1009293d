"""``docker run`` and ``docker create``: the whole flag table of docker 28, as the CLI executes it.

The command line is parsed once, with docker's flag table (bot/policy/flagguard.py).  The gate
judges the capabilities and the planned container (name, labels, image) of that reading; this
handler takes the very same reading (``guard_invocation`` returns one object per command) and
queues a job carrying the Engine API request planned from its RunSpec
(bot/engine/runconfig.py), which the host's worker sends (bot/jobs/run_jobs.py).
"""

from __future__ import annotations

import re

from bot.core.registry import command
from bot.core.types import Invocation, Output, ReplyTo
from bot.engine import runconfig
from bot.errors import DockerError, NotAvailableYet
from bot.jobs.context import HandlerContext
from bot.jobs.gate import guard_invocation
from bot.jobs.queue import Job, job_id_for
from bot.jobs.verbs import PULL_TIMEOUT
from bot.jobs.visible import container_target
from bot.policy.flagguard import CREATE_FLAGS, RUN_FLAGS, USAGE
from bot.policy.runspec import RunSpec
from handlers.lifecycle import _refuse_if_approval_needed

# A run job may pull, create, then watch for up to run.attach_timeout (at most an hour).
RUN_JOB_TIMEOUT = PULL_TIMEOUT + 3600 + 120

_NOT_IN_CHAT = (
    "`docker run {flags}` attaches your terminal to the container, and a chat has no terminal to attach."
    " Start it in the background instead (`docker run -d{keep} ...`), then `docker exec CONTAINER CMD`"
    " to run commands in it and `docker logs -f CONTAINER` to follow its output."
)


def _refuse_for_chat(spec: RunSpec) -> None:
    if spec.verb != "run" or spec.detach:
        return
    if spec.interactive or spec.tty:
        flags = " ".join(f for f, on in (("-i", spec.interactive), ("-t", spec.tty)) if on)
        keep = "".join(f for f, on in (("i", spec.interactive), ("t", spec.tty)) if on)
        raise NotAvailableYet(_NOT_IN_CHAT.format(flags=flags, keep=keep))
    if "stdin" in spec.attach:
        raise NotAvailableYet(_NOT_IN_CHAT.format(flags="-a stdin", keep=""))


def _refuse_unoffered(spec: RunSpec) -> None:
    if spec.gpus:
        raise NotAvailableYet("`--gpus` is not offered by dockbell yet")


async def _refuse_a_hidden_holder(ctx: HandlerContext, name: str) -> None:
    """``--name`` taken by a container the caller may not see: the engine's conflict error would
    name its ID, so the refusal is worded without it (docker's words otherwise)."""
    wanted = name.lstrip("/")
    listed = await ctx.docker.containers(all=True, filters={"name": [f"^/{re.escape(wanted)}$"]})
    for item in listed:
        holder = container_target(item)
        if holder.name == wanted and not ctx.access.sees(holder):
            raise DockerError(
                f'docker: Error response from daemon: Conflict. The container name "/{wanted}" is already in use '
                "by another container. You have to remove (or rename) that container to be able to reuse that name."
            )


async def _submit(inv: Invocation, ctx: HandlerContext) -> Output:
    guarded = guard_invocation(inv)  # the very object the gate judged
    if guarded is None or guarded.spec is None:
        raise RuntimeError(f"{inv.command.name} reached its handler without the flag guard's reading")
    spec = guarded.spec
    _refuse_for_chat(spec)
    _refuse_unoffered(spec)
    _refuse_if_approval_needed(ctx)
    if spec.name:
        await _refuse_a_hidden_holder(ctx, spec.name)
    host = ctx.access.host
    await ctx.jobs.require_live(host)
    request = runconfig.plan(spec, extra_labels={runconfig.CREATED_BY: ctx.requester.user_id})
    shown = spec.name or spec.image
    job, created = await ctx.jobs.submit(
        Job(
            id=job_id_for(host, spec.verb, shown, ctx.response_url),
            host=host,
            verb=spec.verb,
            target=shown,
            requester=ctx.requester,
            reply_to=ReplyTo(ctx.requester.channel_id, "", ctx.response_url),
            args={"request": request.to_json(), "command": inv.text, "target_name": shown},
            # Never run twice: a second run after a worker died is a second container.
            idempotent=False,
            timeout_seconds=RUN_JOB_TIMEOUT,
            lock_key=f"container-name:{spec.name}" if spec.name else None,
        )
    )
    ctx.job_ids.append(job.id)
    if job.reply_to.thread_ts:
        return Output("", silent=True)  # the status message in the channel says everything
    state = "queued" if created else "already queued"
    return Output(
        f"job {job.id}: docker {inv.text} ({state})\n"
        "dockbell is not in this channel, so the outcome will be posted here, to you only.",
        monospace=False,
    )


@command(
    "run",
    aliases=("container run",),
    usage=USAGE["run"],
    summary="Create and run a new container from an image",
    min_args=1,
    interspersed=False,
    targets="container:planned",
    group="admin",
    flags=list(RUN_FLAGS),
)
async def run(inv: Invocation, ctx: HandlerContext) -> Output:
    return await _submit(inv, ctx)


@command(
    "create",
    aliases=("container create",),
    usage=USAGE["create"],
    summary="Create a new container",
    min_args=1,
    interspersed=False,
    targets="container:planned",
    group="admin",
    flags=list(CREATE_FLAGS),
)
async def create(inv: Invocation, ctx: HandlerContext) -> Output:
    return await _submit(inv, ctx)
