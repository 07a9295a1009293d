"""Shared policy text and subjects for the permission-layer tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.errors import UserError
from bot.policy import AccessRequest, Decision, Policy, Subject, Target, evaluate, load_policy_text
from bot.policy.flagguard import parse_command

# The policy the attacker works against: "dev" may run and exec, but only web-* containers
# from two image sources on the staging host, with three exact flag grants.
ATTACK_POLICY = """
roles:
  dev:
    allow: [read, operate, run, create, update]
    on:
      names: ["web-*"]
      images: ["busybox", "registry.example.com/team/*"]
      hosts: [staging]
    flags: ["cap-add:NET_ADMIN", "bind:/srv/data", "device:/dev/fuse"]
  payments-viewer:
    allow: [read]
    on: {labels: {team: payments}}
bindings:
  - {usergroups: [S0DEV], role: dev}
  - {channels: [C0PAY], role: payments-viewer}
deny:
  - {verbs: [exec], on: {names: ["web-db*"]}, reason: "no shells in databases"}
  - {flags: [docker-socket], reason: "the Docker socket is root on the host"}
"""

DEV = Subject("U0DEV1", frozenset({"S0DEV"}), "C0DEV")
VIEWER_IN_PAY = Subject("U0VIEW", frozenset(), "C0PAY")
VIEWER_ELSEWHERE = Subject("U0VIEW", frozenset(), "C0RANDOM")


def attack_policy() -> Policy:
    return load_policy_text(ATTACK_POLICY, "attack.yml")


def container(name: str, labels: Mapping[str, str] | None = None, image: str = "busybox") -> Target:
    return Target("container", name, id="3f2a4b5c6d7e" + "0" * 52, labels=dict(labels or {}), image=image)


def attempt(
    policy: Policy,
    subject: Subject,
    verb: str,
    argv: Sequence[str] = (),
    *,
    target: Target | None = None,
    host: str = "staging",
) -> Decision | UserError:
    """What the Slack flow will do: parse with the flag guard, then ask the gate.

    run/create check the container they would create; exec checks the given target.
    A command line docker would refuse comes back as the UserError, not a decision.
    """
    caps: frozenset[str] = frozenset()
    if verb in ("run", "create", "exec", "update", "container run", "container exec"):
        try:
            guarded = parse_command(verb, argv)
        except UserError as err:
            return err
        caps = guarded.capabilities
        if guarded.verb in ("run", "create") and target is None:
            target = guarded.planned_container()
    return evaluate(policy, subject, AccessRequest(verb, host, target, caps))
