"""Volumes, networks and compose projects as targets: judged by name, labels and project; hidden = missing."""

from __future__ import annotations

import pytest

from bot.policy import AccessRequest, Subject, Target, evaluate, load_policy_text, visible
from bot.policy.verbs import canonical_verb

pytestmark = pytest.mark.unit

POLICY = load_policy_text(
    """
roles:
  admin: {allow: ["*"], flags: ["*"]}
  data: {allow: [read, volume-create, volume-rm], on: {names: ["data-*"]}}
  payments: {allow: [read, operate, network-connect], on: {labels: {team: payments}}}
  shop: {allow: [read, operate, compose-up, compose-down], on: {projects: ["shop"]}}
  plain-admin: {allow: [admin]}
bindings:
  - {users: [U_ADMIN], role: admin}
  - {users: [U_DATA], role: data}
  - {users: [U_PAY], role: payments}
  - {users: [U_SHOP], role: shop}
  - {users: [U_PLAIN], role: plain-admin}
""",
    "kinds.yml",
)


def _who(user: str) -> Subject:
    return Subject(user, frozenset(), "C1")


def _allowed(user: str, verb: str, target: Target | None, caps: frozenset[str] = frozenset()) -> bool:
    return evaluate(POLICY, _who(user), AccessRequest(verb, "local", target, caps)).allowed


DATA_VOL = Target(kind="volume", name="data-1", id="data-1")
OTHER_VOL = Target(kind="volume", name="cache", id="cache", labels={"team": "payments"})
SHOP_VOL = Target(kind="volume", name="shop_db", id="shop_db", labels={"com.docker.compose.project": "shop"})
PAY_NET = Target(kind="network", name="pay-net", id="n1", labels={"team": "payments"})
PAY_BOX = Target(kind="container", name="pay-api", id="c1", labels={"team": "payments"})
OTHER_BOX = Target(kind="container", name="search", id="c2")
SHOP = Target(kind="project", name="shop", id="shop", labels={"com.docker.compose.project": "shop"})
BLOG = Target(kind="project", name="blog", id="blog", labels={"com.docker.compose.project": "blog"})


@pytest.mark.parametrize(
    ("user", "verb", "target", "allowed"),
    [
        ("U_DATA", "volume-rm", DATA_VOL, True),  # by name
        ("U_DATA", "volume-rm", OTHER_VOL, False),
        ("U_DATA", "volume-inspect", DATA_VOL, True),
        ("U_PAY", "volume-inspect", OTHER_VOL, True),  # by label
        ("U_PAY", "volume-rm", OTHER_VOL, False),  # not granted
        ("U_SHOP", "volume-inspect", SHOP_VOL, True),  # by the compose project's label
        ("U_PAY", "network-connect", PAY_NET, True),
        ("U_PAY", "network-connect", PAY_BOX, True),
        ("U_PAY", "network-connect", OTHER_BOX, False),
        ("U_SHOP", "compose-up", SHOP, True),
        ("U_SHOP", "compose-down", BLOG, False),
        ("U_PAY", "compose-up", SHOP, False),  # a label rule says nothing about a project
        ("U_PLAIN", "network-rm", PAY_NET, True),  # admin group includes the new verbs
        ("U_PLAIN", "compose-down", BLOG, True),
        ("U_ADMIN", "volume-create", Target(kind="volume", name=""), True),
    ],
)
def test_resource_targets(user: str, verb: str, target: Target, allowed: bool) -> None:
    assert _allowed(user, verb, target) is allowed


def test_a_create_is_judged_by_the_name_and_labels_asked_for() -> None:
    assert _allowed("U_DATA", "volume-create", Target(kind="volume", name="data-new"))
    assert not _allowed("U_DATA", "volume-create", Target(kind="volume", name="other"))
    assert not _allowed("U_DATA", "volume-create", Target(kind="volume", name=""))  # anonymous: no name to match


def test_volume_options_need_a_flag_grant() -> None:
    new = Target(kind="volume", name="data-x")
    assert not _allowed("U_DATA", "volume-create", new, frozenset({"volume-opt"}))
    assert _allowed("U_ADMIN", "volume-create", new, frozenset({"volume-opt", "volume-driver:nfs"}))


def test_hidden_volumes_and_networks_are_invisible() -> None:
    assert visible(POLICY, _who("U_DATA"), DATA_VOL, host="local")
    assert not visible(POLICY, _who("U_DATA"), OTHER_VOL, host="local")
    assert visible(POLICY, _who("U_PAY"), PAY_NET, host="local")
    assert not visible(POLICY, _who("U_DATA"), PAY_NET, host="local")
    assert not visible(POLICY, _who("U_PAY"), SHOP, host="local")


def test_compose_spellings_are_the_container_verbs() -> None:
    assert canonical_verb("compose restart") == "restart"
    assert canonical_verb("compose ls") == "ps"
    assert canonical_verb("compose logs") == "logs"
    assert canonical_verb("compose down") == "compose-down"
    assert canonical_verb("network disconnect") == "network-disconnect"
