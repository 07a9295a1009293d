"""The permission gate in the command flow: who is asking, what they target, may they.

The policy itself is pure (bot/policy); this module does the I/O around it: user
group membership from Slack (cached briefly), and the real identity of targets
from Docker (a name or ID prefix is resolved by the engine first, so the policy
always judges the container docker would act on, never the spelling typed).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.core.types import Invocation, Requester
from bot.engine.hosts import DockerHosts
from bot.errors import DockerUnavailable, NotFound, UserError
from bot.policy import AccessRequest, Decision, Policy, Subject, Target, can_see, evaluate
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


def container_target(info: dict[str, Any]) -> Target:
    """A Target from an inspect document or a list item (both shapes of the Engine API)."""
    if "Names" in info:  # list item
        names = info.get("Names") or [""]
        name = names[0]
        labels = info.get("Labels") or {}
        image = info.get("Image", "")
    else:
        name = info.get("Name", "")
        labels = (info.get("Config") or {}).get("Labels") or {}
        image = (info.get("Config") or {}).get("Image", "")
    return Target(kind="container", name=name.lstrip("/"), id=info.get("Id", ""), labels=labels, image=image)


def image_target(info: dict[str, Any], ref: str) -> Target:
    tags = info.get("RepoTags") or []
    name = ref if ref in tags or not tags else tags[0]
    labels = (info.get("Config") or {}).get("Labels") or info.get("Labels") or {}
    return Target(kind="image", name=name, id=info.get("Id", ""), labels=labels, image=name)


@dataclass
class Access:
    """The caller's standing for one command: used by the gate and by handlers that filter lists."""

    policy: Policy
    subject: Subject
    host: str
    decisions: list[Decision] = field(default_factory=list)

    def check(self, verb: str, target: Target | None, capabilities: frozenset[str] = frozenset()) -> Decision:
        decision = evaluate(self.policy, self.subject, AccessRequest(verb, self.host, target, capabilities))
        self.decisions.append(decision)
        return decision

    def can_see(self, verb: str, target: Target) -> bool:
        return can_see(self.policy, self.subject, verb, target, host=self.host)


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

    async def resolve(self, kind: str, ref: str, *, host: str, only: str | None = None) -> Target:
        """The object docker would act on for ``ref``; a name-only Target when there is none."""
        docker = self.hosts.gateway(host)
        if kind in ("container", "object") and only in (None, "container"):
            try:
                return container_target(await docker.inspect_container(ref))
            except (NotFound, DockerUnavailable):
                pass
        if kind in ("image", "object") and only in (None, "image"):
            try:
                return image_target(await docker.inspect_image(ref), ref)
            except (NotFound, DockerUnavailable):
                pass
        # Judged by the name alone: refusing it reveals nothing about whether it exists.
        return Target(kind="image" if kind == "image" else "container", name=ref.lstrip("/"))

    async def authorize(self, inv: Invocation, access: Access) -> list[Target]:
        """Raise Denied unless the policy allows the command on every target it names."""
        verb = inv.command.verb
        targets = await self._targets(inv, access.host)
        checks: list[Target | None] = list(targets) or [None]
        for target in checks:
            decision = access.check(verb, target)
            if not decision.allowed:
                raise Denied(decision, inv.text)
        return targets

    async def _targets(self, inv: Invocation, host: str) -> list[Target]:
        spec = inv.command.targets
        if spec == "none" or not inv.args:
            return []
        refs = inv.args[:1] if spec.endswith(":first") else list(inv.args)
        kind = spec.split(":")[0]
        only = inv.opts.get("type") if kind == "object" else None
        return list(await asyncio.gather(*(self.resolve(kind, r, host=host, only=only) for r in refs)))
