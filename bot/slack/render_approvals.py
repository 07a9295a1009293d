"""The approval flow's wording and Block Kit: the request message, its thread notes, the Deny modal.

Pure functions of the stored approval (bot/jobs/approvals.py ``Approval``, read here by its
attributes, as render.job_message reads a Job: bot.slack sits below bot.jobs), so every
process renders a request the same way from Redis, whichever worker moved it last.  The request message says
only what happened: "approved" once the approvals are counted, "running" once it was
launched, and the result once its jobs ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.core.jobtext import escape, job_state_line
from bot.slack import clip

APPROVE_ACTION = "dockbell_approve"
DENY_ACTION = "dockbell_deny"
DENY_VIEW = "dockbell_deny_reason"  # the Deny modal's callback_id
REASON_BLOCK = "reason"
REASON_ACTION = "reason"
REASON_MAX = 500

Message = dict[str, Any]


def ttl_words(seconds: float) -> str:
    """15m, 1h, 1h30m, 45s: how the policy writes a ttl."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "", f"{secs}s" if secs else ""]
    return "".join(parts) or "0s"


def when(moment: float) -> str:
    """A time each reader sees in their own time zone (Slack's date token), UTC as the fallback."""
    from datetime import UTC, datetime

    fallback = datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"<!date^{int(moment)}^{{date_short_pretty}} {{time_secs}}|{fallback}>"


def approvers_words(approval: Any) -> str:
    req = approval.request
    who = [f"<!subteam^{g}>" for g in req.approver_groups] + [f"<@{u}>" for u in req.approver_users]
    return " or ".join(who) if who else "nobody"


def _code(command: str, budget: int = 1500) -> str:
    return "`docker " + escape(clip.plain(command, budget)).replace("`", "'") + "`"


def _section(text: str, **extra: str) -> Message:
    return {"type": "section", **extra, "text": {"type": "mrkdwn", "text": clip.mrkdwn(text, clip.SECTION_TEXT)}}


def _context(text: str) -> Message:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip.mrkdwn(text, clip.CONTEXT_TEXT)}]}


def preview_text(preview: dict[str, Any]) -> str:
    """The blast radius as aligned rows, one block per target (plain text, for a code block)."""
    out = []
    for section in preview.get("sections") or []:
        out.append(str(section.get("title", "")))
        rows = [(str(r[0]), str(r[1])) for r in section.get("rows") or [] if len(r) == 2]
        width = max((len(label) for label, _ in rows), default=0)
        out += [f"  {label.ljust(width)}  {value}" for label, value in rows]
    if preview.get("more"):
        out.append(f"... and {preview['more']} more target(s)")
    return "\n".join(out) or "(nothing to preview)"


def _preview_block(preview: dict[str, Any]) -> Message:
    body = escape(clip.fenced_body(preview_text(preview), clip.SECTION_TEXT)).replace("```", "`\u200b``")
    return {"type": "section", "block_id": "preview", "text": {"type": "mrkdwn", "text": f"```\n{body}\n```"}}


def progress_words(approval: Any) -> str:
    votes = approval.votes
    by = f" ({', '.join(f'<@{v.user}>' for v in votes)})" if votes else ""
    return f"Approvals: {len(votes)} of {approval.request.count}{by}"


def buttons(approval: Any) -> Message:
    value = f"{approval.request.host}/{approval.id}"
    return {
        "type": "actions",
        "block_id": "dockbell_approval",
        "elements": [
            {
                "type": "button",
                "action_id": APPROVE_ACTION,
                "style": "primary",
                "text": {"type": "plain_text", "text": "Approve"},
                "value": value,
            },
            {
                "type": "button",
                "action_id": DENY_ACTION,
                "style": "danger",
                "text": {"type": "plain_text", "text": "Deny"},
                "value": value,
            },
        ],
    }


def outcome_words(approval: Any, jobs: Sequence[Any] = ()) -> str:
    """Where a request stands, in one line; "" while it waits."""
    state = str(approval.state)
    approved = f"Approved by {_people(approval.approvers)} at {when(approval.closed_at)}"
    if state == "approved":
        return f":white_check_mark: {approved}; starting it."
    if state in ("running", "done"):
        return f":white_check_mark: {approved}. {_result(approval, jobs)}"
    if state == "denied":
        reason = f": {escape(approval.reason)}" if approval.reason else " (no reason given)"
        return f":no_entry: Denied by <@{approval.closed_by}> at {when(approval.closed_at)}{reason}. Nothing ran."
    if state == "cancelled":
        by = approval.closed_by
        return f":leftwards_arrow_with_hook: Withdrawn by <@{by}> at {when(approval.closed_at)}. Nothing ran."
    if state == "expired":
        return f":hourglass: Expired after {ttl_words(approval.request.ttl_seconds)}: nothing ran."
    if state == "void":
        return f":warning: Void: {escape(approval.reason)}. Nothing ran."
    return ""


def _people(users: Sequence[str]) -> str:
    shown = [f"<@{u}>" for u in users]
    return " and ".join(shown) if len(shown) < 3 else ", ".join(shown[:-1]) + " and " + shown[-1]


def _result(approval: Any, jobs: Sequence[Any]) -> str:
    if jobs:
        states = [f"job `{job.id}` {job_state_line(job, 0)}" for job in jobs]
        lead = "Result: " if all(job.finished for job in jobs) else "Running: "
        return lead + "; ".join(states) + " (status in the thread)."
    if approval.result:
        return str(approval.result)  # mrkdwn, escaped where it quotes anything (the flow words it)
    return "Running it now."


def request_message(approval: Any, now: float, jobs: Sequence[Any] = ()) -> Message:
    """The one request message in the channel, edited in place as the request moves."""
    req = approval.request
    asker = f"<@{req.requester.user_id}>"
    head = f":raised_hand: *Approval needed*: {asker} asked to run {_code(req.shown)} on `{escape(req.host)}`"
    rule = escape(req.rule_name)
    needs = "1 approval" if req.count == 1 else f"{req.count} approvals by different people"
    terms = f"Rule {rule}: {needs} from {approvers_words(approval)}, never the requester's own."
    if str(approval.state) == "pending":
        left = max(req.expires_at - now, 0)
        terms += f" Expires in {ttl_words(left)} (at {when(req.expires_at)})."
    blocks: list[Message] = [_section(head), _section(terms), _context("What it touches:"), _preview_block(req.preview)]
    blocks.append(_context(progress_words(approval)))
    outcome = outcome_words(approval, jobs)
    if str(approval.state) == "pending":
        blocks.append(buttons(approval))
    elif outcome:
        blocks.append(_section(outcome, block_id="outcome"))
    blocks.append(_context(f"request `{approval.id}` · `/docker approvals` lists the open ones"))
    summary = f"Approval needed: docker {clip.plain(req.shown, 200)} on {req.host}"
    if outcome:
        summary += " (" + str(approval.state) + ")"
    return {"text": escape(summary), "blocks": blocks}


def thread_note(text: str) -> Message:
    """A reply under the request message: one event of its life (already-escaped mrkdwn)."""
    return {"text": clip.mrkdwn(text, clip.MESSAGE_TEXT), "blocks": [_section(text)]}


def private(text: str) -> Message:
    """An answer only the clicker or the requester sees, never replacing the message clicked."""
    return {
        "text": clip.mrkdwn(text, clip.MESSAGE_TEXT),
        "blocks": [_section(text)],
        "response_type": "ephemeral",
        "replace_original": False,
    }


def waiting_notice(approval: Any, link: str) -> Message:
    req = approval.request
    where = f"<{link}|the request>" if link.startswith("http") else escape(link)
    return private(
        f":hourglass_flowing_sand: {_code(req.shown)} needs approval ({escape(req.rule_name)}) before it runs: "
        f"{where} waits for {approvers_words(approval)}, for {ttl_words(req.ttl_seconds)}. "
        f"`/docker approvals cancel {approval.id}` withdraws it."
    )


def deny_modal(approval: Any) -> Message:
    """The Deny form: an optional reason; submitting it denies the request."""
    req = approval.request
    return {
        "type": "modal",
        "callback_id": DENY_VIEW,
        "private_metadata": f"{req.host}/{approval.id}",
        "title": {"type": "plain_text", "text": "Deny request"},
        "submit": {"type": "plain_text", "text": "Deny"},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": [
            _section(f"Deny {_code(req.shown, 1000)} on `{escape(req.host)}`, asked by <@{req.requester.user_id}>?"),
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "Reason (shown in the channel)"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON_ACTION,
                    "multiline": True,
                    "max_length": REASON_MAX,
                },
            },
        ],
    }


def reason_from(view: dict[str, Any]) -> str:
    """The reason typed in the Deny modal, from a view_submission's ``view.state``."""
    values = ((view.get("state") or {}).get("values") or {}).get(REASON_BLOCK) or {}
    value = (values.get(REASON_ACTION) or {}).get("value")
    return str(value or "").strip()[:REASON_MAX]
