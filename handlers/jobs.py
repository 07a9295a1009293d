"""The queue seen from Slack: jobs, jobs cancel, hosts."""

from __future__ import annotations

import time

from bot.cli_output.tabwriter import format_table
from bot.cli_output.units import human_duration
from bot.core.cliparse import Flag
from bot.core.jobtext import job_state_line
from bot.core.registry import command
from bot.core.types import Invocation, Output
from bot.errors import ParseError, UserError
from bot.jobs.context import HandlerContext
from bot.jobs.queue import Job, JobNotFound, JobStatus, live_workers
from bot.policy import Target


@command(
    "jobs",
    usage="docker jobs [OPTIONS] | docker jobs cancel JOB",
    summary="List active and recent jobs, or cancel one",
    max_args=2,
    flags=[Flag("all", "Show finished jobs too (default: active ones and the last hour)", short="a")],
)
async def jobs(inv: Invocation, ctx: HandlerContext) -> Output:
    if inv.args and inv.args[0] == "cancel":
        if len(inv.args) != 2:
            raise ParseError(
                '"docker jobs cancel" requires exactly 1 argument.', usage="Usage:  docker jobs cancel JOB"
            )
        return await cancel_job(ctx, inv.args[1])
    if inv.args:
        raise ParseError(f"unknown jobs subcommand {inv.args[0]!r}", usage="Usage:  docker jobs [-a] | jobs cancel JOB")
    now = ctx.now()
    listed = await ctx.jobs.queue.list(ctx.access.host, limit=200)
    rows = [["JOB ID", "COMMAND", "USER", "STATUS", "CREATED", "DURATION"]]
    for job in listed:
        if not inv.opt("all") and job.finished and now - (job.finished_at or now) > 3600:
            continue
        took = (job.finished_at or now) - job.started_at if job.started_at else 0.0
        rows.append(
            [
                job.id,
                "docker " + str(job.args.get("command", job.verb)),
                job.requester.user_id,
                job_state_line(job, 0).replace("`", ""),
                human_duration(now - job.created_at) + " ago",
                f"{took:.1f}s" if job.started_at else "-",
            ]
        )
    if len(rows) == 1:
        return Output(f"no jobs on host {ctx.access.host}" + ("" if inv.opt("all") else " in the last hour"))
    return Output(format_table(rows), filename="jobs.txt")


async def cancel_job(ctx: HandlerContext, job_id: str) -> Output:
    """Cancel, for the person who asked for the job or anyone the policy lets run it."""
    try:
        job = await ctx.jobs.queue.require(job_id)
    except JobNotFound:
        raise UserError(f"no such job: {job_id}") from None
    if job.requester.user_id != ctx.requester.user_id:
        kind = "image" if job.verb == "pull" else "container"
        target = await ctx.resolve(kind, job.target, host=job.host)
        decision = ctx.access.check(job.verb, target)
        if not decision.allowed:
            raise UserError(
                f"Not allowed to cancel job {job.id}: it is <@{job.requester.user_id}>'s, and {decision.reason} "
                f"(rule: {decision.rule})"
            )
    after = await ctx.jobs.queue.cancel(job.id, ctx.requester.user_id)
    ctx.targets.append(Target(kind="job", name=job.id))
    return Output(cancel_answer(after), monospace=False)


def cancel_answer(job: Job) -> str:
    """What a cancel request came to, from the job's state right after it: never more than happened."""
    what = f"`docker {job.args.get('command', f'{job.verb} {job.target}')}`"
    if job.status is JobStatus.CANCELLED:
        return f"Job {job.id} cancelled: {what} will not run."
    if job.status is JobStatus.RUNNING and job.cancellable_running:
        return (
            f"Cancelling job {job.id}: {what} is being stopped. Its status message will say whether it stopped "
            "in time or had already finished."
        )
    if job.status is JobStatus.RUNNING:
        return (
            f"Too late to cancel job {job.id}: {what} is already running on the engine, and it cannot be taken "
            "back. It will finish, and its status message will show the outcome."
        )
    return f"Job {job.id} had already {job.status}; nothing to cancel."


@command("hosts", usage="docker hosts", summary="List Docker hosts with their workers' health", max_args=0)
async def hosts(inv: Invocation, ctx: HandlerContext) -> Output:
    now = time.time()
    rows = [["HOST", "WORKER", "LAST SEEN", "ENGINE", "CONTAINERS", "RUNNING", "IMAGES", "JOBS"]]
    for name in ctx.hosts.names():
        workers = await live_workers(ctx.jobs.redis, name)
        if not workers:
            rows.append([name, "no live worker", "-", "-", "-", "-", "-", "-"])
        for w in workers:
            info = w.info
            rows.append(
                [
                    name + (" (default)" if name == ctx.hosts.default else ""),
                    w.worker_id,
                    f"{max(0.0, now - w.heartbeat_at):.1f}s ago",
                    str(info.get("engine", "?")),
                    str(info.get("containers", "?")),
                    str(info.get("running", "?")),
                    str(info.get("images", "?")),
                    str(len(w.running)),
                ]
            )
    return Output(format_table(rows), filename="hosts.txt")
