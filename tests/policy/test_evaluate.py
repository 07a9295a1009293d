"""The gate: table-driven decisions, the rule that decided, and what would allow it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.policy import (
    AccessRequest,
    Policy,
    RoleBinding,
    Subject,
    Target,
    allowed_verbs,
    can_see,
    evaluate,
    load_policy_text,
    roles_of,
)
from bot.policy.verbs import READ

POLICY = load_policy_text(
    """
roles:
  viewer:   {allow: [read]}
  operator: {allow: [read, operate], on: {labels: {team: payments}}}
  admin:    {allow: ["*"], flags: ["*"]}
  shop-dev: {allow: [logs, restart], on: {projects: [shop], hosts: [staging]}}
  puller:   {allow: [pull, images], on: {images: ["registry.example.com/payments/*"]}}
  net-runner:
    allow: [run]
    on: {images: [busybox], labels: {team: payments}}
    flags: ["cap-add:NET_ADMIN", "bind:/srv/data/**"]
  helper:   {allow: [help, whoami, can-i]}
bindings:
  - {users: [U012ABC], role: admin}
  - {usergroups: [S0OPS], role: operator}
  - {channels: [C0PAYMENTS], role: viewer}
  - {usergroups: [S0SHOP], channels: [C0SHOP], role: shop-dev}
  - {users: [U0PULL], role: puller}
  - {users: [U0NET], role: net-runner}
  - {everyone: true, role: helper}
deny:
  - {verbs: [exec], on: {names: ["db-*"]}, reason: "no shells in databases"}
  - {verbs: ["*"], users: [U0BANNED], reason: "account suspended"}
  - {verbs: [ps], on: {labels: {secret: "true"}}, reason: "secret containers are hidden"}
approvals:
  - {verbs: [restart, stop, rm], on: {labels: {dockbell.protected: "true"}}, approvers: {usergroups: [S0OPS]},
     count: 1, ttl: 15m, reason: protected}
  - {verbs: [run], flags: ["*"], approvers: {users: [U012ABC]}}
""",
    "policy.yml",
)

ADMIN = Subject("U012ABC", frozenset(), "C0ANY")
OPS = Subject("U0OPS1", frozenset({"S0OPS"}), "C0ANY")
PAY_CHANNEL = Subject("U0RANDOM", frozenset(), "C0PAYMENTS")
SHOP_IN_CHANNEL = Subject("U0SHOP1", frozenset({"S0SHOP"}), "C0SHOP")
SHOP_ELSEWHERE = Subject("U0SHOP1", frozenset({"S0SHOP"}), "C0OTHER")
PULLER = Subject("U0PULL", frozenset(), "C0ANY")
NET = Subject("U0NET", frozenset(), "C0ANY")
NOBODY = Subject("U0NOBODY", frozenset(), "C0ANY")
BANNED = Subject("U0BANNED", frozenset({"S0OPS"}), "C0ANY")

WEB = Target("container", "/web-1", labels={"team": "payments"}, image="busybox")
PROTECTED = Target("container", "ledger", labels={"team": "payments", "dockbell.protected": "true"})
DB = Target("container", "db-1", labels={"team": "payments"})
SEARCH = Target("container", "search-1", labels={"team": "search"})
SHOP = Target("container", "shop-web-1", labels={"com.docker.compose.project": "shop"})
SECRET = Target("container", "vault", labels={"secret": "true", "team": "payments"})
PAY_IMAGE = Target("image", "registry.example.com/payments/api:v2")
HUB_IMAGE = Target("image", "busybox")


@dataclass(frozen=True)
class Case:
    id: str
    subject: Subject
    verb: str
    target: Target | None
    allowed: bool
    rule: str
    host: str = "prod"
    caps: frozenset[str] = frozenset()
    approval: str | None = None


CASES = [
    Case("admin-anything", ADMIN, "rm", SEARCH, True, "role admin via user U012ABC"),
    Case("admin-prune", ADMIN, "system prune", None, True, "role admin via user U012ABC"),
    Case("admin-audit", ADMIN, "audit", None, True, "role admin via user U012ABC"),
    Case("admin-deny-still-wins", ADMIN, "exec", DB, False, "deny[0] (no shells in databases)"),
    Case("ops-restart-payments", OPS, "restart", WEB, True, "role operator via usergroup S0OPS"),
    Case("ops-restart-alias", OPS, "container restart", WEB, True, "role operator via usergroup S0OPS"),
    Case("ops-restart-search", OPS, "restart", SEARCH, False, "default: deny"),
    Case("ops-rm-payments", OPS, "rm", WEB, False, "default: deny"),
    Case("ops-exec-web", OPS, "exec", WEB, True, "role operator via usergroup S0OPS"),
    Case("ops-exec-db", OPS, "exec", DB, False, "deny[0] (no shells in databases)"),
    Case(
        "ops-exec-privileged",
        OPS,
        "exec",
        WEB,
        False,
        "flag guard: exec-privileged",
        caps=frozenset({"exec-privileged"}),
    ),
    Case("ops-ps-lists", OPS, "ps", None, True, "role operator via usergroup S0OPS"),
    Case("ops-info-host-wide", OPS, "info", None, False, "default: deny"),
    Case("ops-prune-host-wide", OPS, "container prune", None, False, "default: deny"),
    Case(
        "ops-restart-protected",
        OPS,
        "restart",
        PROTECTED,
        True,
        "role operator via usergroup S0OPS",
        approval="approvals[0] (protected)",
    ),
    Case("ops-logs-protected-no-approval", OPS, "logs", PROTECTED, True, "role operator via usergroup S0OPS"),
    Case("channel-viewer-reads", PAY_CHANNEL, "logs", SEARCH, True, "role viewer via channel C0PAYMENTS"),
    Case("channel-viewer-info", PAY_CHANNEL, "info", None, True, "role viewer via channel C0PAYMENTS"),
    Case("channel-viewer-no-restart", PAY_CHANNEL, "restart", WEB, False, "default: deny"),
    Case(
        "and-binding-in-channel",
        SHOP_IN_CHANNEL,
        "restart",
        SHOP,
        True,
        "role shop-dev via usergroup S0SHOP in channel C0SHOP",
        host="staging",
    ),
    Case("and-binding-wrong-host", SHOP_IN_CHANNEL, "restart", SHOP, False, "default: deny", host="prod"),
    Case("and-binding-other-channel", SHOP_ELSEWHERE, "restart", SHOP, False, "default: deny", host="staging"),
    Case("project-does-not-match-name", SHOP_IN_CHANNEL, "restart", WEB, False, "default: deny", host="staging"),
    Case("puller-pulls-payments", PULLER, "pull", PAY_IMAGE, True, "role puller via user U0PULL"),
    Case("puller-hub-image", PULLER, "pull", HUB_IMAGE, False, "default: deny"),
    Case("puller-images-lists", PULLER, "images", None, True, "role puller via user U0PULL"),
    Case("pull-needs-image-target", PULLER, "pull", WEB, False, "default: deny"),
    Case("everyone-help", NOBODY, "help", None, True, "role helper via everyone"),
    Case("everyone-no-ps", NOBODY, "ps", None, False, "default: deny"),
    Case("banned", BANNED, "ps", None, False, "deny[1] (account suspended)"),
    Case("hidden-from-ps", OPS, "ps", SECRET, False, "deny[2] (secret containers are hidden)"),
    Case("secret-logs-fine", OPS, "logs", SECRET, True, "role operator via usergroup S0OPS"),
    Case(
        "net-run-granted-flag",
        NET,
        "run",
        Target("container", "", labels={"team": "payments"}, image="busybox"),
        True,
        "role net-runner via user U0NET",
        caps=frozenset({"cap-add:NET_ADMIN", "bind:/srv/data/x"}),
        approval="approvals[1]",
    ),
    Case(
        "net-run-no-flags",
        NET,
        "run",
        Target("container", "", labels={"team": "payments"}, image="busybox"),
        True,
        "role net-runner via user U0NET",
    ),
    Case(
        "net-run-ungranted-flag",
        NET,
        "run",
        Target("container", "", labels={"team": "payments"}, image="busybox"),
        False,
        "flag guard: cap-add:SYS_ADMIN, privileged",
        caps=frozenset({"cap-add:NET_ADMIN", "cap-add:SYS_ADMIN", "privileged"}),
    ),
    Case("net-run-unlabelled", NET, "run", Target("container", "x", image="busybox"), False, "default: deny"),
    Case("unknown-verb", ADMIN, "frobnicate", None, False, "default: deny"),
    Case("verb-case", ADMIN, "RM", SEARCH, False, "default: deny"),
    Case("restart-without-target", ADMIN, "restart", None, False, "default: deny"),
    Case("bad-target-kind", ADMIN, "restart", Target("volume", "x"), False, "default: deny"),
    Case("exec-on-image", ADMIN, "exec", HUB_IMAGE, False, "default: deny"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_decisions(case: Case) -> None:
    decision = evaluate(POLICY, case.subject, AccessRequest(case.verb, case.host, case.target, case.caps))
    assert (decision.allowed, decision.rule) == (case.allowed, case.rule), decision.reason
    assert (decision.approval.name if decision.approval else None) == case.approval
    assert decision.reason.endswith(".")
    malformed = case.id in (
        "unknown-verb",
        "pull-needs-image-target",
        "restart-without-target",
        "bad-target-kind",
        "exec-on-image",
    )
    if not decision.allowed and not malformed:
        assert decision.hint


def test_denial_explains_and_hints() -> None:
    d = evaluate(POLICY, OPS, AccessRequest("restart", "prod", SEARCH))
    assert d.reason == "Your roles (operator, helper) allow `restart`, but not on container search-1 on host prod."
    # What is lacking and whom to ask; never who holds the role (issue 8).
    assert d.hint == "role `admin`; ask a dockbell admin"
    d = evaluate(POLICY, NOBODY, AccessRequest("logs", "prod", WEB))
    assert d.reason == "None of your roles (helper) allows `logs`."
    assert d.hint == "role `viewer`; ask a dockbell admin"
    assert "C0PAYMENTS" not in d.hint and "U012ABC" not in d.hint
    d = evaluate(Policy.empty(), NOBODY, AccessRequest("ps", "prod", None))
    assert d.reason == "You have no dockbell role here."
    assert d.hint == "a role granting `ps` on host prod; ask a dockbell admin"
    d = evaluate(POLICY, OPS, AccessRequest("exec", "prod", DB))
    assert d.reason == "No shells in databases."
    assert "deny[0]" in (d.hint or "")


def test_flag_hint_names_the_flag() -> None:
    d = evaluate(POLICY, OPS, AccessRequest("exec", "prod", WEB, frozenset({"exec-privileged"})))
    assert d.reason == (
        "exec --privileged needs an explicit grant (exec-privileged), which your role operator does not give."
    )
    assert d.hint == "role `admin`; ask a dockbell admin"
    policy = load_policy_text("roles:\n  r: {allow: [exec]}\nbindings:\n  - {users: [U0A1], role: r}", "p")
    d = evaluate(policy, Subject("U0A1", frozenset(), "C1"), AccessRequest("exec", "h", WEB, frozenset({"user:root"})))
    assert d.hint == "a role granting `exec` on container web-1 on host h with flags: [user:root]; ask a dockbell admin"


def test_refusals_name_the_configured_contact() -> None:
    text = "contact: '#ops or @oncall'\nroles:\n  r: {allow: [ps]}\nbindings:\n  - {users: [U0A1], role: r}"
    policy = load_policy_text(text, "p")
    d = evaluate(policy, Subject("U0A1", frozenset(), "C1"), AccessRequest("logs", "h", WEB))
    assert d.hint == "a role granting `logs` on container web-1 on host h; ask #ops or @oncall"
    d = evaluate(policy, Subject("U0A1", frozenset(), "C1"), AccessRequest("zap", "h", WEB))
    assert not d.allowed


def test_empty_policy_denies_everything() -> None:
    for verb in ("ps", "help", "whoami", "restart", "run"):
        d = evaluate(Policy.empty(), ADMIN, AccessRequest(verb, "h", WEB if verb in ("restart", "run") else None))
        assert not d.allowed
        assert d.rule == "default: deny"


def test_roles_of_for_whoami() -> None:
    assert roles_of(POLICY, OPS) == [
        RoleBinding("operator", "usergroup S0OPS", 1),
        RoleBinding("helper", "everyone", 6),
    ]
    assert roles_of(POLICY, SHOP_IN_CHANNEL)[0].via == "usergroup S0SHOP in channel C0SHOP"
    assert [rb.role for rb in roles_of(POLICY, SHOP_ELSEWHERE)] == ["helper"]
    assert str(roles_of(POLICY, PAY_CHANNEL)[0]) == "viewer (via channel C0PAYMENTS)"
    d = evaluate(POLICY, OPS, AccessRequest("ps", "prod", None))
    assert d.roles == ("operator", "helper")


def test_allowed_verbs_for_help() -> None:
    assert allowed_verbs(POLICY, PAY_CHANNEL) == READ | {"help", "whoami", "can-i"}
    assert allowed_verbs(POLICY, NOBODY) == {"help", "whoami", "can-i"}
    assert allowed_verbs(POLICY, BANNED) == set()
    assert allowed_verbs(Policy.empty(), ADMIN) == set()


def test_can_see_filters_list_output() -> None:
    seen = [t.name for t in (WEB, DB, SEARCH, SECRET) if can_see(POLICY, OPS, "ps", t, host="prod")]
    assert seen == ["/web-1", "db-1"]
    assert can_see(POLICY, PULLER, "images", PAY_IMAGE, host="prod")
    assert not can_see(POLICY, PULLER, "images", HUB_IMAGE, host="prod")


def test_errors_fail_closed() -> None:
    weird = Subject("U012ABC", ["S0OPS"], "C1")  # type: ignore[arg-type]
    d = evaluate(POLICY, weird, AccessRequest("ps", "prod", None))
    assert (d.allowed, d.rule) == (False, "error")
    d = evaluate(POLICY, ADMIN, AccessRequest("ps", "prod", None, frozenset({1})))  # type: ignore[arg-type]
    assert (d.allowed, d.rule) == (False, "error")
    d = evaluate(POLICY, ADMIN, AccessRequest(None, "prod", None))  # type: ignore[arg-type]
    assert (d.allowed, d.rule) == (False, "error")
    d = evaluate(None, ADMIN, AccessRequest("ps", "prod", None))  # type: ignore[arg-type]
    assert (d.allowed, d.rule) == (False, "error")
    assert allowed_verbs(None, ADMIN) == set()  # type: ignore[arg-type]
