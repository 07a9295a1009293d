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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bot.core.types import Invocation, Requester
from bot.engine.gateway import DockerGateway
from bot.engine.hosts import DockerHosts
from bot.errors import UserError
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
NAMED_TARGETS = frozenset({"pull", "run", "create"})


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
        name = ref if kind == "image" else ref.lstrip("/")
        return Target(
            kind="image" if kind == "image" else "container", name=name, image=name if kind == "image" else ""
        )

    @staticmethod
    async def _lookup(lookup: Lookup, kind: str, ref: str, only: str | None) -> Target | None:
        if kind == "object":
            return await lookup.object(ref, only)
        if kind == "image":
            return await lookup.image(ref)
        return await lookup.container(ref)

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
        for target in checks:
            decision = access.check(verb, target)
            if not decision.allowed:
                raise Denied(decision, inv.text)
        for hidden in access.hidden:  # last, so the audit record's decision is this one
            access.decisions.append(_hidden_decision(hidden))
        return targets

    async def _targets(self, inv: Invocation, access: Access) -> list[Target]:
        spec = inv.command.targets
        if spec == "none" or not inv.args:
            return []
        refs = inv.args[:1] if spec.endswith(":first") else list(inv.args)
        kind = spec.split(":")[0]
        only = inv.opts.get("type") if kind == "object" else None
        host = access.host
        return list(await asyncio.gather(*(self.resolve(kind, r, host=host, only=only, access=access) for r in refs)))
