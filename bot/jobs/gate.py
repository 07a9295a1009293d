"""The permission gate in the command flow: who is asking, what they target, may they.

The policy itself is pure (bot/policy); this module does the I/O around it: user
group membership from Slack (cached briefly), and the real identity of targets
from Docker (a name or ID prefix is resolved by the engine first, so the policy
always judges the container docker would act on, never the spelling typed).

What the caller may not see does not exist for them (bot/jobs/visible.py): a refusal is
only ever given for a target they can see, or for a verb they may use on no target at all,
so whether a refused name exists is never observable.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bot.core.cliparse import Parsed
from bot.core.types import Invocation, Requester
from bot.engine.compose import ONEOFF_LABEL, SERVICE_LABEL
from bot.engine.gateway import DockerGateway
from bot.engine.hosts import DockerHosts
from bot.errors import ParseError, UserError
from bot.jobs.visible import Lookup
from bot.policy import (
    AccessRequest,
    Decision,
    Policy,
    Subject,
    Target,
    can_see,
    evaluate,
    held_target_verbs,
    refusal_for_any_target,
    visible,
)
from bot.policy.flagguard import FLAG_TABLES, GuardedCommand, guard_parsed
from bot.policy.verbs import GUARDED, canonical_verb
from bot.slack.out import SlackOut

log = logging.getLogger(__name__)

GROUP_CACHE_SECONDS = 60.0


class Denied(UserError):
    """The policy refused; the message names the rule and what would allow it."""

    def __init__(self, decision: Decision, shown: str) -> None:
        text = f":no_entry: Not allowed: `docker {shown}`\n{decision.reason}\nRefused by: {decision.rule}"
        if decision.hint:
            text += f"\nWould be allowed by: {decision.hint}"
        super().__init__(text)
        self.decision = decision


def policy_usergroups(policy: Policy) -> frozenset[str]:
    groups: set[str] = set()
    for binding in policy.bindings:
        groups |= binding.who.usergroups
    for deny in policy.deny:
        groups |= deny.who.usergroups
    for approval in policy.approvals:
        groups |= approval.who.usergroups | approval.approvers.usergroups
    return frozenset(groups)


class GroupDirectory:
    """Which of the policy's user groups a user belongs to, from usergroups.users.list."""

    def __init__(self, slack: SlackOut, clock: Callable[[], float] = time.monotonic) -> None:
        self.slack = slack
        self.clock = clock
        self._members: dict[str, tuple[float, frozenset[str]]] = {}

    async def members(self, group: str) -> frozenset[str]:
        cached = self._members.get(group)
        if cached and self.clock() - cached[0] < GROUP_CACHE_SECONDS:
            return cached[1]
        try:
            users = frozenset(await self.slack.usergroup_members(group))
        except Exception as err:
            # Fail closed: an unknown membership grants nothing.  Cached like a success,
            # so a misnamed group costs one Slack call a minute, not one per command.
            log.warning("cannot read members of user group %s: %s", group, err)
            users = frozenset()
        self._members[group] = (self.clock(), users)
        return users

    async def groups_of(self, user_id: str, groups: Iterable[str]) -> frozenset[str]:
        wanted = sorted(groups)
        found = await asyncio.gather(*(self.members(g) for g in wanted))
        return frozenset(g for g, members in zip(wanted, found, strict=True) if user_id in members)


@dataclass
class Access:
    """The caller's standing for one command: used by the gate and by handlers that filter lists."""

    policy: Policy
    subject: Subject
    host: str
    decisions: list[Decision] = field(default_factory=list)
    # Objects the engine resolved a typed name to that the caller may not see (for the audit).
    hidden: list[Target] = field(default_factory=list)
    _verbs: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    def check(self, verb: str, target: Target | None, capabilities: frozenset[str] = frozenset()) -> Decision:
        decision = evaluate(self.policy, self.subject, AccessRequest(verb, self.host, target, capabilities))
        self.decisions.append(decision)
        return decision

    def can_see(self, verb: str, target: Target) -> bool:
        """May ``target`` appear in the output of the list verb ``verb``?"""
        return can_see(self.policy, self.subject, verb, target, host=self.host)

    def sees(self, target: Target) -> bool:
        """May the caller know that ``target`` exists at all (see bot.policy.scope.visible)?"""
        if self.host not in self._verbs:
            self._verbs[self.host] = held_target_verbs(self.policy, self.subject, self.host)
        return visible(self.policy, self.subject, target, host=self.host, verbs=self._verbs[self.host])

    def refusal(self, verb: str) -> Decision | None:
        """A refusal of ``verb`` whatever the target: given before anything is looked up."""
        return refusal_for_any_target(self.policy, self.subject, verb, self.host)

    def lookup(self, docker: DockerGateway) -> Lookup:
        return Lookup(docker, self.sees)


def _hidden_decision(target: Target) -> Decision:
    """What the audit records for a target answered as missing because the caller may not see it."""
    name = f"{target.kind} {target.name or target.id[:12]}"
    reason = f"The {name} is outside the caller's roles: answered as missing."
    return Decision(False, f"not visible: {name}", reason, None, None, ())


# Verbs whose target need not exist yet: judged by the name typed when nothing visible has it.
NAMED_TARGETS = frozenset({"pull", "run", "create", "volume-create", "network-create"})


class Gate:
    def __init__(self, policy: Policy, hosts: DockerHosts, groups: GroupDirectory) -> None:
        self.policy = policy
        self.hosts = hosts
        self.groups = groups
        self._policy_groups = policy_usergroups(policy)

    async def access_for(self, requester: Requester, host: str) -> Access:
        groups = await self.groups.groups_of(requester.user_id, self._policy_groups)
        subject = Subject(user_id=requester.user_id, usergroups=groups, channel_id=requester.channel_id)
        return Access(self.policy, subject, host)

    async def resolve(
        self, kind: str, ref: str, *, host: str, only: str | None = None, access: Access | None = None
    ) -> Target:
        """The object docker would act on for ``ref`` among what ``access`` may see; else a name-only Target.

        A name-only Target (no ID) stands for "nothing the caller may see": missing and hidden
        alike.  Without ``access`` nothing counts as visible, so nothing about the engine's
        objects can come back.  An unreachable engine raises DockerUnavailable: judging the
        typed name instead would answer "No such container" for a container that exists.
        """
        found = None
        if access is not None:
            lookup = access.lookup(self.hosts.gateway(host))
            found = await self._lookup(lookup, kind, ref, only)
            access.hidden.extend(lookup.hidden)
        if found is not None:
            return found
        if kind in ("volume", "network", "project"):
            return Target(kind=kind, name=ref)
        name = ref if kind == "image" else ref.lstrip("/")
        return Target(
            kind="image" if kind == "image" else "container", name=name, image=name if kind == "image" else ""
        )

    @staticmethod
    async def _lookup(lookup: Lookup, kind: str, ref: str, only: str | None) -> Target | None:
        if kind == "object":
            return await lookup.object(ref, only)
        return await lookup.of_kind(kind, ref)

    async def authorize(self, inv: Invocation, access: Access) -> list[Target]:
        """Raise Denied unless the policy allows the command on every target it names.

        Returns one Target per target argument, in order.  A target without an ID is one the
        caller may not see or that does not exist (they are not told apart): it gets no
        decision here, and the handler answers for it as docker answers for a missing one.
        """
        verb = inv.command.verb
        if (refused := access.refusal(verb)) is not None:
            access.decisions.append(refused)
            raise Denied(refused, inv.text)
        targets = await self._targets(inv, access)
        judged = [t for t in targets if t.id or verb in NAMED_TARGETS]
        checks: list[Target | None] = list(judged) if targets else [None]
        caps = requested_capabilities(inv)
        for target in checks:
            decision = access.check(verb, target, caps)
            if not decision.allowed:
                raise Denied(decision, inv.text)
        for hidden in access.hidden:  # last, so the audit record's decision is this one
            access.decisions.append(_hidden_decision(hidden))
        return targets

    async def _targets(self, inv: Invocation, access: Access) -> list[Target]:
        spec = inv.command.targets
        if spec.startswith("project:"):
            return await self._project_targets(inv, access, spec)
        if spec.endswith(":new"):
            return [new_target(inv, spec.split(":")[0])]
        if spec == "container:planned":  # run/create: the container to be, as the flag guard read it
            guarded = guard_invocation(inv)
            return [guarded.planned_container()] if guarded is not None else []
        if spec == "none" or not inv.args:
            return []
        host = access.host
        if "," in spec:  # one kind per argument: "network,container"
            pairs = list(zip(spec.split(","), inv.args, strict=False))
            return list(await asyncio.gather(*(self.resolve(k, r, host=host, access=access) for k, r in pairs)))
        if spec == "container:path":  # cp CONTAINER:PATH -: the container named before the first colon
            return [await self.resolve("container", inv.args[0].partition(":")[0], host=host, access=access)]
        refs = inv.args[:1] if spec.endswith(":first") else list(inv.args)
        kind = spec.split(":")[0]
        only = inv.opts.get("type") if kind == "object" else None
        return list(await asyncio.gather(*(self.resolve(kind, r, host=host, only=only, access=access) for r in refs)))

    async def _project_targets(self, inv: Invocation, access: Access, spec: str) -> list[Target]:
        """``-p PROJECT``: the project itself (``project:named``) or each of its visible containers.

        Nothing visible is one name-only Target: answered as a missing project, never judged.
        """
        project = project_name(inv)
        lookup = access.lookup(self.hosts.gateway(access.host))
        try:
            if spec == "project:named":
                found = await lookup.project(project)
                return [found or Target(kind="project", name=project)]
            # compose's own selection: the services named (all without), never one-off `compose run` containers.
            containers = [
                t
                for t in await lookup.project_containers(project)
                if (not inv.args or t.labels.get(SERVICE_LABEL) in inv.args)
                and str(t.labels.get(ONEOFF_LABEL, "")).lower() != "true"
            ]
            return containers or [Target(kind="container", name=project)]
        finally:
            access.hidden.extend(lookup.hidden)


def project_name(inv: Invocation) -> str:
    """The ``-p`` a compose command names; without it there is no project to act on (no compose file in chat)."""
    name = str(inv.opts.get("project_name") or "")
    if not name:
        raise ParseError(
            "no project name: give it with -p PROJECT (dockbell reads no compose file; `docker compose ls` lists them)",
            usage=f"Usage:  {inv.command.usage}",
        )
    return name


def new_target(inv: Invocation, kind: str) -> Target:
    """What ``volume create``/``network create`` will make, judged by its name and labels as asked."""
    name = str(inv.args[0] if inv.args else inv.opts.get("name") or "")
    return Target(kind=kind, name=name, labels=label_map(inv.opts.get("label") or []))


def label_map(values: list[str]) -> dict[str, str]:
    """``--label k=v`` (repeatable) as the CLI's ConvertKVStringsToMap: ``k`` alone is ``k=""``."""
    labels: dict[str, str] = {}
    for item in values:
        key, _, value = item.partition("=")
        labels[key] = value
    return labels


def requested_capabilities(inv: Invocation) -> frozenset[str]:
    """The flag capabilities a command asks for: the flag guard's for run/create/exec/update, and a volume create's.

    ``volume create -o type=none -o device=/x -o o=bind`` is a bind mount of a host path in
    disguise, so any ``-o`` asks for ``volume-opt``, as ``--mount volume-opt=`` does for run;
    a driver other than ``local`` asks for ``volume-driver:NAME``, as ``--volume-driver`` does.
    """
    caps: set[str] = set()
    guarded = guard_invocation(inv)
    if guarded is not None:  # run, create, exec, update: the flag guard's reading of the one parse
        caps |= guarded.capabilities
    if inv.command.verb == "volume-create":
        if inv.opts.get("opt"):
            caps.add("volume-opt")
        driver = str(inv.opts.get("driver") or "local")
        if driver != "local":
            caps.add(f"volume-driver:{driver}")
    return frozenset(caps)


# One reading per Invocation: the gate and the handler get the very same GuardedCommand (and
# RunSpec), so what was judged is by construction what runs.  Keyed by identity, dropped
# when the Invocation is (an Invocation is a mutable dataclass, so it cannot be hashed).
_GUARDED: dict[int, tuple[weakref.ref[Invocation], GuardedCommand | None]] = {}


def guard_invocation(inv: Invocation) -> GuardedCommand | None:
    """The flag guard's reading of a parsed command; None for a verb it does not cover.

    Built from the registry's parse (its opts, args and the flags as typed), never from the
    text again, so the capabilities judged here come from the values the handler executes.
    Read once per Invocation: every later call returns the same object.  The registry's flag
    set must hold every flag of docker's table for the verb: one missing is a programming
    error (ValueError), since the guard would not see it.
    """
    key = id(inv)
    held = _GUARDED.get(key)
    if held is not None and held[0]() is inv:
        return held[1]
    guarded = _guard(inv)
    _GUARDED[key] = (weakref.ref(inv, lambda _gone: _GUARDED.pop(key, None)), guarded)
    return guarded


def _guard(inv: Invocation) -> GuardedCommand | None:
    canon = canonical_verb(inv.command.verb)
    if canon not in GUARDED:
        return None
    names = {f.dest for f in FLAG_TABLES[canon]}
    missing = names - inv.opts.keys()
    if missing:
        raise ValueError(f"the {canon} command's flags lack {sorted(missing)} of docker's table")
    opts = {dest: value for dest, value in inv.opts.items() if dest in names}
    # -H and --help are global flags: neither is one of the verb's (update needs one of those).
    given = [name for name in inv.given if name.replace("-", "_") in names]
    return guard_parsed(canon, Parsed({**opts, "help": False}, list(inv.args), given))
