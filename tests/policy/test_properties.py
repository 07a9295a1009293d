"""Properties: the guard and the loader only fail the documented way; the gate never raises."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import ConfigError, UserError
from bot.policy import AccessRequest, Decision, Policy, Subject, Target, evaluate, load_policy
from bot.policy.caps import FAMILIES
from bot.policy.flagguard import FLAG_TABLES, capabilities
from bot.policy.verbs import VERBS
from tests.policy.helpers import attack_policy

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GUARDED = sorted(FLAG_TABLES)

_spellings: list[str] = []
for _flags in FLAG_TABLES.values():
    for _f in _flags:
        _spellings += [f"--{_f.name}", f"--{_f.name}="]
        if _f.short:
            _spellings += [f"-{_f.short}", f"-{_f.short}="]
VALUES = st.sampled_from(
    ["/", "/:/h", "/var/run:/x", "host", "container:x", "ALL", "true", "false", "0", "root", "busybox", "--", "-",
     "type=bind,src=/,dst=/h", "name=host", "seccomp=unconfined", "a=b", '"', "", "~", "./x:/y", "C:/x:/y"]
)  # fmt: skip
TOKENS = st.one_of(
    st.sampled_from(_spellings),
    VALUES,
    st.builds(lambda a, b: a + b, st.sampled_from(_spellings), VALUES),
    st.text(max_size=12),
)


@SETTINGS
@given(verb=st.sampled_from(GUARDED), argv=st.lists(TOKENS, max_size=12))
def test_capabilities_returns_or_raises_a_user_error(verb: str, argv: list[str]) -> None:
    try:
        caps = capabilities(verb, argv)
    except UserError:
        return
    assert isinstance(caps, frozenset)
    assert all(c.partition(":")[0] in FAMILIES for c in caps)


@SETTINGS
@given(argv=st.lists(TOKENS, max_size=12))
def test_words_after_the_image_never_count(argv: list[str]) -> None:
    assert capabilities("run", ["busybox", *argv]) == frozenset()
    assert capabilities("exec", ["web-1", "sh", *argv]) == frozenset()


# (long name, short letter or None, sample values)
DANGEROUS = [
    ("volume", "v", ["/:/h", "/srv/data:/d", "data:/d", "/var/run:/x"]),
    ("mount", None, ["type=bind,src=/,dst=/h", "type=volume,dst=/v", "type=bind,source=/etc,target=/e"]),
    ("cap-add", None, ["ALL", "net_admin", "CAP_SYS_ADMIN"]),
    ("network", None, ["host", "bridge", "name=host,alias=a"]),
    ("net", None, ["host", "container:db"]),
    ("pid", None, ["host", "container:db", ""]),
    ("security-opt", None, ["seccomp=unconfined", "label:disable", "no-new-privileges"]),
    ("device", None, ["/dev/sda", "/dev/fuse:/dev/fuse"]),
    ("env", "e", ["A=1", "SECRET"]),
    ("user", "u", ["0", "root", "1000"]),
]


def _spell(name: str, short: str | None, value: str, style: int) -> list[str]:
    if style == 0:
        return [f"--{name}={value}"]
    if style == 1 or short is None:
        return [f"--{name}", value]
    if style == 2:
        return [f"-{short}{value}"] if value and not value.startswith("=") else [f"-{short}", value]
    return [f"-{short}", value]


@SETTINGS
@given(
    picks=st.lists(st.tuples(st.integers(0, len(DANGEROUS) - 1), st.integers(0, 3), st.integers(0, 3)), max_size=6),
    privileged=st.sampled_from(["", "--privileged", "--privileged=true", "--privileged=1", "--privileged=false"]),
)
def test_every_spelling_asks_for_the_same_capabilities(picks: list[tuple[int, int, int]], privileged: str) -> None:
    def argv(style_override: int | None) -> list[str]:
        words = [privileged] if privileged else []
        for index, value_index, style in picks:
            name, short, values = DANGEROUS[index]
            words += _spell(
                name, short, values[value_index % len(values)], style if style_override is None else style_override
            )
        return [*words, "busybox", "sh"]

    def outcome(words: list[str]) -> frozenset[str] | str:
        # a combination docker refuses (two network modes, an alias on host) is refused alike
        try:
            return capabilities("run", words)
        except UserError as err:
            return err.message

    canonical = outcome(argv(0))
    assert outcome(argv(None)) == canonical
    assert outcome(argv(1)) == canonical


POLICY_KEYS = ["roles", "bindings", "deny", "approvals", "allow", "on", "flags", "users", "usergroups", "channels",
               "everyone", "role", "verbs", "reason", "approvers", "count", "ttl", "names", "labels", "projects",
               "images", "hosts", "viewer", "description"]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=True),
    st.sampled_from(["read", "*", "U012ABC", "S0OPS", "C0PAY", "web-*", "[", "bind:/", "15m", "viewer", "cap-add:*"]),
    st.text(max_size=8),
)
POLICY_DATA = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(POLICY_KEYS), st.text(max_size=5), st.integers()), children, max_size=5
        ),
    ),
    max_leaves=25,
)


@SETTINGS
@given(data=POLICY_DATA)
def test_load_policy_returns_or_raises_config_error(data: Any) -> None:
    try:
        policy = load_policy(data, "fuzz.yml")
    except ConfigError as err:
        assert str(err).startswith("fuzz.yml")
        return
    assert isinstance(policy, Policy)


TEXT_IDS = st.one_of(st.sampled_from(["U0DEV1", "S0DEV", "C0PAY", "C0DEV", "U012ABC", ""]), st.text(max_size=6))
SUBJECTS = st.builds(Subject, TEXT_IDS, st.frozensets(TEXT_IDS, max_size=3), TEXT_IDS)
TARGETS = st.one_of(
    st.none(),
    st.builds(
        Target,
        st.sampled_from(["container", "image", "host", "volume", ""]),
        st.one_of(st.sampled_from(["web-1", "/web-db1", "busybox", "wеb-1", "a" * 64]), st.text(max_size=10)),
        st.text(max_size=6),
        st.dictionaries(st.sampled_from(["team", "com.docker.compose.project", "x"]), st.text(max_size=8), max_size=3),
        st.one_of(st.sampled_from(["busybox", "registry.example.com/team/a", ""]), st.text(max_size=10)),
    ),
)
REQUESTS = st.builds(
    AccessRequest,
    st.one_of(st.sampled_from(sorted(VERBS)), st.text(max_size=10)),
    st.sampled_from(["staging", "prod", ""]),
    TARGETS,
    st.frozensets(
        st.one_of(
            st.sampled_from(["privileged", "bind:/srv/data", "cap-add:net_admin", "bind:/"]), st.text(max_size=8)
        ),
        max_size=3,
    ),
)
ATTACK = attack_policy()


@SETTINGS
@given(subject=SUBJECTS, request=REQUESTS)
def test_evaluate_never_raises(subject: Subject, request: AccessRequest) -> None:
    decision = evaluate(ATTACK, subject, request)
    assert isinstance(decision, Decision)
    assert decision.rule != "error", decision
    if decision.allowed:
        assert decision.rule.startswith("role ")
    assert not evaluate(Policy.empty(), subject, request).allowed


@SETTINGS
@given(data=POLICY_DATA, subject=SUBJECTS, request=REQUESTS)
def test_evaluate_never_raises_on_any_loadable_policy(data: Any, subject: Subject, request: AccessRequest) -> None:
    try:
        policy = load_policy(data, "fuzz.yml")
    except ConfigError:
        return
    assert isinstance(evaluate(policy, subject, request), Decision)


@SETTINGS
@given(subject=st.builds(Subject, st.none() | st.integers() | st.text(), st.just(["S0DEV"]) | st.none(), st.none()))
def test_evaluate_fails_closed_on_garbage(subject: Subject) -> None:
    decision = evaluate(ATTACK, subject, AccessRequest("ps", "staging", None))
    assert not decision.allowed
