"""The verbs the permission layer knows: groups, scopes and alias spellings.

A verb is what a role grants.  Every docker spelling of a command maps to one
verb (``container rm`` is ``rm``, ``container ls`` is ``ps``), so a policy never
has to list aliases and an alias can never slip past a rule written for the verb.

Each verb also has a *scope*, which decides how a role limited to some
containers (``on: {labels: ...}``) may use it:

* ``target`` verbs act on one container, image, volume, network or compose project;
  the request must name it.
* ``list`` verbs list things; without a target they pass the gate and the caller
  filters every listed item with :func:`bot.policy.can_see`.
* ``bot`` verbs describe dockbell itself (help, whoami); any role holding them may use them.
* ``host`` verbs act on the whole engine (prune, build, info); only a role that is
  not limited to some containers or images may use them, since "some containers"
  cannot be enforced on a host-wide action.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum


class Scope(Enum):
    TARGET = "target"
    LIST = "list"
    BOT = "bot"
    HOST = "host"


CONTAINER = "container"
IMAGE = "image"
VOLUME = "volume"
NETWORK = "network"
# A compose project, known by the label com.docker.compose.project on its containers.
PROJECT = "project"
HOST = "host"
TARGET_KINDS = frozenset({CONTAINER, IMAGE, VOLUME, NETWORK, PROJECT, HOST})


@dataclass(frozen=True)
class VerbInfo:
    name: str
    scope: Scope
    targets: frozenset[str]  # target kinds the verb accepts; empty = none
    aliases: tuple[str, ...] = ()


def _v(name: str, scope: Scope, targets: str = "", *aliases: str) -> VerbInfo:
    return VerbInfo(name, scope, frozenset(targets.split()), aliases)


_C, _I, _CI = CONTAINER, IMAGE, f"{CONTAINER} {IMAGE}"
_V, _N, _NC, _P = VOLUME, NETWORK, f"{NETWORK} {CONTAINER}", PROJECT

_VERBS: tuple[VerbInfo, ...] = (
    # reads
    # compose ls/ps list containers (grouped by project): the same verb judges them.
    _v("ps", Scope.LIST, _C, "container ls", "container list", "container ps", "compose ls", "compose ps"),
    _v("images", Scope.LIST, _I, "image ls", "image list"),
    _v("inspect", Scope.TARGET, _CI, "container inspect", "image inspect"),
    _v("logs", Scope.TARGET, _C, "container logs", "compose logs"),
    _v("top", Scope.TARGET, _C, "container top"),
    _v("port", Scope.TARGET, _C, "container port"),
    _v("stats", Scope.LIST, _C, "container stats"),
    _v("diff", Scope.TARGET, _C, "container diff"),
    _v("history", Scope.TARGET, _I, "image history"),
    _v("events", Scope.LIST, _CI, "system events"),
    _v("version", Scope.HOST),
    _v("info", Scope.HOST, "", "system info"),
    _v("df", Scope.HOST, "", "system df"),
    _v("search", Scope.HOST),
    _v("volume-ls", Scope.LIST, _V, "volume ls", "volume list"),
    _v("volume-inspect", Scope.TARGET, _V, "volume inspect"),
    _v("network-ls", Scope.LIST, _N, "network ls", "network list"),
    _v("network-inspect", Scope.TARGET, _N, "network inspect"),
    _v("help", Scope.BOT),
    _v("whoami", Scope.BOT),
    _v("can-i", Scope.BOT),
    _v("hosts", Scope.BOT),
    _v("jobs", Scope.BOT),
    _v("approvals", Scope.BOT),
    # dockbell's own: live streams (`streams stop` of someone else's is judged on the stream's verb)
    _v("streams", Scope.BOT),
    # operate
    # compose start/stop/restart act on each container of the project, each judged by its verb.
    _v("start", Scope.TARGET, _C, "container start", "compose start"),
    _v("stop", Scope.TARGET, _C, "container stop", "compose stop"),
    _v("restart", Scope.TARGET, _C, "container restart", "compose restart"),
    _v("kill", Scope.TARGET, _C, "container kill"),
    _v("pause", Scope.TARGET, _C, "container pause"),
    _v("unpause", Scope.TARGET, _C, "container unpause"),
    _v("wait", Scope.TARGET, _C, "container wait"),
    _v("exec", Scope.TARGET, _C, "container exec"),
    # dockbell's own: silence a container's crash notifications for a while (docs/notifications.md)
    _v("snooze", Scope.TARGET, _C),
    # admin
    _v("run", Scope.TARGET, _CI, "container run"),
    _v("create", Scope.TARGET, _CI, "container create"),
    _v("rm", Scope.TARGET, _C, "container rm", "container remove"),
    _v("rmi", Scope.TARGET, _I, "image rm", "image remove"),
    _v("pull", Scope.TARGET, _I, "image pull"),
    _v("push", Scope.TARGET, _I, "image push"),
    _v("tag", Scope.TARGET, _I, "image tag"),
    _v("save", Scope.TARGET, _I, "image save"),
    _v("load", Scope.HOST, "", "image load"),
    _v("import", Scope.HOST, "", "image import"),
    _v("build", Scope.HOST, "", "image build", "builder build"),
    _v("commit", Scope.TARGET, _C, "container commit"),
    _v("export", Scope.TARGET, _C, "container export"),
    _v("cp", Scope.TARGET, _C, "container cp"),
    _v("rename", Scope.TARGET, _C, "container rename"),
    _v("update", Scope.TARGET, _C, "container update"),
    _v("attach", Scope.TARGET, _C, "container attach"),
    _v("container-prune", Scope.HOST, "", "container prune"),
    _v("image-prune", Scope.HOST, "", "image prune"),
    _v("volume-prune", Scope.HOST, "", "volume prune"),
    _v("network-prune", Scope.HOST, "", "network prune"),
    _v("builder-prune", Scope.HOST, "", "builder prune"),
    _v("system-prune", Scope.HOST, "", "system prune"),
    # Volumes and networks are judged by their name and labels (create: the ones asked for).
    _v("volume-create", Scope.TARGET, _V, "volume create"),
    _v("volume-rm", Scope.TARGET, _V, "volume rm", "volume remove"),
    _v("network-create", Scope.TARGET, _N, "network create"),
    _v("network-rm", Scope.TARGET, _N, "network rm", "network remove"),
    # Connecting touches both: the network and the container are each judged.
    _v("network-connect", Scope.TARGET, _NC, "network connect"),
    _v("network-disconnect", Scope.TARGET, _NC, "network disconnect"),
    # The compose CLI run with a project's own files: judged on the project (on: {projects: ...}).
    _v("compose-pull", Scope.TARGET, _P, "compose pull"),
    _v("compose-up", Scope.TARGET, _P, "compose up"),
    _v("compose-down", Scope.TARGET, _P, "compose down"),
    # reading the audit log shows what everyone did: it needs its own grant
    _v("audit", Scope.HOST),
)

VERBS: dict[str, VerbInfo] = {v.name: v for v in _VERBS}

READ = frozenset(
    "ps images inspect logs top port stats diff history events version info df search "
    "volume-ls volume-inspect network-ls network-inspect help whoami can-i hosts jobs approvals streams "
    # dockbell's attach is read only (output, never input or signals): it reads what logs -f reads
    "attach".split()
)
OPERATE = frozenset("start stop restart kill pause unpause wait logs exec snooze".split())
ADMIN = frozenset(VERBS) - READ - OPERATE
ALL = frozenset(VERBS)

GROUPS: dict[str, frozenset[str]] = {"read": READ, "operate": OPERATE, "admin": ADMIN, "*": ALL}

# The verbs whose flags the flag guard inspects (see flagguard.py).
GUARDED = frozenset({"run", "create", "exec", "update"})

_ALIASES: dict[str, str] = {a: v.name for v in _VERBS for a in v.aliases}


def canonical_verb(spelling: str) -> str | None:
    """The verb for any docker spelling (``container rm`` -> ``rm``); None if unknown.

    Matching is exact and case-sensitive like docker's own command lookup, so
    ``RM`` or a look-alike letter is simply unknown (and denied).
    """
    words = " ".join(spelling.split())
    if words in VERBS:
        return words
    return _ALIASES.get(words)


def expand(item: str) -> frozenset[str] | None:
    """A verb, alias or group name as the set of verbs it stands for; None if unknown."""
    if item in GROUPS:
        return GROUPS[item]
    verb = canonical_verb(item)
    return frozenset({verb}) if verb else None


def suggest(item: str, extra: Iterable[str] = ()) -> str | None:
    """The closest known verb/group spelling, for did-you-mean messages."""
    choices = [*VERBS, *_ALIASES, *GROUPS, *extra]
    for word in dict.fromkeys((item, item.lower())):
        close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
        if close:
            return close[0]
    return None
