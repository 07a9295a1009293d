"""One `/docker` command from text to delivered answer; one Share click likewise.

This is the only place that knows the whole flow, so the Slack adapter (app.py)
stays a thin translation of Bolt's arguments into these calls.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from bot.cli_output.gotemplate.budget import Budget
from bot.cli_output.offload import EvaluationPool, command_scope
from bot.config import Config
from bot.core import dispatch, helptext
from bot.core.registry import Registry
from bot.core.shares import NotYours, SharedAnswer, ShareStore, TooLargeToShare
from bot.core.types import Output, Requester, ThreadRoute
from bot.engine.gateway import DockerGateway
from bot.engine.hosts import DockerHosts
from bot.errors import HelpRequested, SlackRefused, UserError
from bot.jobs import job_thread
from bot.jobs.approval_flow import ACTIONS as APPROVAL_ACTIONS
from bot.jobs.approval_flow import ApprovalFlow
from bot.jobs.context import HandlerContext
from bot.jobs.desk import JobDesk
from bot.jobs.gate import Access, Denied, Gate
from bot.jobs.inbox import Inbox
from bot.jobs.streams.clicks import STREAM_ACTIONS, stream_command_for_click
from bot.jobs.streams.desk import StreamDesk
from bot.jobs.thread_target import with_subject
from bot.jobs.threads import ThreadSubject
from bot.jobs.watcher.clicks import ACTIONS as NOTIFICATION_ACTIONS
from bot.jobs.watcher.clicks import command_for_click
from bot.ops.audit import AuditLog, AuditRecord
from bot.ops.metrics import Metrics
from bot.policy import Target, allowed_verbs
from bot.slack import render
from bot.slack.out import SlackOut

log = logging.getLogger(__name__)


@dataclass
class Services:
    registry: Registry
    hosts: DockerHosts
    slack: SlackOut
    shares: ShareStore
    config: Config
    metrics: Metrics
    gate: Gate
    audit: AuditLog
    jobs: JobDesk
    inbox: Inbox
    clock: Callable[[], float] = time.time
    approvals: ApprovalFlow | None = None  # None: commands that need approval are refused
    streams: StreamDesk | None = None  # None: live streams (logs -f, attach...) are not offered


@dataclass
class _Outcome:
    name: str = "unknown"
    label: str = "ok"
    decision: str = "-"
    rule: str = ""
    host: str = ""
    job_ids: list[str] = field(default_factory=list)
    forwarded: bool = False
    targets: list[Target] = field(default_factory=list)


@dataclass
class CommandContext:
    """The HandlerContext (bot/jobs/context.py) of one command."""

    docker: DockerGateway
    requester: Requester
    access: Access
    gate: Gate
    audit: AuditLog
    registry: Registry
    jobs: JobDesk
    hosts: DockerHosts
    response_url: str
    targets: list[Target]
    job_ids: list[str]
    clock: Callable[[], float]
    approvals: ApprovalFlow | None = None
    streams: StreamDesk | None = None

    def now(self) -> float:
        return self.clock()


class CommandRunner:
    def __init__(self, services: Services) -> None:
        self.s = services
        self.evaluation = EvaluationPool(services.config.limits.evaluation_processes)

    async def handle_command(
        self,
        requester: Requester,
        text: str,
        response_url: str,
        *,
        keep_original: bool = False,
        subject: ThreadSubject | None = None,
    ) -> None:
        """Run ``text`` for ``requester`` and answer through ``response_url`` (or a ThreadRoute's url).

        ``subject``: the container of the dockbell thread a mention was typed in; a command that
        names none gets it filled in (bot/jobs/thread_target.py) before anything reads the line.
        """
        started = time.monotonic()
        if subject is not None:
            text = with_subject(text, subject, self.s.registry, self.s.config.host_for_channel(requester.channel_id))
        line = dispatch.read(text)  # split once: the echo, the audit and the parse all use it
        shown = line.shown
        outcome = _Outcome()
        run = self._run(requester, line, shown, outcome, response_url)
        message = await self._limited(requester, shown, outcome, run)
        elapsed = time.monotonic() - started
        if outcome.forwarded:
            self.s.metrics.commands.labels(command="forwarded", outcome="ok").inc()
            return
        # Recorded before the answer goes out, so the trail is never behind what people saw.
        await self.s.audit.record(
            AuditRecord(
                time=self.s.clock(),
                user_id=requester.user_id,
                user_name=requester.user_name,
                channel_id=requester.channel_id,
                command=shown,
                host=outcome.host,
                target=", ".join(_describe(t) for t in outcome.targets),
                decision=outcome.decision,
                rule=outcome.rule,
                outcome=outcome.label,
                duration_ms=round(elapsed * 1000),
                job_id=",".join(outcome.job_ids),
            )
        )
        if message is not None:
            if keep_original:  # an answer to a button must not replace the message it is on
                message = {**message, "replace_original": False}
            await self._deliver(response_url, message)
        self.s.metrics.commands.labels(command=outcome.name, outcome=outcome.label).inc()
        self.s.metrics.command_seconds.labels(command=outcome.name).observe(time.monotonic() - started)

    async def _run(
        self, requester: Requester, line: dispatch.CommandLine, shown: str, outcome: _Outcome, response_url: str
    ) -> render.Message | None:
        try:
            access = await self.s.gate.access_for(requester, self.s.config.host_for_channel(requester.channel_id))
            inv = dispatch.parse(line, self.s.registry)
            outcome.name = inv.command.name
            if inv.host:
                self.s.hosts.check(inv.host)
                access.host = inv.host
            outcome.host = access.host
            if access.host != self.s.hosts.served:
                # Serve's quick reading of -H put it on the wrong stream (`run -e -H img`):
                # the full parse wins, and that host's worker answers and audits it.
                outcome.forwarded = True
                await self.s.inbox.forward(access.host, requester, response_url, {"kind": "command", "text": line.text})
                return None
            try:
                outcome.targets = await self.s.gate.authorize(inv, access)
            finally:
                if access.decisions:
                    last = access.decisions[-1]
                    outcome.decision, outcome.rule = ("allow" if last.allowed else "deny"), last.rule
            ctx: HandlerContext = CommandContext(  # typed so mypy checks it fits the Protocol
                docker=self.s.hosts.gateway(access.host),
                requester=requester,
                access=access,
                gate=self.s.gate,
                audit=self.s.audit,
                registry=self.s.registry,
                jobs=self.s.jobs,
                hosts=self.s.hosts,
                response_url=response_url,
                targets=outcome.targets,
                job_ids=outcome.job_ids,
                clock=self.s.clock,
                approvals=self.s.approvals,
                streams=self.s.streams,
            )
            # Every handler is reached through the approval hook: a command an approvals rule
            # covers becomes a request instead (bot/jobs/approval_flow.py).
            if self.s.approvals is not None:
                output = await self.s.approvals.run(inv, ctx, line)
            else:
                output = await inv.command.handler(inv, ctx)
            return await self._answer(requester, shown, output, ThreadRoute.parse(response_url))
        except HelpRequested as h:
            outcome.label = "help"
            body = h.text
            if h.general:
                body = helptext.general(self.s.registry, allowed=allowed_verbs(access.policy, access.subject))
            return render.help_reply(shown, body)
        except Denied as err:
            outcome.label = "denied"
            return render.error_reply(shown, err.message)
        except UserError as err:
            outcome.label = "user_error"
            return render.error_reply(shown, err.message, err.usage)
        except Exception:
            incident = secrets.token_hex(4)
            log.exception("incident %s: /docker %s by %s", incident, shown, requester.user_id)
            outcome.label = "failure"
            return render.failure_reply(shown, incident)

    async def _limited(
        self, requester: Requester, shown: str, outcome: _Outcome, run: Coroutine[Any, Any, render.Message | None]
    ) -> render.Message | None:
        """``run``, the whole command, within its limits (docs/commands.md, "Limits").

        One template budget for everything the command evaluates, evaluated off the event
        loop when it is not cheap (bot.cli_output.offload), and a wall-clock limit on the
        whole: after it, the person hears that dockbell stopped, and the worker's slot is free.
        """
        limit = self.s.config.limits.command_seconds
        budget = Budget(deadline=time.monotonic() + limit, time_limit=limit)
        try:
            with command_scope(self.evaluation, requester.user_id, budget):
                async with asyncio.timeout(limit):
                    return await run
        except TimeoutError:
            outcome.label = "timeout"
            return render.error_reply(shown, _stopped(limit, outcome.job_ids))

    async def _deliver(self, response_url: str, message: render.Message) -> None:
        try:
            await self.s.slack.respond(response_url, message)
        except Exception:
            self.s.metrics.slack_errors.labels(method="response_url").inc()
            log.exception("could not deliver a reply to Slack")

    async def _answer(
        self, requester: Requester, shown: str, output: Output, thread: ThreadRoute | None = None
    ) -> render.Message | None:
        """The answer to a command; ``thread``: it answers a message (a mention, a DM), in its thread.

        A message's answer is already where everyone in the conversation sees it: it has no
        Share button, and a long output goes up as a file in that thread, not to a DM.
        """
        if output.silent:
            return None
        if not output.monospace:
            return render.notice(render.escape(output.text))
        cfg = self.s.config.output
        as_file = not render.fits_inline(output.text, cfg.max_inline_chars)
        if thread is None:
            errors = tuple(output.errors)
            answer = SharedAnswer(
                requester.user_id, requester.channel_id, shown, output.text, output.filename, as_file, errors
            )
            share_id, notes = await self._keep_for_sharing(answer)
        else:
            share_id, notes = None, ()
        reply = render.Reply(shown, output.text, tuple(output.errors), share_id, notes)
        if not as_file:
            return render.inline_reply(reply)
        try:
            if thread is None:
                channel, thread_ts = await self.s.slack.open_dm(requester.user_id), None
                where = "in your DM with dockbell"
            else:
                channel, thread_ts = thread.channel_id, thread.thread_ts or None
                where = "in this thread" if thread_ts else "above"
            await self.s.slack.upload(
                channel=channel,
                filename=output.filename,
                content=output.text,
                initial_comment=render.file_comment(shown),
                thread_ts=thread_ts,
            )
        except SlackRefused as err:
            self.s.metrics.slack_errors.labels(method="files.upload").inc()
            raise UserError(
                f"The output is too long for a message and Slack refused the file upload ({err.code})."
            ) from None
        return render.file_reply(reply, filename=output.filename, where=where, preview_lines=cfg.preview_lines)

    async def _keep_for_sharing(self, answer: SharedAnswer) -> tuple[str | None, tuple[str, ...]]:
        """The Share button's id, or None and a note saying why there is none."""
        cfg = self.s.config.output
        try:
            share_id = await self.s.shares.put(answer, max_bytes=cfg.share_max_bytes, store_bytes=cfg.share_store_bytes)
        except TooLargeToShare as err:
            return None, (f"Too large to share ({_size(err.size)}; answers up to {_size(err.limit)} can be).",)
        if share_id is None:
            return None, (":warning: Sharing is unavailable: dockbell cannot reach Redis.",)
        return share_id, ()

    async def handle_cancel(self, clicker: Requester, job_id: str, response_url: str) -> None:
        """The Cancel button: the same gate, checks and audit as typing `/docker jobs cancel ID`."""
        await self.handle_command(clicker, f"jobs cancel {job_id}", response_url, keep_original=True)

    async def handle_click(
        self,
        clicker: Requester,
        action: str,
        value: str,
        response_url: str,
        *,
        trigger_id: str = "",
        reason: str = "",
        thread_ts: str = "",
    ) -> None:
        if action == render.SHARE_ACTION:
            await self.handle_share(clicker, value, response_url)
        elif action == render.CANCEL_ACTION:
            await self.handle_cancel(clicker, value, response_url)
        elif action in APPROVAL_ACTIONS and self.s.approvals is not None:
            # Approve, Deny, and the Deny modal's submission (reason): the approved run goes
            # through handle_command, as its requester, like anything typed.
            await self.s.approvals.handle_click(
                clicker,
                action,
                value,
                response_url,
                run_command=self.handle_command,
                trigger_id=trigger_id,
                reason=reason,
            )
        elif action in STREAM_ACTIONS and (text := stream_command_for_click(action, value)) is not None:
            # Stop and the log file of a live stream: the same gate and audit as typing it.
            await self.handle_command(clicker, text, response_url, keep_original=True)
        elif action in NOTIFICATION_ACTIONS and (text := command_for_click(action, value)) is not None:
            # A crash notification's button: run as typed by the clicker (gate, approvals, audit, job),
            # its job's status in the notification's thread, beside the incident.
            with job_thread.within(thread_ts):
                await self.handle_command(clicker, text, response_url, keep_original=True)
        else:
            log.warning("a click on %r reached the worker; no handler", action)

    async def handle_share(self, clicker: Requester, share_id: str, response_url: str) -> None:
        try:
            answer = await self.s.shares.take(share_id, clicker.user_id)
        except NotYours:
            await self._deliver(
                response_url,
                render.notice("Only the person who ran the command can share it.", replace_original=False),
            )
            return
        except Exception:
            log.exception("share store unavailable")
            await self._deliver(
                response_url,
                render.notice(
                    ":warning: dockbell cannot reach Redis right now, so this answer cannot be shared. Try again.",
                    replace_original=False,
                ),
            )
            return
        if answer is None:
            await self._deliver(
                response_url,
                render.notice(
                    "This answer has expired or was already shared; run the command again.", replace_original=False
                ),
            )
            return
        try:
            await self._post_shared(answer, clicker)
        except SlackRefused as err:
            code = err.code
            hint = " Invite dockbell to this channel first." if code in ("not_in_channel", "channel_not_found") else ""
            await self._deliver(response_url, render.notice(f"Slack refused to share the file ({code}).{hint}"))
            return
        if not answer.as_file:
            reply = render.Reply(answer.command_text, answer.output, answer.errors)
            await self._deliver(response_url, render.inline_reply(reply, shared_by=answer.user_id))
        await self._deliver(response_url, {"delete_original": True})

    async def _post_shared(self, answer: SharedAnswer, clicker: Requester) -> None:
        if answer.as_file:
            await self.s.slack.upload(
                channel=answer.channel_id,
                filename=answer.filename,
                content=answer.output,
                initial_comment=render.shared_file_comment(clicker.user_id, answer.command_text),
            )


def _stopped(limit: int, job_ids: list[str]) -> str:
    text = f"dockbell stopped this command after {limit} s (its time limit)."
    if job_ids:  # queued before the limit: a job runs on its own, and its status message follows it
        text += f" The job(s) it had already queued go on: {', '.join(job_ids)}."
    return text


def _size(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{max(size // 1024, 1)} KB"


def _describe(target: Target) -> str:
    ident = f" ({target.id.removeprefix('sha256:')[:12]})" if target.id else ""
    return f"{target.kind} {target.name}{ident}"
