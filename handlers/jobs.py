"""The queue seen from Slack: jobs, jobs cancel, hosts."""

from __future__ import annotations

import contextlib
import time

from bot.cli_output.tabwriter import format_table
from bot.cli_output.units import human_duration
from bot.core.cliparse import Flag
from bot.core.jobtext import job_state_line
from bot.core.registry import command
from bot.core.types import Invocation, Output
from bot.errors import DockerError, DockerUnavailable, ParseError, UserError
from bot.jobs.context import HandlerContext
from bot.jobs.inbox import COMMAND_VERB
from bot.jobs.queue import Job, JobNotFound, JobStatus, live_workers
from bot.jobs.visible import container_target, image_target
from bot.policy import Target, hosts_with_roles, sees_whole_host


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
    shown = await _visible_jobs(ctx, listed)
    rows = [["JOB ID", "COMMAND", "USER", "STATUS", "CREATED", "DURATION"]]
    for job in shown:
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


async def _visible_jobs(ctx: HandlerContext, listed: list[Job]) -> list[Job]:
    """The caller's own jobs and those on containers and images they may see (issue 8: no peeking past a scope).

    A serve entry (verb ``command``) carries one person's slash command to this worker: it is
    not a job anyone asked to see, and its text is that person's business (the audit has it).
    """
    mine = ctx.requester.user_id
    wanted = [j for j in listed if j.verb != COMMAND_VERB]
    current: dict[str, Target] = {}
    if any(j.requester.user_id != mine and j.verb != "pull" for j in wanted):
        # Engine down: judged by the names the jobs recorded, as for containers that are gone.
        with contextlib.suppress(DockerUnavailable):
            current = {c["Id"]: container_target(c) for c in await ctx.docker.containers(all=True)}
    return [j for j in wanted if j.requester.user_id == mine or ctx.access.sees(job_target(j, current))]


def job_target(job: Job, current: dict[str, Target]) -> Target:
    """What a job acted on, as the policy judges it: the container as it is now, else the name it recorded."""
    if job.verb == "pull":
        return Target(kind="image", name=job.target, image=job.target)
    if job.target in current:
        return current[job.target]
    return Target(kind="container", name=str(job.args.get("target_name") or job.target))


async def cancel_job(ctx: HandlerContext, job_id: str) -> Output:
    """Cancel, for the person who asked for the job or anyone the policy lets run it.

    A job the caller may not see (on a container outside their scope, or another person's
    serve entry) is answered like one that does not exist.
    """
    try:
        job = await ctx.jobs.queue.require(job_id)
    except JobNotFound:
        raise UserError(f"no such job: {job_id}") from None
    if job.requester.user_id != ctx.requester.user_id:
        target = await _current_target(ctx, job)
        if job.verb == COMMAND_VERB or not ctx.access.sees(target):
            raise UserError(f"no such job: {job_id}")
        decision = ctx.access.check(job.verb, target)
        if not decision.allowed:
            raise UserError(
                f"Not allowed to cancel job {job.id}: it is <@{job.requester.user_id}>'s, and {decision.reason} "
                f"(rule: {decision.rule}). Would be allowed by: {decision.hint}"
            )
    after = await ctx.jobs.queue.cancel(job.id, ctx.requester.user_id)
    ctx.targets.append(Target(kind="job", name=job.id))
    return Output(cancel_answer(after), monospace=False)


async def _current_target(ctx: HandlerContext, job: Job) -> Target:
    if job.verb in (COMMAND_VERB, "pull") or job.host != ctx.access.host:
        return job_target(job, {})
    found = await ctx.access.lookup(ctx.docker).container(job.target)
    return found if found is not None and found.id == job.target else job_target(job, {})


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
    """The hosts the caller has a role on, with counts of what they may see (issue 8: scoped roles, scoped counts)."""
    now = time.time()
    access = ctx.access
    rows = [["HOST", "WORKER", "LAST SEEN", "ENGINE", "CONTAINERS", "RUNNING", "IMAGES", "JOBS"]]
    for name in hosts_with_roles(access.policy, access.subject, ctx.hosts.names()):
        workers = await live_workers(ctx.jobs.redis, name)
        if not workers:
            rows.append([name, "no live worker", "-", "-", "-", "-", "-", "-"])
        counts = await _counts(ctx, name, workers[0].info) if workers else ("-", "-", "-")
        for w in workers:
            rows.append(
                [
                    name + (" (default)" if name == ctx.hosts.default else ""),
                    w.worker_id,
                    f"{max(0.0, now - w.heartbeat_at):.1f}s ago",
                    str(w.info.get("engine", "?")),
                    *counts,
                    str(len(w.running)),
                ]
            )
    if len(rows) == 1:
        return Output(f"You have no role on any Docker host; ask {access.policy.ask}.", monospace=False)
    return Output(format_table(rows), filename="hosts.txt")


async def _counts(ctx: HandlerContext, host: str, info: dict[str, object]) -> tuple[str, str, str]:
    """CONTAINERS, RUNNING and IMAGES as the caller may see them.

    Whole-host counts come with the worker's heartbeat; a caller whose roles cover only some
    of a host gets counts of what they see, counted here when this worker serves that host,
    and "-" otherwise (another worker's engine is not reachable from here).
    """
    policy, subject = ctx.access.policy, ctx.access.subject
    whole_ps = sees_whole_host(policy, subject, host, "ps")
    whole_images = sees_whole_host(policy, subject, host, "images")
    if whole_ps and whole_images:
        return str(info.get("containers", "?")), str(info.get("running", "?")), str(info.get("images", "?"))
    if host != ctx.access.host or not ctx.hosts.direct(host):
        return "-", "-", "-"
    try:
        listed = [c for c in await ctx.docker.containers(all=True) if ctx.access.can_see("ps", container_target(c))]
        images = [i for i in await ctx.docker.images() if ctx.access.can_see("images", image_target(i))]
    except DockerError:
        return "-", "-", "-"
    running = sum(1 for c in listed if c.get("State") == "running")
    return str(len(listed)), str(running), str(len(images))
