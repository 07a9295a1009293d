"""The permission gate: one function decides every ``/docker`` command.

Order of decision, each step only ever narrowing:

1. an unknown verb, a malformed target or any exception: **deny** (fail closed);
2. an explicit ``deny`` rule that matches: **deny**, whatever roles say;
3. no role of the subject grants the verb on this target and host: **deny** (default);
4. a requested flag capability that no such role grants exactly: **deny** (flag guard);
5. otherwise **allow**, with the first matching approval rule attached, if any.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from bot.policy import verbs as verbmod
from bot.policy.caps import CapPattern, describe, normalize_capability
from bot.policy.match import container_name, parse_image
from bot.policy.model import (
    DEFAULT_CONTACT,
    AccessRequest,
    ApprovalRule,
    Decision,
    DenyRule,
    Policy,
    Role,
    RoleBinding,
    Selector,
    Subject,
    Target,
    Who,
)
from bot.policy.verbs import Scope

DEFAULT = "default: deny"
log = logging.getLogger(__name__)


# --- who --------------------------------------------------------------------------------


def _who_matches(who: Who, subject: Subject) -> bool:
    if who.everyone:
        return True
    if who.empty:
        return False
    if who.users and subject.user_id not in who.users:
        return False
    if who.usergroups and not who.usergroups & subject.usergroups:
        return False
    if who.channels and subject.channel_id.startswith("D"):
        return False  # channel-bound roles do not apply in a direct message (docs/mentions.md)
    return not who.channels or subject.channel_id in who.channels


def _via(who: Who, subject: Subject) -> str:
    if who.everyone:
        return "everyone"
    parts = []
    if who.users:
        parts.append(f"user {subject.user_id}")
    if who.usergroups:
        parts.append("usergroup " + ", ".join(sorted(who.usergroups & subject.usergroups)))
    via = " and ".join(parts)
    if who.channels:
        via = f"{via} in channel {subject.channel_id}" if via else f"channel {subject.channel_id}"
    return via


def _check_subject(subject: Subject) -> None:
    # Types are not trusted: a caller passing a list where a set belongs must fail closed.
    if not isinstance(subject.user_id, str) or not isinstance(subject.channel_id, str):
        raise TypeError("subject IDs must be strings")
    groups = subject.usergroups
    if not isinstance(groups, (set, frozenset)) or not all(isinstance(g, str) for g in groups):
        raise TypeError("subject.usergroups must be a frozenset of strings")


def roles_of(policy: Policy, subject: Subject) -> list[RoleBinding]:
    """Every role the subject holds and the binding it comes from, in policy order."""
    _check_subject(subject)
    return [
        RoleBinding(b.role, _via(b.who, subject), b.index)
        for b in policy.bindings
        if b.role in policy.roles and _who_matches(b.who, subject)
    ]


# --- what ---------------------------------------------------------------------------------


def _labels_match(selector: Selector, labels: Mapping[str, str]) -> bool:
    return all(key in labels and glob.matches(labels[key]) for key, glob in selector.labels)


def _image_matches(selector: Selector, reference: str) -> bool:
    ref = parse_image(reference)
    return ref is not None and any(p.matches(ref) for p in selector.images)


def _container_matches(selector: Selector, target: Target) -> bool:
    if selector.names:
        name = container_name(target.name)
        if name is None or not any(g.matches(name) for g in selector.names):
            return False
    if selector.projects:
        project = target.project
        if project is None or not any(g.matches(project) for g in selector.projects):
            return False
    if selector.images and not _image_matches(selector, target.image):
        return False
    return _labels_match(selector, target.labels)


def _image_target_matches(selector: Selector, target: Target) -> bool:
    if selector.names or selector.projects:
        return False  # a rule about some containers says nothing about images
    if selector.images and not _image_matches(selector, target.name):
        return False
    return _labels_match(selector, target.labels)


def _resource_matches(selector: Selector, target: Target) -> bool:
    """A volume or network: judged by its name, its labels and its compose project's label."""
    if selector.images:
        return False  # a rule about some images says nothing about volumes or networks
    if selector.names:
        name = container_name(target.name)  # docker's name rule for volumes too; odd names never match
        if name is None or not any(g.matches(name) for g in selector.names):
            return False
    if selector.projects:
        project = target.project
        if project is None or not any(g.matches(project) for g in selector.projects):
            return False
    return _labels_match(selector, target.labels)


def _project_matches(selector: Selector, target: Target) -> bool:
    """A compose project is judged by ``projects`` alone: rules about names, labels or images do not cover it."""
    if selector.names or selector.labels or selector.images:
        return False
    return not selector.projects or any(g.matches(target.name) for g in selector.projects)


def _selects(selector: Selector, host: str, target: Target | None, *, untargeted_ok: bool) -> bool:
    """Does ``on:`` cover this host and target?

    Without a target only ``hosts`` can be checked; ``untargeted_ok`` says whether
    a selector limited to some resources still covers such a request (true for
    role grants of list and bot verbs, whose output is filtered item by item).
    """
    if selector.hosts and not any(g.matches(host) for g in selector.hosts):
        return False
    if target is None or target.kind == verbmod.HOST:
        return untargeted_ok or not selector.limits_resources
    if target.kind == verbmod.CONTAINER:
        return _container_matches(selector, target)
    if target.kind in (verbmod.VOLUME, verbmod.NETWORK):
        return _resource_matches(selector, target)
    if target.kind == verbmod.PROJECT:
        return _project_matches(selector, target)
    return _image_target_matches(selector, target)


def _role_allows(role: Role, verb: str, request: AccessRequest, scope: Scope) -> bool:
    if verb not in role.verbs:
        return False
    untargeted_ok = scope in (Scope.LIST, Scope.BOT)
    return _selects(role.on, request.host, request.target, untargeted_ok=untargeted_ok)


def _caps_match(patterns: Iterable[CapPattern], caps: Iterable[str]) -> bool:
    pats = tuple(patterns)
    return any(p.matches(cap) for cap in caps for p in pats)


def _rule_applies(
    rule: DenyRule | ApprovalRule, subject: Subject, verb: str, request: AccessRequest, caps: frozenset[str]
) -> bool:
    if rule.verbs is not None and verb not in rule.verbs:
        return False
    if not _who_matches(rule.who, subject):
        return False
    if rule.flags and not _caps_match(rule.flags, caps):
        return False
    return _selects(rule.on, request.host, request.target, untargeted_ok=False)


# --- describing, for messages ----------------------------------------------------------------


def _describe_target(request: AccessRequest) -> str:
    target = request.target
    if target is None or target.kind == verbmod.HOST:
        return f"host {request.host}"
    name = target.name.removeprefix("/") or target.id[:12] or "(unnamed)"
    return f"{target.kind} {name} on host {request.host}"


def _wanted(verb: str, request: AccessRequest, caps: Iterable[str] = ()) -> str:
    what = f"a role granting `{verb}` on {_describe_target(request)}"
    listed = sorted(caps)
    if listed:
        what += " with flags: [" + ", ".join(listed) + "]"
    return what


def _hint(policy: Policy, verb: str, request: AccessRequest, scope: Scope, caps: frozenset[str]) -> str:
    """What would allow the request, and whom to ask: a role's name, never who holds it.

    Naming the people or channels that hold a role would tell anyone who to impersonate
    and which channel grants what; the policy's contact is the one pointer given.
    """
    for role in policy.roles.values():
        if _role_allows(role, verb, request, scope) and all(_caps_match(role.flags, [c]) for c in caps):
            return f"role `{role.name}`; ask {policy.ask}"
    return f"{_wanted(verb, request, caps)}; ask {policy.ask}"


def deny_hint(policy: Policy, rule: DenyRule) -> str:
    return f"nothing while {rule.ref} stands (no role overrides a deny rule); ask {policy.ask} if it should change"


def _deny(rule: str, reason: str, hint: str | None, roles: Iterable[str]) -> Decision:
    return Decision(False, rule, reason, hint, None, tuple(dict.fromkeys(roles)))


# --- the gate -----------------------------------------------------------------------------------


def _target_problem(info: verbmod.VerbInfo, target: Target | None) -> str | None:
    if target is not None and target.kind not in verbmod.TARGET_KINDS:
        return f"unknown target kind {target.kind!r}"
    has_target = target is not None and target.kind != verbmod.HOST
    if info.scope is Scope.TARGET and not has_target:
        kinds = " or ".join(sorted(info.targets))
        return f"`{info.name}` needs a {kinds} to check"
    if has_target and target is not None and target.kind not in info.targets:
        article = "an" if target.kind[:1] in "aeiou" else "a"
        return f"`{info.name}` does not act on {article} {target.kind}"
    return None


def _normalized_caps(caps: Iterable[str]) -> frozenset[str]:
    out = set()
    for cap in caps:
        if not isinstance(cap, str):
            raise TypeError("capabilities must be strings")
        out.add(normalize_capability(cap))
    return frozenset(out)


def _evaluate(policy: Policy, subject: Subject, request: AccessRequest) -> Decision:
    bindings = roles_of(policy, subject)
    held = [rb.role for rb in bindings]
    if not isinstance(request.verb, str) or not isinstance(request.host, str):
        raise TypeError("verb and host must be strings")
    verb = verbmod.canonical_verb(request.verb)
    if verb is None:
        close = verbmod.suggest(request.verb)
        hint = f"did you mean `{close}`?" if close else None
        return _deny(DEFAULT, f"`{request.verb}` is not a command dockbell knows.", hint, held)
    info = verbmod.VERBS[verb]
    if problem := _target_problem(info, request.target):
        return _deny(DEFAULT, problem[0].upper() + problem[1:] + ".", None, held)
    caps = _normalized_caps(request.capabilities)

    for rule in policy.deny:
        if _rule_applies(rule, subject, verb, request, caps):
            return _deny(rule.name, _sentence(rule.reason), deny_hint(policy, rule), held)

    granting = [rb for rb in bindings if _role_allows(policy.roles[rb.role], verb, request, info.scope)]
    if not granting:
        reason = _no_role_reason(policy, bindings, verb, request)
        return _deny(DEFAULT, reason, _hint(policy, verb, request, info.scope, caps), held)

    missing = sorted(c for c in caps if not any(_caps_match(policy.roles[rb.role].flags, [c]) for rb in granting))
    if missing:
        reason = _flag_reason(missing, [rb.role for rb in granting])
        return _deny(f"flag guard: {', '.join(missing)}", reason, _hint(policy, verb, request, info.scope, caps), held)

    first = granting[0]
    approval = next((a for a in policy.approvals if _rule_applies(a, subject, verb, request, caps)), None)
    reason = f"Role {first.role} allows `{verb}` on {_describe_target(request)}."
    return Decision(True, f"role {first.role} via {first.via}", reason, None, approval, tuple(dict.fromkeys(held)))


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".!")
    return text[:1].upper() + text[1:] + "."


def _flag_reason(missing: list[str], roles: list[str]) -> str:
    names = list(dict.fromkeys(roles))
    asks = "; ".join(describe(c) for c in missing)
    grants = "an explicit grant" if len(missing) == 1 else "explicit grants"
    whose = f"your role {names[0]}" if len(names) == 1 else f"your roles {', '.join(names)}"
    verb = "needs" if len(missing) == 1 else "need"
    return (
        f"{asks} {verb} {grants} ({', '.join(missing)}), which {whose} {'does' if len(names) == 1 else 'do'} not give."
    )


def _no_role_reason(policy: Policy, bindings: list[RoleBinding], verb: str, request: AccessRequest) -> str:
    if not bindings:
        return "You have no dockbell role here."
    names = ", ".join(dict.fromkeys(rb.role for rb in bindings))
    if not any(verb in policy.roles[rb.role].verbs for rb in bindings):
        return f"None of your roles ({names}) allows `{verb}`."
    return f"Your roles ({names}) allow `{verb}`, but not on {_describe_target(request)}."


def evaluate(policy: Policy, subject: Subject, request: AccessRequest) -> Decision:
    """Decide one request.  Never raises: any error is a denial with rule ``error``."""
    try:
        return _evaluate(policy, subject, request)
    except Exception:  # fail closed: a bug in the gate must never let a command through
        log.exception("permission check failed for %r", request)
        return failure(policy)


def failure(policy: object) -> Decision:
    """The denial given when the permission check itself failed."""
    contact = policy.ask if isinstance(policy, Policy) else DEFAULT_CONTACT  # policy may be anything here
    return Decision(
        False,
        "error",
        "The permission check failed, so the command was refused to be safe.",
        f"tell {contact}; the bot log has the details",
        None,
        (),
    )


def can_see(policy: Policy, subject: Subject, verb: str, target: Target, *, host: str) -> bool:
    """May the subject see this item in the output of a list verb (``ps``, ``images``, ``stats``)?"""
    return evaluate(policy, subject, AccessRequest(verb, host, target)).allowed


def allowed_verbs(policy: Policy, subject: Subject) -> set[str]:
    """Verbs some role of the subject grants somewhere, minus verbs denied to them outright (for help)."""
    try:
        verbs: set[str] = set()
        for rb in roles_of(policy, subject):
            verbs |= policy.roles[rb.role].verbs
        for rule in policy.deny:
            blanket = not rule.flags and rule.on == Selector() and _who_matches(rule.who, subject)
            if blanket and rule.verbs is None:
                return set()
            if blanket and rule.verbs is not None:
                verbs -= rule.verbs
        return verbs
    except Exception:  # fail closed, like evaluate()
        log.exception("allowed_verbs failed")
        return set()
