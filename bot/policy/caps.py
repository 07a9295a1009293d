"""Capabilities: the normalized names of dangerous things a command line asks for.

The flag guard turns ``-itv /var/run:/x`` into ``{"bind:/var/run", "docker-socket"}``;
roles grant capabilities by the same names.  Both sides go through the same
normalization, so a grant written ``cap-add:CAP_NET_ADMIN`` and a request
``--cap-add=net_admin`` meet as ``cap-add:NET_ADMIN``.

A capability pattern (in ``flags:`` of roles, deny and approval rules) is exact,
with three explicit widenings and nothing else:

* ``*`` — every capability;
* ``FAMILY:*`` — every value of one family (``cap-add:*``, ``sysctl:*``);
* ``bind:/some/path/**`` — a bind of that path or anything below it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    name: str
    flag: str  # how a user asks for it, for messages
    values: frozenset[str] | None = None  # allowed values; None = free-form
    valueless: bool = False


def _fam(name: str, flag: str, values: str | None = None, *, valueless: bool = False) -> Family:
    return Family(name, flag, frozenset(values.split()) if values is not None else None, valueless)


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        _fam("privileged", "--privileged", valueless=True),
        _fam("exec-privileged", "exec --privileged", valueless=True),
        _fam("cap-add", "--cap-add"),
        _fam("device", "--device"),
        _fam("device-cgroup-rule", "--device-cgroup-rule", valueless=True),
        _fam("gpus", "--gpus", valueless=True),
        _fam("pid", "--pid", "host container"),
        _fam("network", "--network", "host container"),
        _fam("ipc", "--ipc", "host container"),
        _fam("uts", "--uts", "host"),
        _fam("userns", "--userns", "host"),
        _fam("cgroupns", "--cgroupns", "host"),
        _fam("cgroup-parent", "--cgroup-parent", valueless=True),
        _fam("security-opt", "--security-opt"),
        _fam("bind", "a bind mount (-v/--mount)"),
        _fam("docker-socket", "access to the Docker socket", valueless=True),
        _fam("volumes-from", "--volumes-from"),
        _fam("volume-opt", "--mount volume-opt=/volume-driver=", valueless=True),
        _fam("volume-driver", "--volume-driver"),
        _fam("mount-type", "--mount type="),
        _fam("env-file", "--env-file", valueless=True),
        _fam("label-file", "--label-file", valueless=True),
        _fam("cidfile", "--cidfile", valueless=True),
        _fam("env-inherit", "-e"),  # -e NAME copies the variable from the bot's own environment
        _fam("sysctl", "--sysctl"),
        _fam("runtime", "--runtime"),
        _fam("annotation", "--annotation"),
        _fam("user", "exec -u", "root"),
        _fam("oom-kill-disable", "--oom-kill-disable", valueless=True),
        _fam("oom-score-adj", "a negative --oom-score-adj", valueless=True),
    )
}

# Paths whose bind mount hands out the engine (or another container runtime): the
# socket itself, or any directory containing it.  /var/run is usually a symlink
# to /run, so both spellings are listed; /run/user holds rootless daemons' sockets.
SOCKET_PATHS = (
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/run/docker.sock.raw",
    "/run/containerd/containerd.sock",
    "/var/run/containerd/containerd.sock",
    "/run/podman/podman.sock",
    "/var/run/podman/podman.sock",
    "/run/user",
    "/var/run/user",
)
_SOCKET_WORDS = ("docker", "containerd", "podman", "buildkit", "cri-dockerd")


def normalize_path(path: str) -> str:
    """Normalize an absolute path's spelling: ``//var/./run/`` -> ``/var/run``.

    Unlike ``posixpath.normpath`` this folds a leading ``//`` (the host reads it
    as ``/``) and does *not* resolve ``..``: on the host ``/var/run/../etc`` is
    ``/etc`` when /var/run is a symlink to /run, so a path with ``..`` keeps it
    and can never match a grant.  Relative and ``~`` paths are returned
    unchanged: the host would resolve them against a directory we cannot know.
    """
    if not path.startswith("/"):
        return path
    return "/" + "/".join(seg for seg in path.split("/") if seg not in ("", "."))


def has_dotdot(path: str) -> bool:
    return ".." in path.split("/")


def is_below(path: str, root: str) -> bool:
    """True if normalized ``path`` is ``root`` or inside it (never for a path with ``..``)."""
    if has_dotdot(path):
        return False
    return path == root or root == "/" or path.startswith(root + "/")


def touches_docker_socket(path: str) -> bool:
    """Could binding ``path`` give the container a container-engine socket?"""
    if not path.startswith("/") or has_dotdot(path):
        return True  # relative, ~ or ..: resolves to a place we cannot know, assume the worst
    norm = normalize_path(path)
    base = norm.rsplit("/", 1)[-1]
    if ".sock" in base and any(w in base for w in _SOCKET_WORDS):
        return True
    if is_below(norm, "/proc"):
        return True  # /proc/1/root/run/docker.sock is the host's socket
    return any(is_below(sock, norm) or is_below(norm, sock) for sock in SOCKET_PATHS)


def normalize_cap_name(value: str) -> str:
    """docker's NormalizeLegacyCapabilities: case-insensitive, CAP_ prefix optional, ALL kept."""
    upper = value.upper()
    if upper.startswith("CAP_"):
        upper = upper[4:]
    return upper


def normalize_user(value: str) -> str:
    """``0``, ``+0``, ``00``, ``root``, ``0:0``, ``root:x`` all mean root."""
    user = value.partition(":")[0]
    digits = user[1:] if user.startswith("+") else user
    if user == "root" or (digits.isascii() and digits.isdigit() and int(digits) == 0):
        return "root"
    return user


def normalize_capability(text: str) -> str:
    """The canonical spelling of one capability (as requested or granted)."""
    family, colon, value = text.partition(":")
    if not colon:
        return text
    if family == "cap-add":
        value = normalize_cap_name(value)
    elif family in ("bind", "device") and value.startswith("/"):
        value = normalize_path(value)
    elif family == "user":
        value = normalize_user(value)
    elif family in ("pid", "network", "ipc", "uts", "userns", "cgroupns"):
        value = value.strip().lower()
    return f"{family}:{value}"


def describe(cap: str) -> str:
    """``bind:/`` -> "a bind mount (-v/--mount) of /", for refusal messages."""
    family, colon, value = cap.partition(":")
    fam = FAMILIES.get(family)
    if fam is None:
        return f"`{cap}`"
    if family == "bind":
        return f"a bind mount of {value}"
    if not (colon and value):
        return fam.flag
    return f"{fam.flag}{value}" if fam.flag.endswith("=") else f"{fam.flag} {value}"


@dataclass(frozen=True)
class CapPattern:
    text: str  # normalized, as shown in messages
    family: str | None  # None: "*", everything
    value: str | None  # None: valueless family or family wildcard
    any_value: bool = False
    subtree: bool = False  # bind:/path/**

    def matches(self, cap: str) -> bool:
        if self.family is None:
            return True
        family, colon, value = cap.partition(":")
        if family != self.family:
            return False
        if self.any_value:
            return True
        if self.value is None:
            return not colon
        if self.subtree:
            return value.startswith("/") and is_below(value, self.value)
        return value == self.value and not has_dotdot(value)


def parse_cap_pattern(text: str) -> CapPattern:
    """Validate and normalize one ``flags:`` entry; ValueError says what is wrong."""
    if text == "*":
        return CapPattern("*", None, None)
    family, colon, value = text.partition(":")
    fam = FAMILIES.get(family)
    if fam is None:
        raise ValueError(f"unknown flag capability {family!r}")
    if fam.valueless:
        if colon:
            raise ValueError(f"{family!r} takes no value (write just {family})")
        return CapPattern(family, family, None)
    if not colon or not value:
        raise ValueError(f"{family!r} needs a value, e.g. {family}:{_example(fam)} or {family}:*")
    if value == "*":
        return CapPattern(f"{family}:*", family, None, any_value=True)
    if family == "bind":
        return _bind_pattern(value)
    norm = normalize_capability(text).partition(":")[2]
    if fam.values is not None and norm not in fam.values:
        raise ValueError(f"{family!r} can be {' or '.join(sorted(fam.values))}, not {value!r}")
    if any(c in norm for c in "*?[") or not norm.isprintable():
        raise ValueError(f"{text!r}: only bind:/path/** and {family}:* may use wildcards")
    return CapPattern(f"{family}:{norm}", family, norm)


def _bind_pattern(value: str) -> CapPattern:
    subtree = value.endswith("/**")
    path = (value[:-3] or "/") if subtree else value
    if not path.startswith("/"):
        raise ValueError(f"bind:{value}: the host path must be absolute")
    if any(c in path for c in "*?[") or not path.isprintable():
        raise ValueError(f"bind:{value}: only a trailing /** may widen a bind grant")
    if has_dotdot(path):
        raise ValueError(f"bind:{value}: write the path without '..'")
    norm = normalize_path(path)
    return CapPattern(f"bind:{norm}{'/**' if subtree else ''}", "bind", norm, subtree=subtree)


def _example(fam: Family) -> str:
    if fam.values:
        return sorted(fam.values)[0]
    return {"cap-add": "NET_ADMIN", "device": "/dev/fuse", "security-opt": "apparmor=unconfined"}.get(fam.name, "VALUE")
