"""Approval requests seen from Slack: `approvals` (the open ones you can act on, and yours), `approvals cancel`."""

from __future__ import annotations

from bot.cli_output.tabwriter import format_table
from bot.core.registry import command
from bot.core.types import Invocation, Output
from bot.errors import NotAvailableYet, ParseError
from bot.jobs.approval_flow import ApprovalFlow
from bot.jobs.approvals import Approval
from bot.jobs.context import HandlerContext

_USAGE = "Usage:  docker approvals | docker approvals cancel ID"


def _ttl(seconds: float) -> str:
    total = max(int(seconds), 0)
    minutes, secs = divmod(total, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _flow(ctx: HandlerContext) -> ApprovalFlow:
    if ctx.approvals is None:
        raise NotAvailableYet("approvals are not set up on this worker")
    return ctx.approvals


@command(
    "approvals",
    usage="docker approvals | docker approvals cancel ID",
    summary="List the approval requests you can approve, and yours; withdraw one of yours",
    max_args=2,
)
async def approvals(inv: Invocation, ctx: HandlerContext) -> Output:
    flow = _flow(ctx)
    if inv.args and inv.args[0] == "cancel":
        if len(inv.args) != 2:
            raise ParseError('"docker approvals cancel" requires exactly 1 argument.', usage=_USAGE)
        return Output(await flow.cancel(inv.args[1], ctx.requester.user_id), monospace=False)
    if inv.args:
        raise ParseError(f"unknown approvals subcommand {inv.args[0]!r}", usage=_USAGE)
    me = ctx.requester.user_id
    now = ctx.now()
    rows = [["ID", "HOST", "REQUESTED BY", "COMMAND", "APPROVALS", "EXPIRES IN", "YOU"]]
    for approval in sorted(await flow.store.pending(), key=lambda a: a.request.created_at):
        if approval.request.expires_at <= now:
            continue  # past its ttl: its host's sweep closes it (or closed it, if the host is gone)
        role = await _role(flow, approval, me)
        if role is None:
            continue
        req = approval.request
        rows.append(
            [
                approval.id,
                req.host,
                req.requester.user_id,
                "docker " + req.shown,
                f"{len(approval.votes)} of {req.count}",
                _ttl(req.expires_at - now),
                role,
            ]
        )
    if len(rows) == 1:
        return Output("no open approval requests for you", filename="approvals.txt")
    return Output(format_table(rows), filename="approvals.txt")


async def _role(flow: ApprovalFlow, approval: Approval, me: str) -> str | None:
    """What the caller is to this request: its requester, an approver who may still click, or nothing."""
    if approval.request.requester.user_id == me:
        return "requested it (approvals cancel ID withdraws it)"
    if me in approval.approvers:
        return "approved it"
    if await flow.eligible(approval, me):
        return "may approve or deny"
    return None
