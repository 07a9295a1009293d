"""What a caller can see (bot/policy/scope.py): visibility, refusals before lookup, their hosts and counts."""

from __future__ import annotations

import pytest

from bot.policy import (
    Subject,
    Target,
    hosts_with_roles,
    load_policy_text,
    refusal_for_any_target,
    sees_whole_host,
    visible,
)
from tests.policy.test_evaluate import (
    ADMIN,
    BANNED,
    DB,
    HUB_IMAGE,
    NOBODY,
    OPS,
    PAY_CHANNEL,
    PAY_IMAGE,
    POLICY,
    PULLER,
    SEARCH,
    SECRET,
    SHOP,
    SHOP_IN_CHANNEL,
    WEB,
)


@pytest.mark.parametrize(
    ("subject", "target", "host", "seen"),
    [
        (ADMIN, SEARCH, "prod", True),
        (OPS, WEB, "prod", True),
        (OPS, SEARCH, "prod", False),  # outside the label scope
        (OPS, SECRET, "prod", True),  # hidden from ps by a deny rule, but inspect still allowed
        (OPS, DB, "prod", True),  # exec is denied there; reading is not
        (PAY_CHANNEL, SEARCH, "prod", True),  # unscoped viewer
        (NOBODY, WEB, "prod", False),  # the basics act on nothing
        (BANNED, WEB, "prod", False),  # every verb denied
        (SHOP_IN_CHANNEL, SHOP, "staging", True),
        (SHOP_IN_CHANNEL, SHOP, "prod", False),  # the role is for staging only
        (PULLER, PAY_IMAGE, "prod", True),
        (PULLER, HUB_IMAGE, "prod", False),
        (PULLER, WEB, "prod", False),  # an image role says nothing about containers
    ],
)
def test_visible(subject: Subject, target: Target, host: str, seen: bool) -> None:
    assert visible(POLICY, subject, target, host=host) is seen


def test_refusal_for_any_target_needs_no_target() -> None:
    d = refusal_for_any_target(POLICY, NOBODY, "logs", "prod")
    assert d is not None and not d.allowed and d.rule == "default: deny"
    assert d.reason == "None of your roles (helper) allows `logs`."
    assert d.hint == "role `viewer`; ask a dockbell admin"
    d = refusal_for_any_target(POLICY, SHOP_IN_CHANNEL, "restart", "prod")
    assert d is not None and d.reason == "Your roles (shop-dev, helper) allow `restart`, but not on host prod."
    d = refusal_for_any_target(POLICY, BANNED, "logs", "prod")
    assert d is not None and d.rule.startswith("deny[1]") and d.reason == "Account suspended."
    # Some target could be allowed: the answer depends on the target, so nothing is refused yet.
    assert refusal_for_any_target(POLICY, OPS, "restart", "prod") is None
    assert refusal_for_any_target(POLICY, SHOP_IN_CHANNEL, "restart", "staging") is None
    # A list verb named with targets (stats X) is refused as it would be without them.
    d = refusal_for_any_target(POLICY, NOBODY, "stats", "prod")
    assert d is not None and d.reason == "None of your roles (helper) allows `stats`."
    assert refusal_for_any_target(POLICY, OPS, "stats", "prod") is None
    # Untargeted and unknown verbs are evaluate()'s: no target to leak either way.
    assert refusal_for_any_target(POLICY, NOBODY, "version", "prod") is None
    assert refusal_for_any_target(POLICY, NOBODY, "zap", "prod") is None


def test_hosts_with_roles() -> None:
    hosts = ["prod", "staging", "lab"]
    assert hosts_with_roles(POLICY, ADMIN, hosts) == hosts
    assert hosts_with_roles(POLICY, SHOP_IN_CHANNEL, hosts) == ["staging"]
    assert hosts_with_roles(POLICY, NOBODY, hosts) == []  # help, whoami and can-i are no role on a host
    assert hosts_with_roles(POLICY, BANNED, hosts) == []


def test_sees_whole_host() -> None:
    assert sees_whole_host(POLICY, ADMIN, "prod", "images")
    assert not sees_whole_host(POLICY, ADMIN, "prod", "ps")  # the deny rule hides secret containers from ps
    assert not sees_whole_host(POLICY, OPS, "prod", "ps")
    assert sees_whole_host(POLICY, PAY_CHANNEL, "prod", "images")
    assert not sees_whole_host(POLICY, NOBODY, "prod", "images")
    plain = load_policy_text("roles:\n  v: {allow: [read]}\nbindings:\n  - {users: [U0A1], role: v}", "p")
    assert sees_whole_host(plain, Subject("U0A1", frozenset(), "C1"), "h", "ps")
