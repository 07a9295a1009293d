"""The loader reports every mistake with file, line and field, and builds the policy."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from bot.errors import ConfigError
from bot.policy import Policy, PolicyError, load_policy, load_policy_text, yaml_with_lines
from bot.policy.verbs import ADMIN, OPERATE, READ

GOOD = """
roles:
  viewer:   {allow: [read]}
  operator: {allow: [read, operate], on: {labels: {team: payments}}}
  admin:    {allow: ["*"], flags: ["*"], description: "full access"}
bindings:
  - {users: [U012ABC], role: admin}
  - {usergroups: [S0OPS], role: operator}
  - {channels: [C0PAYMENTS], role: viewer}
deny:
  - {verbs: [exec], on: {names: ["db-*"]}, reason: "no shells in databases"}
approvals:
  - {verbs: [restart, stop, rm], on: {labels: {dockbell.protected: "true"}}, approvers: {usergroups: [S0OPS]},
     count: 1, ttl: 15m}
"""


def problems(text: str, source: str = "policy.yml") -> list[str]:
    with pytest.raises(PolicyError) as err:
        load_policy_text(textwrap.dedent(text), source)
    return [p.render(source) for p in err.value.problems]


def test_the_issue_example_loads() -> None:
    policy = load_policy_text(GOOD, "policy.yml")
    assert set(policy.roles) == {"viewer", "operator", "admin"}
    assert policy.roles["viewer"].verbs == READ
    assert policy.roles["operator"].verbs == READ | OPERATE
    assert policy.roles["admin"].verbs >= ADMIN | READ | OPERATE
    assert policy.roles["operator"].on.labels[0][0] == "team"
    assert [b.role for b in policy.bindings] == ["admin", "operator", "viewer"]
    assert policy.deny[0].name == "deny[0] (no shells in databases)"
    approval = policy.approvals[0]
    assert (approval.count, approval.ttl_seconds, approval.approvers.usergroups) == (1, 900, frozenset({"S0OPS"}))
    assert policy.source == "policy.yml"


def test_on_survives_yaml_1_1_safe_load() -> None:
    # yaml.safe_load turns the key `on:` into True; the config loader may hand us that.
    data = yaml.safe_load(GOOD)
    assert True in data["roles"]["operator"]
    policy = load_policy(data, "dockbell.yml")
    assert policy.roles["operator"].on.labels


def test_empty_policy_denies_everything() -> None:
    assert load_policy(None, "x.yml") == Policy.empty("x.yml")
    assert load_policy_text("", "x.yml").roles == {}


def test_several_mistakes_are_reported_at_once_with_line_and_field() -> None:
    found = problems(
        """\
        roles:
          viewer: {allow: [raed]}
          operator:
            allow: [read, restrat]
            on: {lables: {team: x}}
            flags: [privilged]
        bindings:
          - {users: [alice], role: viewr}
          - {usergroups: [S0OPS], role: operator, channel: [C1]}
        deny:
          - {verbs: [exec], on: {names: ["db-[*"]}}
        approvals:
          - {verbs: [rm], approvers: {users: [U1AB]}, count: 2, ttl: 15 minutes}
        """
    )
    assert found == [
        "policy.yml:2: roles.viewer.allow[0]: unknown verb or group 'raed' (did you mean 'read'?); "
        "groups are read, operate, admin, *",
        "policy.yml:4: roles.operator.allow[1]: unknown verb or group 'restrat' (did you mean 'restart'?); "
        "groups are read, operate, admin, *",
        "policy.yml:5: roles.operator.on.lables: unknown key 'lables' (did you mean 'labels'?); "
        "allowed: names, labels, projects, images, hosts",
        "policy.yml:6: roles.operator.flags[0]: unknown flag capability 'privilged'",
        "policy.yml:8: bindings[0].role: role 'viewr' is not defined under roles (did you mean 'viewer'?)",
        "policy.yml:8: bindings[0].users[0]: 'alice' is not a Slack user ID like U012ABC (use IDs: names can change)",
        "policy.yml:9: bindings[1].channel: unknown key 'channel' (did you mean 'channels'?); "
        "allowed: users, usergroups, channels, everyone, role",
        "policy.yml:11: deny[0]: missing 'reason' (shown to the person refused)",
        "policy.yml:11: deny[0].on.names[0]: pattern 'db-[*': unclosed '['",
        "policy.yml:13: approvals[0].count: needs 2 approvals but only 1 approver listed",
        "policy.yml:13: approvals[0].ttl: expected a duration such as 15m, 1h or 90s; got '15 minutes'",
    ]


def test_the_message_names_the_file_and_counts() -> None:
    with pytest.raises(ConfigError) as err:
        load_policy_text("roles:\n  a: {allow: [nope]}\n  b: {allow: [zap]}\n", "cfg/dockbell.yml")
    text = str(err.value)
    assert text.startswith("cfg/dockbell.yml: 2 problems in the permission policy:")
    assert "cfg/dockbell.yml:2: roles.a.allow[0]" in text
    assert "cfg/dockbell.yml:3: roles.b.allow[0]" in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("roles: [viewer]", "1: roles: expected a mapping of role name"),
        ("- a", "1: expected a mapping with keys roles, bindings, deny, approvals, contact"),
        ("contact: ''", "1: contact: expected who to ask for access"),
        ("contact: [ops]", "1: contact: expected who to ask for access"),
        ("contact: \"a\\nb\"", "1: contact: expected who to ask for access"),
        ("contact: " + "x" * 201, "1: contact: keep it to 200 characters"),
        ("rolez: {}", "1: rolez: unknown key 'rolez' (did you mean 'roles'?)"),
        ("roles:\n  '1x': {allow: [read]}", "2: roles.1x: role names are letters"),
        ("roles:\n  a: {on: {}}", "2: roles.a: missing 'allow'"),
        ("roles:\n  a: {allow: []}", "2: roles.a.allow: expected a non-empty list of verbs or groups"),
        ("roles:\n  a: {allow: [read], flags: [privileged]}", "2: roles.a.flags: flags only matter for run"),
        ("roles:\n  a: {allow: [run], flags: [cap-add]}", "roles.a.flags[0]: 'cap-add' needs a value"),
        ("roles:\n  a: {allow: [run], flags: ['bind:/srv/*']}", "only a trailing /** may widen"),
        ("roles:\n  a: {allow: [run], flags: ['bind:srv']}", "the host path must be absolute"),
        ("roles:\n  a: {allow: [read], on: {names: []}}", "roles.a.on.names: expected a non-empty list"),
        ("roles:\n  a: {allow: [read], on: {names: ['wеb-*']}}", "character 'е' is non-ASCII"),
        ("roles:\n  a: {allow: [read], on: {images: ['BusyBox']}}", "repository names are lower-case"),
        ("roles:\n  a: {allow: [read], on: {labels: [team]}}", "on.labels: expected a mapping of label"),
        ("roles:\n  a: {allow: [read], on: {labels: {team: [x]}}}", "expected a label value (text)"),
        ("roles:\n  a: {allow: [read], on: {hosts: ['prod/1']}}", "character '/' is not allowed here"),
        ("bindings:\n  - {users: [U1AB], role: ghost}", "2: bindings[0].role: role 'ghost' is not defined"),
        ("roles: {a: {allow: [read]}}\nbindings:\n  - {role: a}", "3: bindings[0]: say who gets the role"),
        ("roles: {a: {allow: [read]}}\nbindings:\n  - {users: [U1AB]}", "3: bindings[0]: missing 'role'"),
        ("roles: {a: {allow: [read]}}\nbindings:\n  - {everyone: yes, role: a}", "everyone can only be true"),
        ("roles: {a: {allow: [read]}}\nbindings:\n  - {usergroups: [ops], role: a}", "is not a Slack user group"),
        ("roles: {a: {allow: [read]}}\nbindings:\n  - {channels: ['#ops'], role: a}", "is not a Slack channel ID"),
        ("deny:\n  - {reason: x}", "2: deny[0]: say what is denied"),
        ("deny:\n  - {verbs: ['*'], reason: ''}", "deny[0].reason: expected a reason"),
        ("approvals:\n  - {verbs: [rm]}", "2: approvals[0]: missing 'approvers'"),
        ("approvals:\n  - {verbs: [rm], approvers: {}}", "approvals[0].approvers: name at least one approver"),
        ("approvals:\n  - {verbs: [rm], approvers: {users: [U1AB]}, count: 0}", "approvals[0].count: expected a whole"),
        ("approvals:\n  - {verbs: [rm], approvers: {users: [U1AB]}, count: true}", "approvals[0].count"),
        ("approvals:\n  - {verbs: [rm], approvers: {users: [U1AB]}, ttl: 0m}", "approvals[0].ttl"),
        ("approvals:\n  - {verbs: [rm], approvers: {teams: [x]}}", "approvers.teams: unknown key 'teams'"),
        ("roles:\n  a: {allow: [read]}\n  a: {allow: [operate]}", "3: roles.a: duplicate key"),
    ],
)
def test_each_mistake(text: str, expected: str) -> None:
    found = "\n".join(problems(text))
    assert expected in found


def test_contact_is_kept() -> None:
    assert load_policy_text("contact: '#ops or @oncall'", "p").contact == "#ops or @oncall"
    assert load_policy_text("roles: {}", "p").ask == "a dockbell admin"


def test_invalid_yaml_names_the_line() -> None:
    with pytest.raises(ConfigError, match=r"^p\.yml:3: not valid YAML"):
        load_policy_text("roles:\n  a: {allow: [read]}\n  b: @x\n", "p.yml")


def test_lines_and_prefix_for_a_policy_inside_the_config_file() -> None:
    text = "output: {preview_lines: 5}\npermissions:\n  roles:\n    viewer: {allow: [reed]}\n"
    data, lines = yaml_with_lines(text, "dockbell.yml")
    assert isinstance(data, dict)
    with pytest.raises(PolicyError) as err:
        load_policy(data["permissions"], "dockbell.yml", lines=lines, prefix=("permissions",))
    assert (
        err.value.problems[0]
        .render("dockbell.yml")
        .startswith("dockbell.yml:4: permissions.roles.viewer.allow[0]: unknown verb or group 'reed'")
    )


def test_aliases_and_groups_expand() -> None:
    policy = load_policy_text("roles:\n  a: {allow: [container rm, image ls, system prune, 'container  ls']}", "p")
    assert policy.roles["a"].verbs == {"rm", "images", "system-prune", "ps"}


def test_label_values_that_yaml_reads_as_booleans_are_text() -> None:
    policy = load_policy_text("roles:\n  a: {allow: [read], on: {labels: {protected: true, n: 3}}}", "p")
    assert [(k, g.pattern) for k, g in policy.roles["a"].on.labels] == [("protected", "true"), ("n", "3")]


def test_yaml_1_1_booleans_are_not_booleans_here() -> None:
    # `no` is a verb-like word nobody wants turned into False; only true/false are booleans
    with pytest.raises(PolicyError, match="unknown verb or group 'no'"):
        load_policy_text("roles:\n  a: {allow: [no]}", "p")
