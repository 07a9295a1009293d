"""Questions about the permission layer itself: whoami, can-i, audit."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.cli_output.tabwriter import format_table
from bot.core.cliparse import Flag, Kind
from bot.core.registry import command
from bot.core.timeparse import parse_timestamp
from bot.core.types import Invocation, Output
from bot.errors import NotFound, ParseError
from bot.jobs.context import HandlerContext
from bot.jobs.gate import NAMED_TARGETS
from bot.jobs.visible import no_such
from bot.ops.audit import AuditRecord
from bot.policy import Target, canonical_verb, roles_of
from bot.policy.verbs import VERBS


@command("whoami", usage="docker whoami", summary="Show your Slack ID and your dockbell roles", max_args=0)
async def whoami(inv: Invocation, ctx: HandlerContext) -> Output:
    subject = ctx.access.subject
    direct = subject.channel_id.startswith("D")  # Slack's IDs of direct messages
    where = f"{subject.channel_id} (a direct message with dockbell)" if direct else subject.channel_id
    lines = [f"Slack user:  {subject.user_id}", f"Channel:     {where}"]
    if subject.usergroups:
        lines.append("User groups: " + ", ".join(sorted(subject.usergroups)))
    bindings = roles_of(ctx.access.policy, subject)
    if bindings:
        lines.append("Roles:")
        for rb in bindings:
            role = ctx.access.policy.roles.get(rb.role)
            what = ", ".join(role.allow) if role else "?"
            scope = f" on {role.on.describe()}" if role and role.on.limits_resources else ""
            lines.append(f"  {rb.role:<12} via {rb.via}: {what}{scope}")
    else:
        lines.append(f"Roles:       none (ask {ctx.access.policy.ask} for one, with your Slack user ID above)")
    if direct:
        lines.append("Roles bound to channels do not apply in a direct message: use those in their channels.")
    return Output("\n".join(lines), filename="whoami.txt")


@command(
    "can-i",
    usage="docker can-i [OPTIONS] VERB [CONTAINER|IMAGE]",
    summary="Say whether the policy lets you run a command, and which rule decides",
    min_args=1,
    max_args=3,
)
async def can_i(inv: Invocation, ctx: HandlerContext) -> Output:
    words = list(inv.args)
    verb = canonical_verb(" ".join(words[:2])) if len(words) >= 2 else None
    if verb is not None:
        words = words[2:]
    else:
        verb = canonical_verb(words[0])
        words = words[1:]
        if verb is None:
            raise ParseError(f"unknown verb {inv.args[0]!r}", usage="Usage:  docker can-i VERB [CONTAINER|IMAGE]")
    if len(words) > 1:
        raise ParseError('"docker can-i" takes one verb and at most one target.')
    host = ctx.access.host
    target: Target | None = None
    refused = ctx.access.refusal(verb)
    on = f" {words[0]}" if words else ""
    if refused is not None:
        # Refused whatever the target: answered without looking it up, so the answer is the
        # same for a container the caller can see, one they cannot, and one that is not there.
        ctx.access.decisions.append(refused)
        decision = refused
    else:
        if words:
            target = await _visible_target(ctx, verb, words[0])
            on = f" {target.kind} {target.name}"
        decision = ctx.access.check(verb, target)
    lines = [f"{'yes' if decision.allowed else 'no'}: {verb}{on} on host {host}", f"rule:   {decision.rule}"]
    if not decision.allowed:
        lines.append(f"reason: {decision.reason}")
        if decision.hint:
            lines.append(f"would be allowed by: {decision.hint}")
    elif decision.approval is not None:
        lines.append(f"needs approval: {decision.approval.name}")
    return Output("\n".join(lines), filename="can-i.txt")


async def _visible_target(ctx: HandlerContext, verb: str, ref: str) -> Target:
    """The target docker would act on, among what the caller may see; missing and hidden in docker's words.

    A verb whose target need not exist yet (``pull``) is judged by the name typed instead.
    """
    kinds = VERBS[verb].targets
    lookup = ctx.access.lookup(ctx.docker)
    own = next((k for k in ("volume", "network", "project") if k in kinds), None)
    if own is not None:  # volumes, networks (network connect: the network first), compose projects
        resource = await lookup.of_kind(own, ref)
        if resource is not None:
            return resource
        if verb in NAMED_TARGETS:
            return Target(kind=own, name=ref)
        raise NotFound(no_such(own, ref))
    kind = "object" if {"container", "image"} <= kinds else "image" if "image" in kinds else "container"
    found = await (
        lookup.object(ref) if kind == "object" else lookup.image(ref) if kind == "image" else lookup.container(ref)
    )
    if found is not None:
        return found
    if verb in NAMED_TARGETS:
        return Target(kind="image", name=ref, image=ref) if kind != "container" else Target(kind="container", name=ref)
    if kind == "object":
        raise NotFound(f"Error: No such object: {ref}")
    raise NotFound(no_such(kind, ref))


_MENTION = re.compile(r"^<@([UW][A-Z0-9_]+)(?:\|[^>]*)?>$")


def _user_matcher(raw: str) -> tuple[str, str]:
    """(user_id, user_name) to match, from `U123`, `<@U123|name>` or `@name`."""
    if m := _MENTION.match(raw):
        return m[1], ""
    if re.fullmatch(r"[UW][A-Z0-9_]{2,}", raw):
        return raw, ""
    return "", raw.lstrip("@")


# A job's or an approval request's id: `audit ID` shows its whole chain (request, approvals, the job).
_CHAIN_ID = re.compile(r"(?:j|a)-[0-9a-f]{10}")
_APPROVAL_REF = re.compile(r"\ba-[0-9a-f]{10}\b")


def _chain(records: list[AuditRecord], ident: str) -> list[AuditRecord]:
    """The records of one job and of the approval it ran under: who asked, who approved, what ran."""
    ids = {ident}
    for r in records:
        if ident in r.job_id.split(",") or ident in _APPROVAL_REF.findall(f"{r.rule} {r.outcome}"):
            ids.update(_APPROVAL_REF.findall(f"{r.rule} {r.outcome}"))
            ids.update(j for j in r.job_id.split(",") if j)
    return [
        r
        for r in records
        if ids & set(r.job_id.split(",")) or ids & set(_APPROVAL_REF.findall(f"{r.rule} {r.outcome}"))
    ]


@command(
    "audit",
    usage="docker audit [OPTIONS] [TARGET | JOB | APPROVAL]",
    summary="Show the audit trail: who ran what, and what the policy decided",
    max_args=1,
    flags=[
        Flag(
            "since",
            "Show records since a time or duration (default 24h)",
            Kind.STRING,
            default="24h",
            value_name="string",
        ),
        Flag("user", "Only this person (U-ID, @mention or @name)", Kind.STRING, value_name="string"),
        Flag("verb", "Only this verb", Kind.STRING, value_name="string"),
        Flag("denied", "Only refused commands"),
    ],
)
async def audit(inv: Invocation, ctx: HandlerContext) -> Output:
    now = ctx.now()
    since = parse_timestamp(inv.opt("since"), now)
    user_id, user_name = _user_matcher(inv.opt("user")) if inv.opt("user") else ("", "")
    verb = canonical_verb(inv.opt("verb")) if inv.opt("verb") else None
    if inv.opt("verb") and verb is None:
        raise ParseError(f"unknown verb {inv.opt('verb')!r}")
    records = await ctx.audit.query(since=since)
    chain = bool(inv.args) and _CHAIN_ID.fullmatch(inv.args[0]) is not None
    if chain:
        records = _chain(records, inv.args[0])
    rows = [["TIME", "USER", "CHANNEL", "COMMAND", "TARGET", "DECISION", "RULE", "OUTCOME", "JOB"]]
    for r in records:
        if (user_id and r.user_id != user_id) or (user_name and r.user_name != user_name):
            continue
        if verb and canonical_verb(r.command.split(" ")[0]) != verb and not r.command.startswith(verb + " "):
            continue
        if inv.args and not chain and inv.args[0] not in r.target and inv.args[0] not in r.command:
            continue
        if inv.opt("denied") and r.decision != "deny":
            continue
        when = datetime.fromtimestamp(r.time, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        who = f"{r.user_id} ({r.user_name})" if r.user_name else r.user_id
        rows.append(
            [when, who, r.channel_id, r.command, r.target or "-", r.decision, r.rule or "-", r.outcome, r.job_id or "-"]
        )
    if len(rows) == 1:
        return Output("no audit records match", filename="audit.txt")
    return Output(format_table(rows), filename="audit.txt")
