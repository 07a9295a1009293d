"""Queueing the jobs of volume, network and compose commands: one job per object, one status message each.

Like handlers/lifecycle.py's container jobs, with the object's kind in the job (for its audit
record) and the docker spelling of the command in its status message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.types import Invocation, Output, ReplyTo
from bot.jobs.approval_pass import require_approval_pass
from bot.jobs.context import HandlerContext
from bot.jobs.queue import Job, job_id_for


@dataclass(frozen=True)
class JobOrder:
    """One job to queue: its verb, what it acts on (as shown), and its JSON arguments."""

    verb: str
    target: str  # the engine reference the worker acts on (volume name, network ID, project name)
    target_name: str  # the name people know it by
    kind: str  # volume | network | project | container
    command: str  # as shown in the status message: "volume rm data"
    args: dict[str, object] = field(default_factory=dict)
    timeout: float = 60.0
    idempotent: bool = False
    lock_key: str | None = None


def refuse_if_approval_needed(ctx: HandlerContext) -> None:
    """The net under the approval hook (bot/jobs/approval_flow.py): passes only an approved run."""
    require_approval_pass(ctx.access.decisions)


async def queue_jobs(inv: Invocation, ctx: HandlerContext, orders: list[JobOrder]) -> Output:
    """Submit every order (after checking the host's worker is live) and answer as lifecycle commands do."""
    refuse_if_approval_needed(ctx)
    host = ctx.access.host
    await ctx.jobs.require_live(host)
    queued: list[tuple[Job, bool]] = []
    for order in orders:
        job, created = await ctx.jobs.submit(
            Job(
                id=job_id_for(host, order.verb, order.target, ctx.response_url),
                host=host,
                verb=order.verb,
                target=order.target,
                requester=ctx.requester,
                reply_to=ReplyTo(ctx.requester.channel_id, "", ctx.response_url),
                args={
                    **order.args,
                    "command": order.command if len(orders) > 1 else inv.text,
                    "target_name": order.target_name,
                    "target_kind": order.kind,
                },
                idempotent=order.idempotent,
                timeout_seconds=order.timeout,
                lock_key=order.lock_key,
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
