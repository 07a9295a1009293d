"""The policy as plain frozen data: what the loader builds and the evaluator reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.policy.caps import CapPattern
from bot.policy.match import Glob, ImagePattern

COMPOSE_PROJECT_LABEL = "com.docker.compose.project"
DEFAULT_CONTACT = "a dockbell admin"


@dataclass(frozen=True)
class Selector:
    """``on:`` — which resources a rule covers.  Empty fields do not constrain.

    Kinds combine with AND, entries of one kind with OR: ``{labels: {team: payments},
    hosts: [prod-*]}`` is "labelled team=payments AND on a prod host".
    """

    names: tuple[Glob, ...] = ()
    labels: tuple[tuple[str, Glob], ...] = ()  # every key must be present and match
    projects: tuple[Glob, ...] = ()
    images: tuple[ImagePattern, ...] = ()
    hosts: tuple[Glob, ...] = ()

    @property
    def limits_resources(self) -> bool:
        """True if the selector picks some containers/images rather than a whole host."""
        return bool(self.names or self.labels or self.projects or self.images)

    def describe(self) -> str:
        parts: list[str] = []
        if self.names:
            parts.append("containers named " + " or ".join(g.pattern for g in self.names))
        if self.labels:
            parts.append("labelled " + ", ".join(f"{k}={g.pattern}" for k, g in self.labels))
        if self.projects:
            parts.append("in compose project " + " or ".join(g.pattern for g in self.projects))
        if self.images:
            parts.append("from image " + " or ".join(p.text for p in self.images))
        if self.hosts:
            parts.append("on host " + " or ".join(g.pattern for g in self.hosts))
        return ", ".join(parts) if parts else "everything"


@dataclass(frozen=True)
class Who:
    """Which people a binding or rule applies to.

    Kinds combine with AND (``usergroups`` + ``channels`` = members of the group,
    typing in that channel), entries of one kind with OR.  ``everyone`` stands alone.
    """

    users: frozenset[str] = frozenset()
    usergroups: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    everyone: bool = False

    @property
    def empty(self) -> bool:
        return not (self.users or self.usergroups or self.channels or self.everyone)


EVERYONE = Who(everyone=True)


@dataclass(frozen=True)
class Role:
    name: str
    verbs: frozenset[str]  # expanded: groups and aliases already resolved
    allow: tuple[str, ...]  # as written, for messages
    on: Selector = Selector()
    flags: tuple[CapPattern, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Binding:
    index: int
    who: Who
    role: str


@dataclass(frozen=True)
class DenyRule:
    index: int
    reason: str
    verbs: frozenset[str] | None = None  # None: every verb
    on: Selector = Selector()
    flags: tuple[CapPattern, ...] = ()  # non-empty: only requests asking for one of these
    who: Who = EVERYONE

    @property
    def ref(self) -> str:
        return f"deny[{self.index}]"

    @property
    def name(self) -> str:
        return f"{self.ref} ({self.reason})"


@dataclass(frozen=True)
class ApprovalRule:
    index: int
    verbs: frozenset[str] | None
    approvers: Who
    count: int = 1
    ttl_seconds: int = 900
    on: Selector = Selector()
    flags: tuple[CapPattern, ...] = ()
    who: Who = EVERYONE
    reason: str = ""

    @property
    def ref(self) -> str:
        return f"approvals[{self.index}]"

    @property
    def name(self) -> str:
        return self.ref + (f" ({self.reason})" if self.reason else "")


@dataclass(frozen=True)
class Policy:
    roles: Mapping[str, Role] = field(default_factory=dict, hash=False)
    bindings: tuple[Binding, ...] = ()
    deny: tuple[DenyRule, ...] = ()
    approvals: tuple[ApprovalRule, ...] = ()
    source: str = "<empty policy>"
    # Who to ask for access (``permissions.contact``): every refusal names it, never who holds a role.
    contact: str = ""

    @property
    def ask(self) -> str:
        return self.contact or DEFAULT_CONTACT

    @classmethod
    def empty(cls, source: str = "<empty policy>") -> Policy:
        """No roles, no bindings: every request is denied."""
        return cls(source=source)


# --- the request side ------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """Who is asking, from the signed Slack request (IDs, never display names)."""

    user_id: str
    usergroups: frozenset[str]
    channel_id: str


@dataclass(frozen=True)
class Target:
    """What a command acts on, as resolved from the engine.

    For containers pass the real name (a leading ``/`` is ignored) and labels from
    inspect; an ID the user typed is not a name and never matches a name glob.
    For ``run``/``create`` pass the container to be: kind ``container``, the
    ``--name`` (or ""), the ``-l`` labels and ``image``.  Volumes and networks are
    named and labelled like containers (``id`` is the volume's name, the network's ID);
    a compose project is named by its project name, with the project label set.
    """

    kind: str  # "container" | "image" | "volume" | "network" | "project" | "host"
    name: str
    id: str = ""
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    image: str = ""  # for containers: the image reference it runs

    @property
    def project(self) -> str | None:
        return self.labels.get(COMPOSE_PROJECT_LABEL)


@dataclass(frozen=True)
class AccessRequest:
    verb: str
    host: str
    target: Target | None
    capabilities: frozenset[str] = frozenset()  # from flagguard.capabilities()


@dataclass(frozen=True)
class RoleBinding:
    """One role a subject holds, and the binding that gave it (for ``/docker whoami``)."""

    role: str
    via: str  # "user U012ABC", "usergroup S0OPS", "channel C0PAY", "usergroup S0OPS in channel C0OPS"
    binding: int

    def __str__(self) -> str:
        return f"{self.role} (via {self.via})"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str  # the deciding rule: "deny[0] (...)", "role operator via usergroup S0OPS", "default: deny"
    reason: str  # one short sentence for the user
    hint: str | None  # what would allow it
    approval: ApprovalRule | None  # allowed, but only once approved
    roles: tuple[str, ...]  # every role the subject holds

    @property
    def needs_approval(self) -> bool:
        return self.allowed and self.approval is not None
