"""What a caller can see: the questions behind "no existence oracle" and scope-filtered lists.

:func:`evaluate` answers one request.  The gate and the list handlers also need to ask:

* may the caller see this container or image at all (:func:`visible`)?  Anything they may
  not see is answered exactly like something that does not exist;
* is a verb refused whatever the target (:func:`refusal_for_any_target`)?  Then the
  refusal can be given before anything is looked up, so it cannot depend on the target;
* which hosts does the caller have a role on (:func:`hosts_with_roles`), and do they see a
  host whole (:func:`sees_whole_host`) or only a scope of it?

Pure and synchronous like the rest of the package; every function fails closed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.policy import verbs as verbmod
from bot.policy.evaluate import (
    DEFAULT,
    _deny,
    _sentence,
    _who_matches,
    deny_hint,
    evaluate,
    failure,
    roles_of,
)
from bot.policy.model import AccessRequest, Decision, Policy, Role, Selector, Subject, Target
from bot.policy.verbs import Scope

log = logging.getLogger(__name__)


def _on_host(selector: Selector, host: str) -> bool:
    return not selector.hosts or any(g.matches(host) for g in selector.hosts)


def _held_roles(policy: Policy, subject: Subject) -> list[Role]:
    return [policy.roles[rb.role] for rb in roles_of(policy, subject)]


def held_target_verbs(policy: Policy, subject: Subject, host: str) -> frozenset[str]:
    """Verbs some held role grants on this host that act on (or list) containers or images."""
    try:
        verbs: set[str] = set()
        for role in _held_roles(policy, subject):
            if _on_host(role.on, host):
                verbs |= {v for v in role.verbs if verbmod.VERBS[v].targets - {verbmod.HOST}}
        return frozenset(verbs)
    except Exception:  # fail closed: nothing is visible
        log.exception("held_target_verbs failed")
        return frozenset()


def visible(policy: Policy, subject: Subject, target: Target, *, host: str, verbs: Iterable[str] | None = None) -> bool:
    """May the subject see ``target``: does any verb they hold allow something on it?

    A caller who may act on an object in any way (list it, read it, restart it) learns that
    it exists; one who may not must not learn it either, so for them it is answered like an
    object that is not there.  A deny rule hides an object only when it leaves no verb
    allowed on it: ``deny logs on *-secretive`` still lets an admin see those containers (and
    be told the rule when logs are refused).  ``verbs`` is :func:`held_target_verbs`, for
    callers that check many targets.
    """
    candidates = held_target_verbs(policy, subject, host) if verbs is None else verbs
    for verb in sorted(candidates):
        if target.kind not in verbmod.VERBS[verb].targets:
            continue
        if evaluate(policy, subject, AccessRequest(verb, host, target)).allowed:
            return True
    return False


def refusal_for_any_target(policy: Policy, subject: Subject, verb: str, host: str) -> Decision | None:
    """A denial of ``verb`` that holds for every target on ``host``, or None if some target could be allowed.

    The gate gives such a refusal before looking anything up, so its wording cannot depend
    on whether the typed name exists: "None of your roles (viewer) allows `restart`" is the
    same for a container the caller can see, one they cannot, and one that is not there.
    """
    try:
        return _refusal_for_any_target(policy, subject, verb, host)
    except Exception:  # fail closed, worded like evaluate's own failure
        log.exception("refusal_for_any_target failed for %r", verb)
        return failure(policy)


def _refusal_for_any_target(policy: Policy, subject: Subject, verb: str, host: str) -> Decision | None:
    name = verbmod.canonical_verb(verb)
    if name is None or verbmod.VERBS[name].scope in (Scope.BOT, Scope.HOST):
        return None  # unknown verbs and untargeted verbs: evaluate() decides, with no target to leak
    if verbmod.VERBS[name].scope is Scope.LIST:
        # Without a target a list verb is judged exactly so: any role granting it on the host, no blanket deny.
        whole = evaluate(policy, subject, AccessRequest(name, host, None))
        return None if whole.allowed else whole
    bindings = roles_of(policy, subject)
    held = [rb.role for rb in bindings]
    for rule in policy.deny:
        blanket = not rule.flags and not rule.on.limits_resources and _on_host(rule.on, host)
        if blanket and (rule.verbs is None or name in rule.verbs) and _who_matches(rule.who, subject):
            return _deny(rule.name, _sentence(rule.reason), deny_hint(policy, rule), held)
    if any(name in policy.roles[b.role].verbs and _on_host(policy.roles[b.role].on, host) for b in bindings):
        return None
    if not bindings:
        reason = "You have no dockbell role here."
    elif not any(name in policy.roles[b.role].verbs for b in bindings):
        reason = f"None of your roles ({', '.join(dict.fromkeys(held))}) allows `{name}`."
    else:
        reason = f"Your roles ({', '.join(dict.fromkeys(held))}) allow `{name}`, but not on host {host}."
    granting = next((r.name for r in policy.roles.values() if name in r.verbs and _on_host(r.on, host)), None)
    what = f"role `{granting}`" if granting else f"a role granting `{name}` on host {host}"
    return _deny(DEFAULT, reason, f"{what}; ask {policy.ask}", held)


def hosts_with_roles(policy: Policy, subject: Subject, hosts: Iterable[str]) -> list[str]:
    """The hosts on which the subject holds a role granting more than the bot verbs (help, whoami...).

    ``/docker hosts`` lists only these: which other hosts exist is not the caller's business.
    """
    try:
        roles = [
            r for r in _held_roles(policy, subject) if any(verbmod.VERBS[v].scope is not Scope.BOT for v in r.verbs)
        ]
        blanket = [
            d.on
            for d in policy.deny
            if (d.verbs is None or d.verbs >= verbmod.ALL)
            and not d.flags
            and not d.on.limits_resources
            and _who_matches(d.who, subject)
        ]
        return [
            h for h in hosts if any(_on_host(r.on, h) for r in roles) and not any(_on_host(on, h) for on in blanket)
        ]
    except Exception:
        log.exception("hosts_with_roles failed")
        return []


def sees_whole_host(policy: Policy, subject: Subject, host: str, list_verb: str) -> bool:
    """Does ``list_verb`` (``ps``, ``images``) show the subject everything on ``host``?

    True only with a held role granting it on the whole host and no deny rule that could
    hide some of the listed objects from them: then host-wide counts are theirs to see.
    """
    try:
        whole = any(
            list_verb in r.verbs and not r.on.limits_resources and _on_host(r.on, host)
            for r in _held_roles(policy, subject)
        )
        hiding = any(
            (d.verbs is None or list_verb in d.verbs)
            and not d.flags  # a list asks for no flags, so a flag rule never hides anything from it
            and _who_matches(d.who, subject)
            and _on_host(d.on, host)
            for d in policy.deny
        )
        return whole and not hiding
    except Exception:
        log.exception("sees_whole_host failed")
        return False
