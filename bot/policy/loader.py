"""Load and validate a policy; every mistake is reported with its file, line and field.

Validation collects *all* problems before raising, so an admin fixes a policy in
one pass.  Line numbers come from composing the YAML ourselves (node marks) and
recording the line of every mapping key and list item by its path.

The YAML is read with YAML 1.2 booleans (only true/false): under PyYAML's 1.1
rules the policy key ``on:`` would silently become the boolean ``True``, and a
value ``no`` would become ``False``.  Data that went through ``yaml.safe_load``
anyway is tolerated: a key ``True`` is read as ``on``.
"""

from __future__ import annotations

import difflib
import re
import reprlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import yaml

from bot.errors import ConfigError
from bot.policy import verbs as verbmod
from bot.policy.caps import CapPattern, parse_cap_pattern
from bot.policy.match import HOST_CHARS, NAME_CHARS, Glob, GlobError, ImagePattern, compile_glob, compile_image_pattern
from bot.policy.model import (
    EVERYONE,
    ApprovalRule,
    Binding,
    DenyRule,
    Policy,
    Role,
    Selector,
    Who,
)

PathKey = str | int
Path = tuple[PathKey, ...]
Lines = Mapping[Path, int]
T = TypeVar("T")

_TOP_KEYS = ("roles", "bindings", "deny", "approvals", "contact")
_ROLE_KEYS = ("allow", "on", "flags", "description")
_WHO_KEYS = ("users", "usergroups", "channels")
_BINDING_KEYS = (*_WHO_KEYS, "everyone", "role")
_DENY_KEYS = ("verbs", "on", "flags", *_WHO_KEYS, "reason")
_APPROVAL_KEYS = ("verbs", "on", "flags", *_WHO_KEYS, "approvers", "count", "ttl", "reason")
_ON_KEYS = ("names", "labels", "projects", "images", "hosts")
_APPROVER_KEYS = ("users", "usergroups")

# Slack IDs, never names: names can be changed by their owner, IDs cannot.  (Underscores never
# occur in real IDs; they are allowed so that tests can use readable ones such as U_ALICE.)
_ID_RULES = {
    "users": (re.compile(r"[UW][A-Z0-9_]{2,}"), "a Slack user ID like U012ABC"),
    "usergroups": (re.compile(r"S[A-Z0-9_]{2,}"), "a Slack user group ID like S0OPS12"),
    "channels": (re.compile(r"[CGD][A-Z0-9_]{2,}"), "a Slack channel ID like C0PAYMENTS"),
}
_ROLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_DURATION = re.compile(r"(?:\d+[smhd])+")
_DURATION_PART = re.compile(r"(\d+)([smhd])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_MAX_APPROVERS = 20
_MAX_CONTACT = 200  # it is shown in every refusal: a pointer to people, not a paragraph

_short = reprlib.Repr()
_short.maxstring = 40
_short.maxother = 40


@dataclass(frozen=True)
class Problem:
    line: int | None
    field: str
    message: str

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line else source
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class PolicyError(ConfigError):
    """Every problem found in a policy; ``str()`` lists them one per line."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{source}: {count} problem{'s' if count != 1 else ''} in the permission policy:"
        super().__init__("\n".join([head, *("  " + p.render(source) for p in self.problems)]))


# --- YAML with line numbers ------------------------------------------------------------


class _PolicyLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans."""


_PolicyLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_PolicyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _record(node: yaml.Node, path: Path, lines: dict[Path, int], dups: list[Problem], stack: set[int]) -> None:
    if id(node) in stack or len(path) > 64:
        return  # an alias pointing at its own ancestor
    stack.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            line = key_node.start_mark.line + 1
            if key in seen and key != "<<":
                dups.append(Problem(line, _dotted((*path, key)), "duplicate key (the later one would win silently)"))
            seen.add(key)
            lines.setdefault((*path, key), line)
            _record(value_node, (*path, key), lines, dups, stack)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines.setdefault((*path, i), item.start_mark.line + 1)
            _record(item, (*path, i), lines, dups, stack)
    stack.discard(id(node))


def yaml_with_lines(text: str, source: str) -> tuple[object, dict[Path, int]]:
    """Parse YAML text (1.2 booleans) and map every key/item path to its 1-based line.

    Raises ConfigError for invalid YAML and duplicate keys.  The config loader can
    use it for the whole file and pass ``lines`` and ``prefix`` to :func:`load_policy`.
    """
    data, lines, dups = _compose(text, source)
    if dups:
        raise PolicyError(source, dups)
    return data, lines


def _compose(text: str, source: str) -> tuple[object, dict[Path, int], list[Problem]]:
    loader = _PolicyLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    finally:
        loader.dispose()
    lines: dict[Path, int] = {(): 1}
    dups: list[Problem] = []
    if node is not None:
        _record(node, (), lines, dups, set())
    return data, lines, dups


# --- validation ---------------------------------------------------------------------


def _dotted(path: Sequence[PathKey]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z0-9_*-]+", part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Checker:
    """Validates piece by piece, recording every problem instead of stopping at the first.

    A piece that fails falls back to a neutral value (an empty selector, no
    verbs) only so the remaining pieces can still be checked: any recorded
    problem makes load_policy raise, so a fallback never reaches a Policy.
    """

    def __init__(self, source: str, lines: Lines, prefix: Path) -> None:
        self.source = source
        self.lines = lines
        self.prefix = prefix
        self.problems: list[Problem] = []

    def error(self, path: Path, message: str) -> None:
        full = (*self.prefix, *path)
        line = None
        for n in range(len(full), -1, -1):
            if (line := self.lines.get(full[:n])) is not None:
                break
        self.problems.append(Problem(line, _dotted(full), message))

    def mapping(self, value: object, path: Path, allowed: Sequence[str]) -> dict[str, object] | None:
        if not isinstance(value, dict):
            self.error(path, f"expected a mapping with keys {', '.join(allowed)}; got {_short.repr(value)}")
            return None
        out: dict[str, object] = {}
        for raw_key, item in value.items():
            key = "on" if raw_key is True else raw_key  # `on:` after yaml.safe_load (YAML 1.1)
            if not isinstance(key, str):
                self.error((*path, str(raw_key)), f"keys must be text, got {_short.repr(raw_key)}")
            elif key not in allowed:
                hint = _did_you_mean(key, allowed)
                self.error((*path, key), f"unknown key {key!r}{hint}; allowed: {', '.join(allowed)}")
            else:
                out[key] = item
        return out

    def strings(self, value: object, path: Path, what: str) -> list[tuple[Path, str]]:
        """A non-empty list of non-empty strings (a single string is a list of one)."""
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            self.error(path, f"expected a non-empty list of {what}; got {_short.repr(value)}")
            return []
        out: list[tuple[Path, str]] = []
        for i, item in enumerate(value):
            if isinstance(item, str) and item.strip():
                out.append(((*path, i), item))
            else:
                self.error((*path, i), f"each entry must be non-empty text; got {_short.repr(item)}")
        return out

    def each(self, items: list[tuple[Path, str]], convert: Callable[[str], T]) -> list[T]:
        out: list[T] = []
        for path, text in items:
            try:
                out.append(convert(text))
            except (GlobError, ValueError) as err:
                self.error(path, str(err))
        return out

    # --- pieces ---

    def verbs(self, value: object, path: Path) -> frozenset[str]:
        found: set[str] = set()
        for item_path, item in self.strings(value, path, "verbs or groups"):
            verbs = verbmod.expand(item)
            if verbs is None:
                hint = verbmod.suggest(item)
                more = f" (did you mean {hint!r}?)" if hint else ""
                self.error(item_path, f"unknown verb or group {item!r}{more}; groups are read, operate, admin, *")
            else:
                found |= verbs
        return frozenset(found)

    def globs(self, value: object, path: Path, chars: str | None, what: str) -> tuple[Glob, ...]:
        items = self.strings(value, path, what)
        return tuple(self.each(items, lambda text: compile_glob(text, chars=chars)))

    def images(self, value: object, path: Path) -> tuple[ImagePattern, ...]:
        return tuple(self.each(self.strings(value, path, "image patterns"), compile_image_pattern))

    def labels(self, value: object, path: Path) -> tuple[tuple[str, Glob], ...]:
        if not isinstance(value, dict) or not value:
            self.error(path, f"expected a mapping of label: value-pattern; got {_short.repr(value)}")
            return ()
        out: list[tuple[str, Glob]] = []
        for key, raw in value.items():
            where = (*path, str(key))
            if not isinstance(key, str) or not key or not key.isprintable() or " " in key:
                self.error(where, f"label keys must be text without spaces; got {_short.repr(key)}")
                continue
            text = _scalar_text(raw)
            if text is None:
                self.error(where, f"expected a label value (text); got {_short.repr(raw)}")
                continue
            try:
                out.append((key, compile_glob(text, chars=None)))
            except GlobError as err:
                self.error(where, str(err))
        return tuple(out)

    def selector(self, value: object, path: Path) -> Selector:
        on = self.mapping(value, path, _ON_KEYS)
        if on is None:
            return Selector()
        return Selector(
            names=self.globs(on["names"], (*path, "names"), NAME_CHARS, "name patterns") if "names" in on else (),
            labels=self.labels(on["labels"], (*path, "labels")) if "labels" in on else (),
            projects=self.globs(on["projects"], (*path, "projects"), NAME_CHARS, "project patterns")
            if "projects" in on
            else (),
            images=self.images(on["images"], (*path, "images")) if "images" in on else (),
            hosts=self.globs(on["hosts"], (*path, "hosts"), HOST_CHARS, "host patterns") if "hosts" in on else (),
        )

    def flags(self, value: object, path: Path) -> tuple[CapPattern, ...]:
        return tuple(self.each(self.strings(value, path, "flag capabilities"), parse_cap_pattern))

    def ids(self, value: object, path: Path, kind: str) -> frozenset[str]:
        rule, example = _ID_RULES[kind]
        out: set[str] = set()
        for item_path, item in self.strings(value, path, f"{kind} IDs"):
            if kind == "channels" and item.startswith("D") and rule.fullmatch(item):
                # Roles bound to channels never apply in a DM (docs/mentions.md): such a binding would do nothing.
                self.error(item_path, f"{item!r} is a direct message: roles cannot be bound to DMs, only to channels")
            elif rule.fullmatch(item):
                out.add(item)
            else:
                self.error(item_path, f"{item!r} is not {example} (use IDs: names can change)")
        return frozenset(out)

    def who(self, spec: Mapping[str, object], path: Path, keys: Sequence[str] = _WHO_KEYS) -> Who:
        ids = {k: self.ids(spec[k], (*path, k), k) if k in spec else frozenset() for k in keys}
        return Who(
            users=ids.get("users", frozenset()),
            usergroups=ids.get("usergroups", frozenset()),
            channels=ids.get("channels", frozenset()),
        )

    def text(self, value: object, path: Path, what: str) -> str:
        if isinstance(value, str) and value.strip() and value.isprintable():
            return value.strip()
        self.error(path, f"expected {what} (one line of text); got {_short.repr(value)}")
        return ""

    def duration(self, value: object, path: Path) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        if isinstance(value, str) and _DURATION.fullmatch(value.strip()):
            seconds = sum(int(n) * _SECONDS[u] for n, u in _DURATION_PART.findall(value))
            if seconds > 0:
                return seconds
        self.error(path, f"expected a duration such as 15m, 1h or 90s; got {_short.repr(value)}")
        return 0

    def count(self, value: object, path: Path) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= _MAX_APPROVERS:
            return value
        self.error(path, f"expected a whole number from 1 to {_MAX_APPROVERS}; got {_short.repr(value)}")
        return 1


def _scalar_text(value: object) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"  # `dockbell.protected: true` means the label text "true"
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)
    return None


# --- sections -------------------------------------------------------------------------


def _role(c: _Checker, name: object, value: object) -> Role | None:
    path: Path = ("roles", str(name))
    if not isinstance(name, str) or not _ROLE_NAME.fullmatch(name):
        c.error(path, f"role names are letters, digits, - and _, starting with a letter; got {_short.repr(name)}")
        return None
    spec = c.mapping(value, path, _ROLE_KEYS)
    if spec is None:
        return None
    if "allow" not in spec:
        c.error(path, "missing 'allow' (the verbs or groups this role grants, e.g. [read])")
    verbs = c.verbs(spec["allow"], (*path, "allow")) if "allow" in spec else frozenset()
    raw_allow = spec.get("allow", [])
    allow = tuple(str(v) for v in (raw_allow if isinstance(raw_allow, list) else [raw_allow]))
    on = c.selector(spec["on"], (*path, "on")) if "on" in spec else Selector()
    flags = c.flags(spec["flags"], (*path, "flags")) if "flags" in spec else ()
    if flags and verbs and not verbs & verbmod.GUARDED:
        c.error((*path, "flags"), "flags only matter for run, create, exec and update, which this role does not allow")
    description = c.text(spec["description"], (*path, "description"), "a description") if "description" in spec else ""
    return Role(name, verbs, allow, on, flags, description)


def _roles(c: _Checker, value: object) -> dict[str, Role]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        c.error(("roles",), f"expected a mapping of role name: {{allow: [...]}}; got {_short.repr(value)}")
        return {}
    roles: dict[str, Role] = {}
    for name, spec in value.items():
        role = _role(c, name, spec)
        if role is not None:
            roles[role.name] = role
    return roles


def _binding(c: _Checker, i: int, value: object, role_names: Sequence[str]) -> Binding | None:
    path: Path = ("bindings", i)
    spec = c.mapping(value, path, _BINDING_KEYS)
    if spec is None:
        return None
    role = spec.get("role")
    if not isinstance(role, str):
        c.error((*path, "role") if "role" in spec else path, "missing 'role' (the name of a role defined under roles)")
    elif role not in role_names:
        c.error((*path, "role"), f"role {role!r} is not defined under roles{_did_you_mean(role, role_names)}")
    who = c.who(spec, path)
    if "everyone" in spec:
        if spec["everyone"] is not True:
            c.error((*path, "everyone"), "everyone can only be true (leave it out otherwise)")
        elif not who.empty:
            c.error((*path, "everyone"), "everyone: true cannot be combined with users, usergroups or channels")
        who = Who(everyone=True)
    elif who.empty and not any(k in spec for k in _WHO_KEYS):
        c.error(path, "say who gets the role: users, usergroups, channels (combined with AND) or everyone: true")
    if not isinstance(role, str) or role not in role_names or who.empty:
        return None
    return Binding(i, who, role)


_Common = tuple[frozenset[str] | None, Selector, tuple[CapPattern, ...], Who]


def _rule_common(c: _Checker, spec: Mapping[str, object], path: Path) -> _Common:
    verbs = c.verbs(spec["verbs"], (*path, "verbs")) if "verbs" in spec else None
    on = c.selector(spec["on"], (*path, "on")) if "on" in spec else Selector()
    flags = c.flags(spec["flags"], (*path, "flags")) if "flags" in spec else ()
    who = c.who(spec, path)
    return verbs, on, flags, who if not who.empty else EVERYONE


def _deny(c: _Checker, i: int, value: object) -> DenyRule | None:
    path: Path = ("deny", i)
    spec = c.mapping(value, path, _DENY_KEYS)
    if spec is None:
        return None
    if "verbs" not in spec and "flags" not in spec:
        c.error(path, "say what is denied: verbs (use ['*'] for every verb) and/or flags")
    reason = c.text(spec["reason"], (*path, "reason"), "a reason") if "reason" in spec else ""
    if "reason" not in spec:
        c.error(path, "missing 'reason' (shown to the person refused)")
    verbs, on, flags, who = _rule_common(c, spec, path)
    return DenyRule(i, reason, verbs, on, flags, who)


def _approval(c: _Checker, i: int, value: object) -> ApprovalRule | None:
    path: Path = ("approvals", i)
    spec = c.mapping(value, path, _APPROVAL_KEYS)
    if spec is None:
        return None
    if "verbs" not in spec:
        c.error(path, "missing 'verbs' (the verbs that need approval)")
    approvers = Who()
    if "approvers" not in spec:
        c.error(path, "missing 'approvers' ({users: [...]} and/or {usergroups: [...]})")
    elif (who_spec := c.mapping(spec["approvers"], (*path, "approvers"), _APPROVER_KEYS)) is not None:
        approvers = c.who(who_spec, (*path, "approvers"), _APPROVER_KEYS)
        if not who_spec:
            c.error((*path, "approvers"), "name at least one approver: users and/or usergroups")
    count = c.count(spec["count"], (*path, "count")) if "count" in spec else 1
    if approvers.users and not approvers.usergroups and count > len(approvers.users):
        listed = len(approvers.users)
        c.error(
            (*path, "count"), f"needs {count} approvals but only {listed} approver{'s' if listed > 1 else ''} listed"
        )
    ttl = c.duration(spec["ttl"], (*path, "ttl")) if "ttl" in spec else 900
    reason = c.text(spec["reason"], (*path, "reason"), "a reason") if "reason" in spec else ""
    verbs, on, flags, who = _rule_common(c, spec, path)
    return ApprovalRule(i, verbs, approvers, count, ttl, on, flags, who, reason)


def _contact(c: _Checker, value: object) -> str:
    """``contact``: who a refused person should ask ("#ops or @oncall"), one short line of text."""
    text = c.text(value, ("contact",), 'who to ask for access, e.g. "#ops or @oncall"')
    if len(text) > _MAX_CONTACT:
        c.error(("contact",), f"keep it to {_MAX_CONTACT} characters (it is shown in every refusal); got {len(text)}")
    return text


def _list(c: _Checker, value: object, key: str) -> list[object]:
    if value is None:
        return []
    if not isinstance(value, list):
        c.error((key,), f"expected a list; got {_short.repr(value)}")
        return []
    return value


def load_policy(data: object, source: str, *, lines: Lines | None = None, prefix: Path = ()) -> Policy:
    """Validate policy data (already parsed YAML) and build the Policy.

    ``lines`` maps key/item paths to line numbers (see :func:`yaml_with_lines`);
    ``prefix`` is where the policy sits in that file (e.g. ``("permissions",)``).
    Raises PolicyError (a ConfigError) listing every problem.  ``None`` is the
    empty policy, which denies everything.
    """
    c = _Checker(source, lines or {}, prefix)
    if data is None:
        return Policy.empty(source)
    top = c.mapping(data, (), _TOP_KEYS)
    if top is None:
        raise PolicyError(source, c.problems)
    raw_roles = top.get("roles")
    roles = _roles(c, raw_roles)
    # a role that failed validation is still "defined": its bindings are not reported a second time
    defined = raw_roles if isinstance(raw_roles, dict) else {}
    role_names = sorted({*roles, *(k for k in defined if isinstance(k, str))})
    raw_bindings = _list(c, top.get("bindings"), "bindings")
    bindings = [b for i, v in enumerate(raw_bindings) if (b := _binding(c, i, v, role_names))]
    deny = [d for i, v in enumerate(_list(c, top.get("deny"), "deny")) if (d := _deny(c, i, v))]
    approvals = [a for i, v in enumerate(_list(c, top.get("approvals"), "approvals")) if (a := _approval(c, i, v))]
    contact = _contact(c, top["contact"]) if "contact" in top else ""
    if c.problems:
        raise PolicyError(source, c.problems)
    return Policy(roles, tuple(bindings), tuple(deny), tuple(approvals), source, contact)


def load_policy_text(text: str, source: str) -> Policy:
    """Parse and validate a policy file's text."""
    data, lines, dups = _compose(text, source)
    try:
        policy = load_policy(data, source, lines=lines)
    except PolicyError as err:
        dups += err.problems
    if dups:
        raise PolicyError(source, sorted(dups, key=lambda p: p.line or 0))
    return policy
