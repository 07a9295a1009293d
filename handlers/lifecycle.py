"""Commands that change things and take time: start, stop, restart, pull. Each becomes a job."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence

from bot.cli_output.pull import pull_reference
from bot.core.cliparse import Flag, Kind
from bot.core.registry import command
from bot.core.types import Invocation, Output, ReplyTo
from bot.errors import NotFound
from bot.jobs.approval_pass import require_approval_pass
from bot.jobs.context import HandlerContext
from bot.jobs.queue import Job, job_id_for
from bot.jobs.verbs import PULL_TIMEOUT, START_TIMEOUT, stop_timeout
from bot.jobs.visible import no_such
from bot.policy import Target


def _refuse_if_approval_needed(ctx: HandlerContext) -> None:
    """The net under the approval hook (bot/jobs/approval_flow.py): passes only an approved run."""
    require_approval_pass(ctx.access.decisions)


async def _queue(
    inv: Invocation,
    ctx: HandlerContext,
    targets: list[Target],
    *,
    verb: str,
    args: dict[str, object],
    timeout: float,
    idempotent: bool,
    typed: Sequence[str] | None = None,
    commands: Sequence[str] | None = None,
    lock: bool = True,
) -> Output:
    """One job per target, each with its status message.

    ``typed``: each target as typed (docker prints that back); ``commands``: each job's command
    line, as shown in its message and audited (default: the command typed, or VERB NAME for
    several); ``lock``: whether jobs on the same container wait for each other (a wait must
    not: it would hold up the very stop it waits for).
    """
    _refuse_if_approval_needed(ctx)
    queued = []
    for i, target in enumerate(targets):
        container = target.kind == "container"
        ref = target.id or target.name
        default = inv.text if len(targets) == 1 else f"{verb} {target.name}"
        command = commands[i] if commands is not None else default
        host = ctx.access.host
        job_args = {**args, "command": command, "target_name": target.name}
        if typed is not None:
            job_args["typed"] = typed[i]
        job, created = await ctx.jobs.submit(
            Job(
                id=job_id_for(host, verb, ref, ctx.response_url),
                host=host,
                verb=verb,
                target=ref,
                requester=ctx.requester,
                reply_to=ReplyTo(ctx.requester.channel_id, "", ctx.response_url),
                args=job_args,
                idempotent=idempotent,
                timeout_seconds=timeout,
                lock_key=f"container:{target.id}" if lock and container and target.id else None,
            )
        )
        queued.append((job, created))
        ctx.job_ids.append(job.id)
    if all(job.reply_to.thread_ts for job, _ in queued):
        return Output("", silent=True)  # the status messages in the channel say everything
    lines = [
        f"job {job.id}: docker {job.args.get('command')} ({'queued' if created else 'already queued'})"
        for job, created in queued
    ]
    lines.append("dockbell is not in this channel, so the outcome will be posted here, to you only.")
    return Output("\n".join(lines), monospace=False)


async def container_jobs(
    inv: Invocation,
    ctx: HandlerContext,
    verb: str,
    args: dict[str, object],
    timeout: float,
    *,
    idempotent: bool,
    lock: bool = True,
    missing: Callable[[str], str] | None = None,
    missing_fails: bool = True,
) -> Output:
    """A job for each container named that the caller may see; docker's words for each of the others.

    As the CLI does, one missing container does not hold up the rest: each is answered with
    ``missing(typed)`` (default: "No such container: X"; hidden ones alike, see the gate), and
    the others are queued.  ``missing_fails=False`` (``rm -f``): those answers are printed,
    but the command has not failed for them.  Each job's command names its own container
    with the flags typed (``stop -t 1 b``).
    """
    await ctx.jobs.require_live(ctx.access.host)
    word = missing or (lambda typed: no_such("container", typed))
    pairs = list(zip(inv.args, ctx.targets, strict=True))
    found = [(typed, t) for typed, t in pairs if t.id]
    errors = [word(typed) for typed, t in pairs if not t.id]
    if not found:
        if missing_fails:
            raise NotFound("\n".join(errors))
        return Output("", errors=errors)
    alone = len(pairs) == 1
    commands = [inv.text if alone else one_command(inv, typed) for typed, _ in found]
    queued = await _queue(
        inv,
        ctx,
        [t for _, t in found],
        verb=verb,
        args=args,
        timeout=timeout,
        idempotent=idempotent,
        typed=[typed for typed, _ in found],
        commands=commands,
        lock=lock,
    )
    if not errors:
        return queued
    return Output("" if queued.silent else queued.text, errors=errors)


def one_command(inv: Invocation, typed: str) -> str:
    """The command line for one of its containers: the verb, the flags as given, that container."""
    flags = {f.name: f for f in inv.command.flagset.flags}
    words = [inv.command.name]
    listed: dict[str, int] = {}
    for name in inv.given:
        flag = flags.get(name)
        if flag is None or name in ("host", "help"):
            continue
        spelled = f"-{flag.short}" if flag.short else f"--{flag.name}"
        value = inv.opt(name)
        if flag.kind is Kind.BOOL:
            words.append(spelled if value else f"--{flag.name}=false")
        elif flag.kind is Kind.LIST:
            index = listed.get(name, 0)
            listed[name] = index + 1
            words += [spelled, shlex.quote(str(value[index]))]
        else:
            words += [spelled, shlex.quote(str(value))]
    words.append(shlex.quote(typed))
    return " ".join(words)


async def _container_job(
    inv: Invocation, ctx: HandlerContext, verb: str, args: dict[str, object], timeout: float, idempotent: bool
) -> Output:
    return await container_jobs(inv, ctx, verb, args, timeout, idempotent=idempotent)


TIME_FLAG = Flag("time", "Seconds to wait before killing the container", Kind.INT, short="t", value_name="int")
SIGNAL_FLAG = Flag(
    "signal",
    "Signal to send to the container",
    Kind.STRING,
    short="s",
    value_name="string",
    not_available="--signal is not offered yet",
)


@command(
    "start",
    aliases=("container start",),
    usage="docker start [OPTIONS] CONTAINER [CONTAINER...]",
    summary="Start one or more stopped containers",
    min_args=1,
    targets="container:all",
    group="operate",
    flags=[
        Flag(
            "attach",
            "Attach STDOUT/STDERR and forward signals",
            short="a",
            not_available="attaching is not possible in chat; use `docker logs`",
        ),
        Flag("interactive", "Attach container's STDIN", short="i", not_available="attaching is not possible in chat"),
    ],
)
async def start(inv: Invocation, ctx: HandlerContext) -> Output:
    return await _container_job(inv, ctx, "start", {}, START_TIMEOUT, idempotent=True)


@command(
    "stop",
    aliases=("container stop",),
    usage="docker stop [OPTIONS] CONTAINER [CONTAINER...]",
    summary="Stop one or more running containers",
    min_args=1,
    targets="container:all",
    group="operate",
    flags=[TIME_FLAG, SIGNAL_FLAG],
)
async def stop(inv: Invocation, ctx: HandlerContext) -> Output:
    seconds = inv.opt("time")
    return await _container_job(inv, ctx, "stop", {"time": seconds}, stop_timeout(seconds), idempotent=True)


@command(
    "restart",
    aliases=("container restart",),
    usage="docker restart [OPTIONS] CONTAINER [CONTAINER...]",
    summary="Restart one or more containers",
    min_args=1,
    targets="container:all",
    group="operate",
    flags=[TIME_FLAG, SIGNAL_FLAG],
)
async def restart(inv: Invocation, ctx: HandlerContext) -> Output:
    seconds = inv.opt("time")
    # Not idempotent: a second restart after a worker died mid-way is a second outage.
    return await _container_job(
        inv, ctx, "restart", {"time": seconds}, stop_timeout(seconds) + START_TIMEOUT, idempotent=False
    )


@command(
    "pull",
    aliases=("image pull",),
    usage="docker pull [OPTIONS] NAME[:TAG|@DIGEST]",
    summary="Download an image from a registry",
    min_args=1,
    max_args=1,
    targets="image:first",
    group="admin",
    flags=[
        Flag(
            "all-tags",
            "Download all tagged images in the repository",
            short="a",
            not_available="pulling every tag is not offered; name one tag",
        ),
        Flag(
            "platform",
            "Set platform if server is multi-platform capable",
            Kind.STRING,
            value_name="string",
            not_available="--platform is not offered yet",
        ),
        Flag("quiet", "Suppress verbose output", short="q"),
    ],
)
async def pull(inv: Invocation, ctx: HandlerContext) -> Output:
    ref = inv.args[0]
    pull_reference(ref)  # docker's own validation and wording for a bad reference
    target = Target(kind="image", name=ref, image=ref)
    return await _queue(
        inv,
        ctx,
        [target],
        verb="pull",
        args={"reference": ref, "quiet": bool(inv.opt("quiet"))},
        timeout=PULL_TIMEOUT,
        idempotent=True,
    )
