"""Approvals end to end: a command an ``approvals:`` rule covers waits for other people's clicks.

The hook (``ApprovalFlow.run``) sits between the gate and every handler, so every verb a rule
can name gets the flow with no code of its own:

1. **Request.** The gate allowed the command, and a rule says it needs approval: the
   handler does not run.  The targets are bound (container ID and image ID...), the blast
   radius is read, one request message with Approve and Deny goes to the channel, and the
   requester hears privately that it waits, with a link to it.
2. **Clicks.** Only an eligible approver who is not the requester counts; anyone else is
   told why, privately, and nothing changes.  ``count`` distinct approvals approve it; a
   Deny (with an optional reason, from a modal) closes it.  Every move is one Lua script
   (bot/jobs/approvals.py), so double clicks, simultaneous clicks and retried deliveries
   move it once.
3. **Run.** The command line is run again, as its requester, through the same runner
   (gate, audit, handler) inside an approved run (bot/jobs/approval_pass.py): the hook then
   checks that every target is still the object that was bound (else the approval is void
   and nothing runs) and lets the handler go on; its jobs are queued as any job, with their
   status messages in the request's thread, and the request message shows the result.
4. **Expiry.** Each worker's sweep expires its host's requests past their ttl (buttons
   replaced by "expired after 15m"), and launches a request that was approved by a worker
   that died before starting it.

Every request, approval, denial, withdrawal, void and expiry is audited with the people's IDs.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bot.core.dispatch import CommandLine
from bot.core.jobtext import escape
from bot.core.types import Invocation, Output, Requester
from bot.errors import SlackRefused, UserError
from bot.jobs.approval_pass import ApprovedRun, approved_run, current
from bot.jobs.approval_preview import Reader
from bot.jobs.approvals import (
    Approval,
    ApprovalStore,
    Bound,
    Request,
    State,
    approval_id_for,
)
from bot.jobs.gate import NAMED_TARGETS, GroupDirectory
from bot.jobs.queue import Job, JobQueue
from bot.jobs.threads import ThreadMap, ThreadSubject
from bot.ops.audit import AuditLog, AuditRecord
from bot.policy import ApprovalRule, Decision
from bot.slack import render_approvals as words
from bot.slack.out import SlackOut

if TYPE_CHECKING:
    from bot.jobs.context import HandlerContext

log = logging.getLogger(__name__)

# Runs a command line as someone (CommandRunner.handle_command): the approved run goes through it.
RunCommand = Callable[[Requester, str, str], Awaitable[None]]

ACTIONS = (words.APPROVE_ACTION, words.DENY_ACTION, words.DENY_VIEW)
APPROVAL_ID = re.compile(r"a-[0-9a-f]{10}")
STALLED_AFTER = 30.0  # an approved request nobody launched within this is launched by a sweep


class ApprovalVoid(UserError):
    """The approved run found a target that is no longer what was approved."""


def changed(before: Bound, now: Bound) -> str | None:
    """How ``now`` differs from what was approved, in words; None if it is the same object."""
    what = f"{before.kind} {before.name}"
    if before.id != now.id:
        if not before.id:
            return f"{what} exists now, and did not when it was asked for"
        if not now.id:
            return f"{what} ({_short(before.id)}) no longer exists"
        return f"{what} was recreated or replaced ({_short(before.id)} is now {_short(now.id)})"
    if before.image_id != now.image_id:
        old, new = _short(before.image_id) or "none", _short(now.image_id) or "none"
        return f"{what} has another image now ({old} is now {new})"
    if before.created != now.created:
        return f"{what} was recreated"
    return None


def _short(ident: str) -> str:
    return ident.removeprefix("sha256:")[:12]


class ApprovalFlow:
    def __init__(
        self,
        store: ApprovalStore,
        slack: SlackOut,
        audit: AuditLog,
        queue: JobQueue,
        groups: GroupDirectory,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.slack = slack
        self.audit = audit
        self.queue = queue
        self.groups = groups
        self.clock = clock  # injectable: tests move time past a ttl

    # ---- the hook between the gate and the handler ------------------------------------------

    async def run(self, inv: Invocation, ctx: HandlerContext, line: CommandLine) -> Output:
        """Run the handler, or ask for approval first; in an approved run, check the binding first."""
        needed = [d for d in ctx.access.decisions if d.needs_approval and d.approval is not None]
        rules = {d.approval.ref: d.approval for d in needed if d.approval is not None}
        run = current()
        if run is not None:  # checked even if the policy no longer asks for approval: it runs as approved
            return await self._approved(inv, ctx, line, next(iter(rules.values()), None), run)
        if not rules:
            return await inv.command.handler(inv, ctx)
        if len(rules) > 1:
            raise UserError(
                "These targets need different approvals ("
                + ", ".join(r.name for r in rules.values())
                + "): ask for them one command at a time."
            )
        return await self._request(inv, ctx, line, next(iter(rules.values())))

    async def _approved(
        self, inv: Invocation, ctx: HandlerContext, line: CommandLine, rule: ApprovalRule | None, run: ApprovedRun
    ) -> Output:
        run.reached = True
        approval = await self.store.get(run.approval_id)
        problem = self._mismatch(approval, ctx, line, rule)
        if problem is None and approval is not None:
            reader = Reader(ctx.docker, ctx.access.sees, self.clock)
            now = await reader.bind(ctx.targets)
            bound = approval.request.bound
            if len(now) != len(bound):
                problem = "its targets are not the ones asked for"
            else:
                problem = next((c for b, n in zip(bound, now, strict=True) if (c := changed(b, n))), None)
        if problem is not None:
            run.void = problem
            raise ApprovalVoid(f"Not run: the approval of `{run.approval_id}` is void: {problem}.")
        who = ", ".join(run.approvers)
        ref = rule.ref if rule is not None else run.rule_ref
        ctx.access.decisions.append(
            Decision(True, f"{ref} approved by {who} (approval {run.approval_id})", "approved", None, None, ())
        )
        try:
            output = await inv.command.handler(inv, ctx)
        except UserError as err:
            run.error = err.message
            raise
        run.notes += output.errors
        return output

    @staticmethod
    def _mismatch(
        approval: Approval | None, ctx: HandlerContext, line: CommandLine, rule: ApprovalRule | None
    ) -> str | None:
        if approval is None:
            return "its record is gone"
        req = approval.request
        if rule is not None and req.rule_ref != rule.ref:
            return f"the policy changed: it needs {rule.name} now, and {req.rule_name} was approved"
        if req.host != ctx.access.host or req.text != line.text or req.requester.user_id != ctx.requester.user_id:
            return "the command is not the one approved"
        return None

    async def _request(self, inv: Invocation, ctx: HandlerContext, line: CommandLine, rule: ApprovalRule) -> Output:
        host, requester = ctx.access.host, ctx.requester
        if requester.channel_id.startswith("D"):  # nobody but the requester would see the buttons
            raise UserError(
                f"This needs approval ({rule.name}), and approvers cannot see a direct message: "
                "type the command in a channel where dockbell and the approvers are."
            )
        approval_id = approval_id_for(host, ctx.response_url)
        reader = Reader(ctx.docker, ctx.access.sees, self.clock)
        bound = await reader.bind(ctx.targets)
        shown = [t for t in ctx.targets if t.id or inv.command.verb in NAMED_TARGETS]
        preview: dict[str, Any] = await reader.preview(shown) if shown else {"sections": [], "more": 0}
        missing = [t for t in ctx.targets if not t.id and inv.command.verb not in NAMED_TARGETS]
        if missing:
            section = {"title": "not found now", "rows": [[t.kind, t.name] for t in missing]}
            preview["sections"] = [*preview.get("sections", []), section]
        request = Request(
            id=approval_id,
            host=host,
            requester=requester,
            response_url=ctx.response_url,
            text=line.text,
            shown=line.shown,
            rule_ref=rule.ref,
            rule_name=rule.name,
            approver_users=tuple(sorted(rule.approvers.users)),
            approver_groups=tuple(sorted(rule.approvers.usergroups)),
            count=rule.count,
            ttl_seconds=rule.ttl_seconds,
            created_at=self.clock(),
            bound=bound,
            preview=preview,
        )
        if not await self.store.claim(approval_id):
            return Output("", silent=True)  # a retried delivery: the first one asked and answered
        draft = Approval(request, "", State.PENDING)
        try:
            ts = await self.slack.post_message(requester.channel_id, words.request_message(draft, self.clock()))
        except SlackRefused as err:
            await self.store.release(approval_id)
            raise UserError(
                f"This needs approval ({rule.name}), and dockbell cannot ask for it here: Slack refused to post "
                f"the request ({err.code}). Invite dockbell to this channel, or type the command where it is."
            ) from None
        await self.store.store(request, channel=requester.channel_id, ts=ts)
        containers = [t for t in ctx.targets if t.kind == "container" and t.id]
        if len(containers) == 1 and len(ctx.targets) == 1:  # its thread is about that container
            target = containers[0]
            subject = ThreadSubject(host, target.id, target.name, "approval")
            await ThreadMap(self.store.redis).remember(requester.channel_id, ts, subject)
        approval = Approval(request, "", State.PENDING, channel=requester.channel_id, ts=ts)
        await self._record(approval, requester.user_id, f"approval {approval_id} requested")
        ctx.access.decisions.append(
            Decision(True, f"{rule.ref}: approval {approval_id} requested", "waits for approval", None, None, ())
        )
        try:
            link = await self.slack.permalink(requester.channel_id, ts)
        except SlackRefused:
            link = f"the message in <#{requester.channel_id}>"
        try:
            await self.slack.respond(ctx.response_url, words.waiting_notice(approval, link))
        except Exception as err:  # the request is up and works; only the private note is lost
            log.warning("approval %s: could not tell the requester it waits: %s", approval_id, err)
        return Output("", silent=True)

    # ---- clicks --------------------------------------------------------------------------------

    async def handle_click(
        self,
        clicker: Requester,
        action: str,
        value: str,
        response_url: str,
        *,
        run_command: RunCommand,
        trigger_id: str = "",
        reason: str = "",
    ) -> None:
        approval_id = value.split("/", 1)[-1]
        tell = _Teller(self.slack, clicker.user_id, response_url)
        if not APPROVAL_ID.fullmatch(approval_id):
            await tell("This button does not belong to an approval request dockbell knows.")
            return
        approval = await self.store.get(approval_id)
        if approval is None:
            await tell(f"Request `{approval_id}` is no longer known (closed requests are kept for two days).")
            return
        tell.channel = approval.channel
        if (problem := self.store.seal.problem(approval, need_votes=False)) is not None:
            log.warning("approval %s: %s", approval_id, problem)
            await tell(f"Request `{approval_id}` cannot be acted on: {problem}. Nothing was done.")
            return
        refusal = await self._refusal(approval, clicker.user_id, action)
        if refusal is not None:
            await tell(refusal)
            return
        if action == words.APPROVE_ACTION:
            await self._approve(approval, clicker.user_id, tell, run_command)
        elif action == words.DENY_ACTION:
            await self._open_deny_form(approval, trigger_id, tell)
        elif action == words.DENY_VIEW:
            await self._deny(approval, clicker.user_id, reason, tell)

    async def _refusal(self, approval: Approval, user: str, action: str) -> str | None:
        """Why ``user``'s click cannot count, in words for them; None if it can."""
        if approval.state is not State.PENDING:
            return f"Request `{approval.id}` is closed: " + _closed_words(approval)
        if self.clock() >= approval.request.expires_at:
            await self._expire(approval)
            return f"Request `{approval.id}` has expired: nothing ran."
        who = words.approvers_words(approval)
        if user == approval.request.requester.user_id:
            await self._record(approval, user, f"approval {approval.id}: the requester's own {action} refused", "deny")
            if action == words.APPROVE_ACTION:
                return f"You asked for this; someone in {who} must approve it."
            return f"You asked for this; to withdraw it, type `/docker approvals cancel {approval.id}`."
        if not await self.eligible(approval, user):
            await self._record(approval, user, f"approval {approval.id}: {action} by a non-approver refused", "deny")
            rule = approval.request.rule_name
            return f"You are not an approver for this rule ({rule}); someone in {who} must approve it."
        return None

    async def eligible(self, approval: Approval, user: str) -> bool:
        req = approval.request
        if user == req.requester.user_id:
            return False
        if user in req.approver_users:
            return True
        return bool(req.approver_groups) and bool(await self.groups.groups_of(user, req.approver_groups))

    async def _approve(self, approval: Approval, user: str, tell: _Teller, run_command: RunCommand) -> None:
        outcome = await self.store.approve(approval, user, self.clock())
        count = approval.request.count
        if outcome.result == "due":
            await self._expire(approval)
            await tell(f"Request `{approval.id}` has expired: nothing ran.")
            return
        if outcome.result == "self":  # the script's own check of what _refusal checked
            await tell(f"You asked for this; someone in {words.approvers_words(approval)} must approve it.")
            return
        if outcome.result == "already":
            await tell(f"You have approved `{approval.id}` already ({outcome.votes} of {count}).")
            return
        if outcome.result not in ("counted", "approved"):  # closed meanwhile, or a race with its requester
            latest = await self.store.get(approval.id)
            closed = _closed_words(latest) if latest else "it is no longer known."
            await tell(f"Request `{approval.id}` is closed: {closed}")
            return
        latest = await self.store.get(approval.id) or approval
        await self._record(latest, user, f"approved {approval.id} ({outcome.votes} of {count})")
        if outcome.result == "counted":
            await self._update(latest)
            await self._note(
                latest, f"<@{user}> approved ({outcome.votes} of {count}); waiting for {count - outcome.votes} more."
            )
            await tell(f"Counted: {outcome.votes} of {count} approvals. It runs once {count} people have approved.")
            return
        await self._update(latest)
        await self._note(latest, f"Approved by {_names(latest.approvers)}: running it now.")
        await self.launch(approval.id, run_command)

    async def _open_deny_form(self, approval: Approval, trigger_id: str, tell: _Teller) -> None:
        if not trigger_id:
            await tell("Slack sent no trigger for the Deny form; click Deny again.")
            return
        try:
            await self.slack.open_view(trigger_id, words.deny_modal(approval))
        except SlackRefused as err:
            await tell(f"Slack did not open the Deny form ({err.code}); click Deny again. Nothing was changed.")

    async def _deny(self, approval: Approval, user: str, reason: str, tell: _Teller) -> None:
        result = await self.store.close(approval.id, State.DENIED, now=self.clock(), by=user, reason=reason)
        latest = await self.store.get(approval.id) or approval
        if result != "ok":
            await tell(f"Request `{approval.id}` is closed: " + _closed_words(latest))
            return
        await self._record(latest, user, f"denied {approval.id}" + (f": {reason}" if reason else ""), "deny")
        await self._update(latest)
        said = f": {escape(reason)}" if reason else " (no reason given)"
        await self._note(latest, f"<@{user}> denied it{said}. Nothing ran.")

    # ---- running it --------------------------------------------------------------------------

    async def launch(self, approval_id: str, run_command: RunCommand) -> None:
        """Run an approved request, once: whoever claims it runs it, any other caller returns."""
        if not await self.store.launch(approval_id, self.clock()):
            return
        approval = await self.store.get(approval_id)
        if approval is None:
            return
        problem = self.store.seal.problem(approval, need_votes=True)
        if problem is not None:
            log.warning("approval %s not run: %s", approval_id, problem)
            await self._void(approval, f"it cannot be trusted ({problem})", from_states=(State.RUNNING,))
            return
        req = approval.request
        run = ApprovedRun(approval.id, req.rule_ref, approval.ts, approval.approvers)
        with approved_run(run):
            await run_command(req.requester, req.text, req.response_url)
        await self._after(approval, run)

    async def _after(self, approval: Approval, run: ApprovedRun) -> None:
        if run.void:
            await self._void(approval, run.void, from_states=(State.RUNNING,))
            return
        if not run.reached:
            result = (
                "It did not run: when dockbell ran it, it was refused before it started "
                f"(<@{approval.request.requester.user_id}> was told why)."
            )
        elif run.error:
            result = f"It did not run: {escape(run.error)}"
        elif run.job_ids:
            result = ""
        else:
            result = f"It ran; its answer went to <@{approval.request.requester.user_id}> privately."
        if run.notes:
            result = (result + " " if result else "") + "Also: " + escape("; ".join(run.notes))
        await self.store.ran(approval.id, run.job_ids, result, final=not run.job_ids)
        latest = await self.store.get(approval.id) or approval
        await self._record(
            latest, latest.request.requester.user_id, f"approved {approval.id} ran: {result or 'jobs queued'}"
        )
        await self._show_with_jobs(latest)

    async def on_job_final(self, job: Job) -> None:
        """A job of an approved run ended: the request message shows the result (JobDesk calls this once)."""
        if not job.approval_ref:
            return
        approval = await self.store.get(job.approval_ref)
        if approval is None or job.id not in approval.job_ids:
            return  # its launcher has not stored the ids yet: it shows the result itself
        await self._show_with_jobs(approval)

    async def _show_with_jobs(self, approval: Approval) -> None:
        jobs = [j for j in [await self.queue.get(i) for i in approval.job_ids] if j is not None]
        if jobs and all(j.finished for j in jobs) and approval.state is State.RUNNING:
            await self.store.finish(approval.id)
            approval = await self.store.get(approval.id) or approval
        await self._update(approval, jobs)

    # ---- closing ----------------------------------------------------------------------------

    async def cancel(self, approval_id: str, user: str) -> str:
        """``/docker approvals cancel ID``: the requester withdraws a pending request; the answer in words."""
        approval = await self.store.get(approval_id) if APPROVAL_ID.fullmatch(approval_id) else None
        if approval is None or approval.request.requester.user_id != user:
            raise UserError(f"no request {approval_id} of yours (`/docker approvals` lists them)")
        result = await self.store.close(approval_id, State.CANCELLED, now=self.clock(), by=user, requester_only=True)
        latest = await self.store.get(approval_id) or approval
        if result != "ok":
            raise UserError(f"Request {approval_id} is closed already: " + _closed_words(latest))
        await self._record(latest, user, f"withdrew {approval_id}")
        await self._update(latest)
        await self._note(latest, f"Withdrawn by <@{user}>. Nothing ran.")
        return f"Withdrawn: `docker {approval.request.shown}` will not run (request {approval_id})."

    async def _expire(self, approval: Approval) -> None:
        result = await self.store.close(
            approval.id, State.EXPIRED, now=self.clock(), by="", due_only=True, from_states=(State.PENDING,)
        )
        if result != "ok":
            return
        latest = await self.store.get(approval.id) or approval
        await self._record(latest, "", f"expired {approval.id} after {words.ttl_words(approval.request.ttl_seconds)}")
        await self._update(latest)
        await self._note(latest, f"Expired after {words.ttl_words(approval.request.ttl_seconds)}: nothing ran.")

    async def _void(self, approval: Approval, reason: str, *, from_states: tuple[State, ...]) -> None:
        result = await self.store.close(
            approval.id, State.VOID, now=self.clock(), by="", reason=reason, from_states=from_states
        )
        if result != "ok":
            return
        latest = await self.store.get(approval.id) or approval
        await self._record(latest, "", f"void {approval.id}: {reason}", "deny")
        await self._update(latest)
        await self._note(latest, f":warning: The approval is void: {escape(reason)}. Nothing ran.")

    async def sweep(self, host: str, run_command: RunCommand) -> int:
        """Expire this host's requests past their ttl; launch approved ones nobody started. How many moved."""
        now = self.clock()
        moved = 0
        for approval_id in await self.store.due(now):
            approval = await self.store.get(approval_id)
            if approval is not None and approval.request.host == host and approval.state is State.PENDING:
                await self._expire(approval)
                moved += 1
        for approval_id in await self.store.stalled(now - STALLED_AFTER):
            approval = await self.store.get(approval_id)
            if approval is not None and approval.request.host == host:
                log.info("approval %s was approved but never started; starting it now", approval_id)
                await self.launch(approval_id, run_command)
                moved += 1
        return moved

    # ---- telling people ----------------------------------------------------------------------

    async def _update(self, approval: Approval, jobs: list[Job] | None = None) -> None:
        if not approval.ts:
            return
        try:
            await self.slack.update_message(
                approval.channel, approval.ts, words.request_message(approval, self.clock(), jobs or [])
            )
        except SlackRefused as err:
            log.warning("approval %s: could not update its message: %s", approval.id, err)

    async def _note(self, approval: Approval, text: str) -> None:
        if not approval.ts:
            return
        try:
            await self.slack.post_message(approval.channel, words.thread_note(text), thread_ts=approval.ts)
        except SlackRefused as err:
            log.warning("approval %s: could not post in its thread: %s", approval.id, err)

    async def _record(self, approval: Approval, user: str, outcome: str, decision: str = "allow") -> None:
        req = approval.request
        await self.audit.record(
            AuditRecord(
                time=self.clock(),
                user_id=user,
                user_name="",
                channel_id=approval.channel or req.requester.channel_id,
                command=req.shown,
                host=req.host,
                target=", ".join(_described(b) for b in req.bound),
                decision=decision,
                rule=req.rule_name,
                outcome=outcome,
                duration_ms=0,
                approvers=",".join(approval.approvers),
                job_id=",".join(approval.job_ids),
            )
        )


class _Teller:
    """Answers one clicker privately: through the click's response_url, else (a modal) as an ephemeral."""

    def __init__(self, slack: SlackOut, user: str, response_url: str) -> None:
        self.slack = slack
        self.user = user
        self.response_url = response_url
        self.channel = ""

    async def __call__(self, text: str) -> None:
        message = words.private(text)
        try:
            if self.response_url:
                await self.slack.respond(self.response_url, message)
            elif self.channel:
                await self.slack.post_ephemeral(self.channel, self.user, message)
        except Exception as err:
            log.warning("could not answer %s about an approval: %s", self.user, err)


def _closed_words(approval: Approval) -> str:
    said = words.outcome_words(approval)
    return said or f"it is {approval.state}."


def _names(users: tuple[str, ...]) -> str:
    return " and ".join(f"<@{u}>" for u in users)


def _described(bound: Bound) -> str:
    ident = f" ({_short(bound.id)})" if bound.id else ""
    return f"{bound.kind} {bound.name}{ident}"


__all__ = ["ACTIONS", "ApprovalFlow", "ApprovalVoid", "RunCommand"]
