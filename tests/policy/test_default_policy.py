"""The safe default policy proposed for config/dockbell.yml loads and behaves safely."""

from __future__ import annotations

from pathlib import Path

from bot.config import load_config
from bot.policy import AccessRequest, Subject, Target, evaluate, load_policy_text

# Keep in step with the policy section shipped in config/dockbell.yml.
DEFAULT_POLICY = """
roles:
  basics:   {allow: [help, whoami, can-i], description: "what everyone may ask the bot"}
  viewer:   {allow: [read], description: "ps, images, logs, inspect, stats, top, events..."}
  operator: {allow: [read, operate], description: "start, stop, restart, kill, pause, exec, plus reads"}
  admin:    {allow: ["*"], flags: ["*"], description: "every verb; dangerous flags need approval"}

bindings:
  - {everyone: true, role: basics}
  # Nobody else has a role until you bind one (Slack IDs, not names):
  # - {users: [U012ABC], role: admin}
  # - {usergroups: [S0OPS], role: operator}
  # - {channels: [C0OPS], role: viewer}

deny:
  - {flags: [docker-socket], reason: "the Docker socket is root on the host"}
  - {verbs: [exec], on: {labels: {dockbell.no-exec: "true"}}, reason: "this container does not allow shells"}

approvals:
  - verbs: [run, create, exec, update]
    flags: ["*"]
    approvers: {usergroups: [S0CHANGEME]}
    ttl: 15m
    reason: "dangerous flags"
  - verbs: [restart, stop, kill, rm]
    on: {labels: {dockbell.protected: "true"}}
    approvers: {usergroups: [S0CHANGEME]}
    ttl: 15m
    reason: "protected container"
  - verbs: [container-prune, image-prune, volume-prune, network-prune, builder-prune, system-prune, volume-rm]
    approvers: {usergroups: [S0CHANGEME]}
    ttl: 15m
    reason: "deletes data"
"""

ANYONE = Subject("U0SOMEONE", frozenset(), "C0ANY")


def test_default_policy_loads() -> None:
    policy = load_policy_text(DEFAULT_POLICY, "config/dockbell.yml")
    assert set(policy.roles) == {"basics", "viewer", "operator", "admin"}


def test_default_policy_only_answers_help_until_someone_is_bound() -> None:
    policy = load_policy_text(DEFAULT_POLICY, "config/dockbell.yml")
    for verb in ("help", "whoami", "can-i"):
        assert evaluate(policy, ANYONE, AccessRequest(verb, "local", None)).allowed
    for verb, target in (("ps", None), ("info", None), ("restart", Target("container", "web"))):
        assert not evaluate(policy, ANYONE, AccessRequest(verb, "local", target)).allowed


def test_default_admin_needs_approval_for_flags_and_never_gets_the_socket() -> None:
    text = DEFAULT_POLICY.replace("  # - {users: [U012ABC], role: admin}", "  - {users: [U012ABC], role: admin}")
    policy = load_policy_text(text, "config/dockbell.yml")
    admin = Subject("U012ABC", frozenset(), "C0ANY")
    new = Target("container", "x", image="busybox")
    plain = evaluate(policy, admin, AccessRequest("run", "local", new))
    assert plain.allowed and plain.approval is None
    flagged = evaluate(policy, admin, AccessRequest("run", "local", new, frozenset({"privileged"})))
    assert flagged.needs_approval
    assert flagged.approval is not None and flagged.approval.name == "approvals[0] (dangerous flags)"
    socket = evaluate(policy, admin, AccessRequest("run", "local", new, frozenset({"bind:/", "docker-socket"})))
    assert (socket.allowed, socket.rule) == (False, "deny[0] (the Docker socket is root on the host)")


def test_the_shipped_config_names_a_contact() -> None:
    shipped = Path(__file__).resolve().parents[2] / "config" / "dockbell.yml"
    assert load_config(str(shipped)).policy.contact == "a dockbell admin"
