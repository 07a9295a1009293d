"""The flag guard: what a ``run``/``create``/``exec``/``update`` command line really asks for.

The command line is parsed with docker's complete flag table for that command
(docker/cli ``cli/command/container/opts.go``, ``run.go``, ``create.go``,
``exec.go``, ``update.go``) by the same pflag-compatible parser the rest of the
bot uses, so the guard sees exactly what docker would see: ``-itv /:/h``,
``--privileged=true``, ``--volume=/:/h``, ``--mount=type=bind,src=/,dst=/h`` and
``--net host`` all land in the same parsed values; an unknown flag is docker's
``unknown flag: --foo``; and ``run``/``create``/``exec`` stop at the first
positional, so words after the image are the container's command and ask for
nothing.  Capabilities are derived from the *parsed values*, never from the
text, and the later ``run`` implementation must build its API payload from the
same :class:`GuardedCommand` (one table, one parser), so what was checked is
what is sent.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from bot.core.cliparse import Flag, FlagSet, Kind, Parsed
from bot.errors import ParseError
from bot.policy import caps
from bot.policy.goparse import go_atoi, ram_in_bytes
from bot.policy.model import Target
from bot.policy.runspec import Mount as MountSpec
from bot.policy.runspec import RunSpec, build_spec
from bot.policy.verbs import GUARDED, canonical_verb

BOOL, STR, INT, LIST = Kind.BOOL, Kind.STRING, Kind.INT, Kind.LIST


# docker hides these from --help (MarkHidden / MarkDeprecated) but accepts them.
HIDDEN_FLAGS = frozenset({"net", "net-alias", "dns-opt", "kernel-memory"})


def _flag(name: str, kind: Kind, help: str, short: str | None = None, default: object = None) -> Flag:
    value_name = {STR: "string", INT: "int", LIST: "list"}.get(kind)
    hidden = name in HIDDEN_FLAGS
    return Flag(name, help, kind, short=short, default=default, value_name=value_name, hidden=hidden)


# Flags of `docker run` and `docker create` both (addFlags in opts.go), docker 28.
_CONTAINER_FLAGS = (
    _flag("add-host", LIST, "Add a custom host-to-IP mapping (host:ip)"),
    _flag("annotation", LIST, "Add an annotation to the container (passed through to the OCI runtime)"),
    _flag("attach", LIST, "Attach to STDIN, STDOUT or STDERR", "a"),
    _flag("blkio-weight", INT, "Block IO (relative weight), between 10 and 1000, or 0 to disable", default=0),
    _flag("blkio-weight-device", LIST, "Block IO weight (relative device weight)"),
    _flag("cap-add", LIST, "Add Linux capabilities"),
    _flag("cap-drop", LIST, "Drop Linux capabilities"),
    _flag("cgroup-parent", STR, "Optional parent cgroup for the container"),
    _flag("cgroupns", STR, "Cgroup namespace to use (host|private)"),
    _flag("cidfile", STR, "Write the container ID to the file"),
    _flag("cpu-count", INT, "CPU count (Windows only)", default=0),
    _flag("cpu-percent", INT, "CPU percent (Windows only)", default=0),
    _flag("cpu-period", INT, "Limit CPU CFS (Completely Fair Scheduler) period", default=0),
    _flag("cpu-quota", INT, "Limit CPU CFS (Completely Fair Scheduler) quota", default=0),
    _flag("cpu-rt-period", INT, "Limit CPU real-time period in microseconds", default=0),
    _flag("cpu-rt-runtime", INT, "Limit CPU real-time runtime in microseconds", default=0),
    _flag("cpu-shares", INT, "CPU shares (relative weight)", "c", default=0),
    _flag("cpus", STR, "Number of CPUs"),
    _flag("cpuset-cpus", STR, "CPUs in which to allow execution (0-3, 0,1)"),
    _flag("cpuset-mems", STR, "MEMs in which to allow execution (0-3, 0,1)"),
    _flag("device", LIST, "Add a host device to the container"),
    _flag("device-cgroup-rule", LIST, "Add a rule to the cgroup allowed devices list"),
    _flag("device-read-bps", LIST, "Limit read rate (bytes per second) from a device"),
    _flag("device-read-iops", LIST, "Limit read rate (IO per second) from a device"),
    _flag("device-write-bps", LIST, "Limit write rate (bytes per second) to a device"),
    _flag("device-write-iops", LIST, "Limit write rate (IO per second) to a device"),
    _flag("dns", LIST, "Set custom DNS servers"),
    _flag("dns-opt", LIST, "Set DNS options"),  # hidden alias of --dns-option
    _flag("dns-option", LIST, "Set DNS options"),
    _flag("dns-search", LIST, "Set custom DNS search domains"),
    _flag("domainname", STR, "Container NIS domain name"),
    _flag("entrypoint", STR, "Overwrite the default ENTRYPOINT of the image"),
    _flag("env", LIST, "Set environment variables", "e"),
    _flag("env-file", LIST, "Read in a file of environment variables"),
    _flag("expose", LIST, "Expose a port or a range of ports"),
    _flag("gpus", LIST, "GPU devices to add to the container ('all' to pass all GPUs)"),
    _flag("group-add", LIST, "Add additional groups to join"),
    _flag("health-cmd", STR, "Command to run to check health"),
    _flag("health-interval", STR, "Time between running the check (ms|s|m|h) (default 0s)"),
    _flag("health-retries", INT, "Consecutive failures needed to report unhealthy", default=0),
    _flag("health-start-interval", STR, "Time between running the check during the start period (ms|s|m|h)"),
    _flag("health-start-period", STR, "Start period for the container to initialize before starting health-retries"),
    _flag("health-timeout", STR, "Maximum time to allow one check to run (ms|s|m|h) (default 0s)"),
    _flag("hostname", STR, "Container host name", "h"),
    _flag("init", BOOL, "Run an init inside the container that forwards signals and reaps processes"),
    _flag("interactive", BOOL, "Keep STDIN open even if not attached", "i"),
    _flag("io-maxbandwidth", STR, "Maximum IO bandwidth limit for the system drive (Windows only)"),
    _flag("io-maxiops", INT, "Maximum IOps limit for the system drive (Windows only)", default=0),
    _flag("ip", STR, "IPv4 address (e.g., 172.30.100.104)"),
    _flag("ip6", STR, "IPv6 address (e.g., 2001:db8::33)"),
    _flag("ipc", STR, "IPC mode to use"),
    _flag("isolation", STR, "Container isolation technology"),
    _flag("kernel-memory", STR, "Kernel memory limit (deprecated)"),
    _flag("label", LIST, "Set meta data on a container", "l"),
    _flag("label-file", LIST, "Read in a line delimited file of labels"),
    _flag("link", LIST, "Add link to another container"),
    _flag("link-local-ip", LIST, "Container IPv4/IPv6 link-local addresses"),
    _flag("log-driver", STR, "Logging driver for the container"),
    _flag("log-opt", LIST, "Log driver options"),
    _flag("mac-address", STR, "Container MAC address (e.g., 92:d0:c6:0a:29:33)"),
    _flag("memory", STR, "Memory limit", "m"),
    _flag("memory-reservation", STR, "Memory soft limit"),
    _flag("memory-swap", STR, "Swap limit equal to memory plus swap: '-1' to enable unlimited swap"),
    _flag("memory-swappiness", INT, "Tune container memory swappiness (0 to 100)", default=-1),
    _flag("mount", LIST, "Attach a filesystem mount to the container"),
    _flag("net", LIST, "Connect a container to a network"),  # hidden alias of --network
    _flag("net-alias", LIST, "Add network-scoped alias for the container"),  # hidden alias
    _flag("network", LIST, "Connect a container to a network"),
    _flag("network-alias", LIST, "Add network-scoped alias for the container"),
    _flag("no-healthcheck", BOOL, "Disable any container-specified HEALTHCHECK"),
    _flag("oom-kill-disable", BOOL, "Disable OOM Killer"),
    _flag("oom-score-adj", INT, "Tune host's OOM preferences (-1000 to 1000)", default=0),
    _flag("pid", STR, "PID namespace to use"),
    _flag("pids-limit", INT, "Tune container pids limit (set -1 for unlimited)", default=0),
    _flag("privileged", BOOL, "Give extended privileges to this container"),
    _flag("publish", LIST, "Publish a container's port(s) to the host", "p"),
    _flag("publish-all", BOOL, "Publish all exposed ports to random ports", "P"),
    _flag("read-only", BOOL, "Mount the container's root filesystem as read only"),
    _flag("restart", STR, "Restart policy to apply when a container exits", default="no"),
    _flag("rm", BOOL, "Automatically remove the container and its associated anonymous volumes when it exits"),
    _flag("runtime", STR, "Runtime to use for this container"),
    _flag("security-opt", LIST, "Security Options"),
    _flag("shm-size", STR, "Size of /dev/shm"),
    _flag("stop-signal", STR, "Signal to stop the container"),
    _flag("stop-timeout", INT, "Timeout (in seconds) to stop a container", default=0),
    _flag("storage-opt", LIST, "Storage driver options for the container"),
    _flag("sysctl", LIST, "Sysctl options"),
    _flag("tmpfs", LIST, "Mount a tmpfs directory"),
    _flag("tty", BOOL, "Allocate a pseudo-TTY", "t"),
    _flag("ulimit", LIST, "Ulimit options"),
    _flag("user", STR, "Username or UID (format: <name|uid>[:<group|gid>])", "u"),
    _flag("userns", STR, "User namespace to use"),
    _flag("uts", STR, "UTS namespace to use"),
    _flag("volume", LIST, "Bind mount a volume", "v"),
    _flag("volume-driver", STR, "Optional volume driver for the container"),
    _flag("volumes-from", LIST, "Mount volumes from the specified container(s)"),
    _flag("workdir", STR, "Working directory inside the container", "w"),
)

# create.go (and run.go, which embeds createOptions).
_CREATE_ONLY = (
    _flag("disable-content-trust", BOOL, "Skip image verification", default=True),
    _flag("name", STR, "Assign a name to the container"),
    _flag("platform", STR, "Set platform if server is multi-platform capable"),
    _flag("pull", STR, 'Pull image before creating ("always", "missing", "never")', default="missing"),
    _flag("quiet", BOOL, "Suppress the pull output", "q"),
    _flag("use-api-socket", BOOL, "Bind mount Docker API socket and required auth"),
)

_RUN_ONLY = (
    _flag("detach", BOOL, "Run container in background and print container ID", "d"),
    _flag("detach-keys", STR, "Override the key sequence for detaching a container"),
    _flag("sig-proxy", BOOL, "Proxy received signals to the process", default=True),
)


def _sorted(*groups: Sequence[Flag]) -> tuple[Flag, ...]:
    # pflag prints flags sorted by name; keeping the tables sorted keeps help identical.
    return tuple(sorted((f for g in groups for f in g), key=lambda f: f.name))


RUN_FLAGS = _sorted(_CONTAINER_FLAGS, _CREATE_ONLY, _RUN_ONLY)
CREATE_FLAGS = _sorted(_CONTAINER_FLAGS, _CREATE_ONLY)
EXEC_FLAGS = _sorted(
    (
        _flag("detach", BOOL, "Detached mode: run command in the background", "d"),
        _flag("detach-keys", STR, "Override the key sequence for detaching a container"),
        _flag("env", LIST, "Set environment variables", "e"),
        _flag("env-file", LIST, "Read in a file of environment variables"),
        _flag("interactive", BOOL, "Keep STDIN open even if not attached", "i"),
        _flag("privileged", BOOL, "Give extended privileges to the command"),
        _flag("tty", BOOL, "Allocate a pseudo-TTY", "t"),
        _flag("user", STR, 'Username or UID (format: "<name|uid>[:<group|gid>]")', "u"),
        _flag("workdir", STR, "Working directory inside the container", "w"),
    )
)
UPDATE_FLAGS = _sorted(
    (
        _flag("blkio-weight", INT, "Block IO (relative weight), between 10 and 1000, or 0 to disable", default=0),
        _flag("cpu-period", INT, "Limit CPU CFS (Completely Fair Scheduler) period", default=0),
        _flag("cpu-quota", INT, "Limit CPU CFS (Completely Fair Scheduler) quota", default=0),
        _flag("cpu-rt-period", INT, "Limit the CPU real-time period in microseconds", default=0),
        _flag("cpu-rt-runtime", INT, "Limit the CPU real-time runtime in microseconds", default=0),
        _flag("cpu-shares", INT, "CPU shares (relative weight)", "c", default=0),
        _flag("cpus", STR, "Number of CPUs"),
        _flag("cpuset-cpus", STR, "CPUs in which to allow execution (0-3, 0,1)"),
        _flag("cpuset-mems", STR, "MEMs in which to allow execution (0-3, 0,1)"),
        _flag("kernel-memory", STR, "Kernel memory limit (deprecated)"),
        _flag("memory", STR, "Memory limit", "m"),
        _flag("memory-reservation", STR, "Memory soft limit"),
        _flag("memory-swap", STR, "Swap limit equal to memory plus swap: -1 to enable unlimited swap"),
        _flag("pids-limit", INT, "Tune container pids limit (set -1 for unlimited)", default=0),
        _flag("restart", STR, "Restart policy to apply when a container exits"),
    )
)


FLAG_TABLES: dict[str, tuple[Flag, ...]] = {
    "run": RUN_FLAGS,
    "create": CREATE_FLAGS,
    "exec": EXEC_FLAGS,
    "update": UPDATE_FLAGS,
}
USAGE = {
    "run": "docker run [OPTIONS] IMAGE [COMMAND] [ARG...]",
    "create": "docker create [OPTIONS] IMAGE [COMMAND] [ARG...]",
    "exec": "docker exec [OPTIONS] CONTAINER COMMAND [ARG...]",
    "update": "docker update [OPTIONS] CONTAINER [CONTAINER...]",
}
_MIN_ARGS = {"run": 1, "create": 1, "exec": 2, "update": 1}

# run/create/exec call flags.SetInterspersed(false); update does not.  docker's
# explicit --help (no -h: that is --hostname) is added as the registry adds it.
_HELP = Flag("help", "Print usage")
_FLAGSETS = {verb: FlagSet([*flags, _HELP], interspersed=verb == "update") for verb, flags in FLAG_TABLES.items()}


def flagset(verb: str) -> FlagSet:
    """The FlagSet (with --help) for run/create/exec/update or any alias of them."""
    return _FLAGSETS[_guarded_verb(verb)]


# --- parsed structures the run implementation reuses ----------------------------


@dataclass(frozen=True)
class NetworkSpec:
    """One ``--network``/``--net``, short (``host``) or long (``name=x,alias=y``) syntax."""

    raw: str
    target: str
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class GuardedCommand:
    verb: str  # run | create | exec | update
    parsed: Parsed
    args: tuple[str, ...]  # positional: IMAGE [CMD...], CONTAINER CMD..., CONTAINER...
    mounts: tuple[MountSpec, ...]
    networks: tuple[NetworkSpec, ...]
    origins: tuple[tuple[str, str], ...]  # (capability, what on the command line asked for it)
    # run/create: the container it asks for, from this same parse (what the engine is sent)
    spec: RunSpec | None = None

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset(cap for cap, _ in self.origins)

    @property
    def help(self) -> bool:
        return bool(self.parsed.opts.get("help"))

    def opt(self, name: str) -> object:
        return self.parsed[name]

    def values(self, *names: str) -> list[str]:
        """Values of list flags docker stores together (``net``+``network``), in command-line order."""
        return _ordered(self.parsed, names)

    def planned_container(self) -> Target:
        """For run/create: the container to be created, as the policy should see it (name, -l labels, image)."""
        if self.verb not in ("run", "create"):
            raise ValueError(f"{self.verb} does not create a container")
        labels = dict(kv.partition("=")[::2] for kv in self.parsed["label"])
        image = self.args[0] if self.args else ""
        return Target("container", self.parsed["name"] or "", labels=labels, image=image)


def _guarded_verb(verb: str) -> str:
    canon = canonical_verb(verb)
    if canon not in GUARDED:
        raise ValueError(f"the flag guard covers run, create, exec and update, not {verb!r}")
    return canon


def _ordered(parsed: Parsed, names: Sequence[str]) -> list[str]:
    seen = dict.fromkeys(names, 0)
    out: list[str] = []
    for name in parsed.given:
        if name in seen:
            out.append(parsed[name][seen[name]])
            seen[name] += 1
    return out


def _bad(value: str, flag: str, why: str) -> ParseError:
    return ParseError(f'invalid argument "{value}" for "{flag}" flag: {why}')


def _quoted_field(value: str, i: int, flag: str) -> tuple[str, int]:
    """The quoted CSV field opening at ``value[i]`` and the index after its closing quote."""
    buf: list[str] = []
    i += 1
    while i < len(value):
        if value[i] != '"':
            buf.append(value[i])
            i += 1
        elif value[i + 1 : i + 2] == '"':  # "" is a literal quote
            buf.append('"')
            i += 2
        else:
            return "".join(buf), i + 1
    raise _bad(value, flag, 'extraneous or missing " in quoted-field')


def _csv_record(value: str, flag: str) -> list[str]:
    """One record of Go's encoding/csv (strict quotes), as docker reads --mount and --network."""
    if "\n" in value or "\r" in value:
        # Go would silently read only the first line; refusing is the unambiguous choice.
        raise _bad(value, flag, "line breaks are not allowed")
    if not value:
        raise _bad(value, flag, "EOF")
    fields: list[str] = []
    i = 0
    while True:
        if value[i : i + 1] == '"':
            field, i = _quoted_field(value, i, flag)
            if i < len(value) and value[i] != ",":
                raise _bad(value, flag, 'extraneous or missing " in quoted-field')
        else:
            end = value.find(",", i)
            end = len(value) if end < 0 else end
            field = value[i:end]
            if '"' in field:
                raise _bad(value, flag, 'bare " in non-quoted-field')
            i = end
        fields.append(field)
        if i >= len(value):
            return fields
        i += 1  # past the comma; a trailing comma leaves one empty field
        if i == len(value):
            return [*fields, ""]


_MOUNT_FLAGS = {"readonly", "ro", "volume-nocopy", "bind-nonrecursive"}
_MOUNT_KEYS = {
    "type",
    "source",
    "src",
    "target",
    "dst",
    "destination",
    "readonly",
    "ro",
    "consistency",
    "bind-propagation",
    "bind-nonrecursive",
    "bind-recursive",
    "volume-subpath",
    "volume-nocopy",
    "volume-label",
    "volume-driver",
    "volume-opt",
    "image-subpath",
    "tmpfs-size",
    "tmpfs-mode",
}
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def parse_mount(value: str) -> MountSpec:
    """``--mount`` as opts.MountOpt.Set reads it: CSV, keys case-insensitive, type defaults to volume.

    Every check docker makes is made here, with its words: bad option values, options of one
    mount type on another (``cannot mix 'tmpfs-*' options with mount type 'volume'``), and
    the ``bind-recursive`` rules.  A relative source is made absolute as the CLI does.
    """
    flag = "--mount"
    kind, source, target, readonly = "volume", "", "", False
    options: list[tuple[str, str]] = []
    families: set[str] = set()  # which *Options structs docker would have created
    for field in _csv_record(value, flag):
        key, eq, val = field.partition("=")
        key = key.lower()
        if not eq:
            if key not in _MOUNT_FLAGS:
                raise _bad(value, flag, f"invalid field '{field}' must be a key=value pair")
            val = "true"
        if key not in _MOUNT_KEYS:
            raise _bad(value, flag, f"unexpected key '{key}' in '{field}'")
        if key == "type":
            kind = val.lower()
        elif key in ("source", "src"):
            source = os.path.abspath(val) if val.startswith(".") and not os.path.isabs(val) else val
        elif key in ("target", "dst", "destination"):
            target = val
        elif key in ("readonly", "ro"):
            readonly = _mount_bool(value, key, val)
        else:
            families |= _check_mount_option(value, key, val)
            options.append((key, val))
    if not kind:
        raise _bad(value, flag, "type is required")
    if not target:
        raise _bad(value, flag, "target is required")
    _cross_check_mount(value, kind, readonly, families, dict(options))
    return MountSpec("mount", value, kind, source, target, readonly, tuple(options))


def _cross_check_mount(value: str, kind: str, readonly: bool, families: set[str], options: dict[str, str]) -> None:
    """What MountOpt.Set checks once all fields are read: option families, bind-recursive."""
    for family in ("volume", "image", "bind", "tmpfs"):
        if family in families and kind != family:
            raise _bad(value, "--mount", f"cannot mix '{family}-*' options with mount type '{kind}'")
    recursive = options.get("bind-recursive")
    needs = "option 'bind-recursive={}' requires '{}' to be specified in conjunction"
    if recursive in ("writable", "readonly") and not readonly:
        raise _bad(value, "--mount", needs.format(recursive, "readonly"))
    if recursive == "readonly" and options.get("bind-propagation", "").lower() != "rprivate":
        raise _bad(value, "--mount", needs.format(recursive, "bind-propagation=rprivate"))


def _mount_bool(value: str, key: str, val: str) -> bool:
    if val not in _TRUE | _FALSE:
        raise _bad(value, "--mount", f"invalid value for {key}: {val}")
    return val in _TRUE


_RECURSIVE = ("enabled", "disabled", "writable", "readonly")


def _check_mount_option(value: str, key: str, val: str) -> set[str]:
    """Validate one option's value; the option structs (bind, volume, tmpfs, image) it creates."""
    if key in ("bind-nonrecursive", "volume-nocopy"):
        if val not in _TRUE | _FALSE:
            what = "volume-nocopy" if key == "volume-nocopy" else key
            raise _bad(value, "--mount", f"invalid value for {what}: {val}")
    elif key == "bind-recursive":
        if val not in _RECURSIVE:
            raise _bad(
                value,
                "--mount",
                f'invalid value for {key}: {val} (must be "enabled", "disabled", "writable", or "readonly")',
            )
        if val == "enabled":
            return set()  # docker creates no BindOptions for it
    elif key == "tmpfs-size":
        try:
            ram_in_bytes(val)
        except ValueError:
            raise _bad(value, "--mount", f"invalid value for {key}: {val}") from None
    elif key == "tmpfs-mode":
        try:
            mode = int(val, 8) if val and val.isascii() and val.isdigit() else -1
        except ValueError:
            mode = -1
        if not 0 <= mode < 2**32:
            raise _bad(value, "--mount", f"invalid value for {key}: {val}")
    family = key.split("-")[0]
    return {family} if family in ("bind", "volume", "tmpfs", "image") else set()


def _is_file_path(source: str) -> bool:
    # volumespec.isFilePath: what the CLI (and so the daemon) treats as a host path.
    if source[0] in "./~":
        return True
    if len(source) == 1:
        return False
    return source.startswith("\\\\") or (source[0].isalpha() and source[1] == ":")


def parse_volume(value: str) -> MountSpec:
    """``-v [SOURCE:]TARGET[:OPTIONS]`` as volumespec.Parse reads it (Windows drive letters included)."""
    flag = "--volume"
    if not value:
        raise _bad(value, flag, "invalid empty volume spec")
    if len(value) <= 2:
        return MountSpec("volume", value, "volume", "", value)
    parts: list[str] = []
    buf = ""
    for ch in value:
        if ch == ":" and not (len(buf) == 1 and buf.isalpha()):  # "C:" is a Windows drive, not a separator
            parts.append(buf)
            buf = ""
        else:
            buf += ch
    parts.append(buf)
    if any(p == "" for p in parts):
        raise _bad(value, flag, f"invalid spec: {value}: empty section between colons")
    if len(parts) > 3:
        raise _bad(value, flag, f"invalid spec: {value}: too many colons")
    if len(parts) == 1:
        return MountSpec("volume", value, "volume", "", parts[0])
    source, target = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else ""
    kind = "bind" if _is_file_path(source) else "volume"
    readonly = "ro" in mode.split(",")
    return MountSpec("volume", value, kind, source, target, readonly, (("mode", mode),) if mode else ())


_LONG_NETWORK = re.compile(r"\w+=\w+(,\w+=\w+)*", re.ASCII)
_NETWORK_KEYS = {"name", "alias", "ip", "ip6", "mac-address", "link-local-ip", "driver-opt", "gw-priority"}


def parse_network(value: str) -> NetworkSpec:
    """``--network`` as opts.NetworkOpt.Set reads it (the long form is found by an unanchored regexp)."""
    if not _LONG_NETWORK.search(value):
        return NetworkSpec(value, value)
    target = ""
    options: list[tuple[str, str]] = []
    for field in _csv_record(value, "--network"):
        # docker lower-cases the whole field, value included: name=MyNet is network "mynet"
        key, eq, val = field.lower().partition("=")
        if not eq or not key:
            raise _bad(value, "--network", f"invalid field {field}")
        key, val = key.strip(), val.strip()
        if key not in _NETWORK_KEYS:
            raise _bad(value, "--network", f"invalid field key {key}")
        if key == "name":
            target = val
            continue
        if key == "driver-opt" and ("=" not in val or not val.partition("=")[0].strip()):
            raise _bad(value, "--network", "invalid key value pair format in driver options")
        if key == "gw-priority":
            try:
                go_atoi(val)
            except ValueError as err:
                why = "value out of range" if "range" in str(err) else "invalid syntax"
                raise _bad(value, "--network", f"invalid gw-priority ({val}): {why}") from None
        options.append((key, val))
    if not target:
        raise _bad(value, "--network", "network name/id is not specified")
    return NetworkSpec(value, target, tuple(options))


# --- capabilities ----------------------------------------------------------------


def _mount_caps(m: MountSpec) -> Iterator[tuple[str, str]]:
    where = f"-v {m.raw}" if m.origin == "volume" else f"--mount {m.raw}"
    path_like = m.source and (m.type == "bind" or _is_file_path(m.source))
    if path_like:
        # a volume mount with a path as source is refused by the daemon; treat it as a bind anyway
        yield f"bind:{caps.normalize_path(m.source)}", where
        if caps.touches_docker_socket(m.source):
            yield "docker-socket", where
    elif m.type == "bind":
        yield "bind:", where  # a bind without a source: never grantable
    if m.type not in ("bind", "volume", "tmpfs", "image"):
        yield f"mount-type:{m.type}", where
        if m.type == "npipe" and "docker" in m.source.lower():
            yield "docker-socket", where
    driver_opts = m.option("volume-opt")
    if driver_opts or any(d not in ("", "local") for d in m.option("volume-driver")):
        # local driver options can bind any host path: type=none,o=bind,device=/
        yield "volume-opt", where
    for opt in driver_opts:
        key, _, val = opt.partition("=")
        if key == "device" and val:
            yield f"bind:{caps.normalize_path(val)}", where
            if caps.touches_docker_socket(val):
                yield "docker-socket", where


def _namespace_caps(parsed: Parsed, networks: Sequence[NetworkSpec]) -> Iterator[tuple[str, str]]:
    modes = [(ns, str(parsed[ns])) for ns in ("pid", "ipc", "uts", "userns", "cgroupns")]
    modes += [("network", n.target) for n in networks]
    for ns, raw in modes:
        # docker compares these case-sensitively; folding case only ever refuses more.
        mode = raw.strip().lower()
        if mode == "host":
            yield f"{ns}:host", f"--{ns} {raw}"
        elif mode.startswith("container:") and ns in ("pid", "ipc", "network"):
            yield f"{ns}:container", f"--{ns} {raw}"


def _security_opt_cap(opt: str) -> str | None:
    # parseSecurityOpts: KEY=VALUE, or the legacy KEY:VALUE; only no-new-privileges may omit it
    key, eq, val = opt.partition("=")
    if not eq and key != "no-new-privileges":
        key, eq, val = opt.partition(":")
    if (not eq or not val) and key != "no-new-privileges":
        raise ParseError(f"invalid --security-opt: {opt!r}")
    if key == "no-new-privileges" and val in ("", *_TRUE):
        return None  # only ever restricts the container
    return f"security-opt:{key}={val}"


def _privilege_caps(parsed: Parsed) -> Iterator[tuple[str, str]]:
    if parsed["privileged"]:
        yield "privileged", "--privileged"
    for cap in parsed["cap-add"]:
        yield f"cap-add:{caps.normalize_cap_name(cap)}", f"--cap-add {cap}"
    for dev in parsed["device"]:
        host = dev if "=" in dev.partition(":")[0] else dev.partition(":")[0]  # CDI names keep their "="
        yield f"device:{caps.normalize_path(host)}", f"--device {dev}"
    if parsed["device-cgroup-rule"]:
        yield "device-cgroup-rule", "--device-cgroup-rule"
    if parsed["gpus"]:
        yield "gpus", "--gpus"
    if parsed["cgroup-parent"]:
        yield "cgroup-parent", "--cgroup-parent"
    for opt in parsed["security-opt"]:
        if (cap := _security_opt_cap(opt)) is not None:
            yield cap, f"--security-opt {opt}"
    if parsed["runtime"] not in (None, "", "runc"):
        yield f"runtime:{parsed['runtime']}", "--runtime"
    for kv in parsed["sysctl"]:
        yield f"sysctl:{kv.partition('=')[0]}", f"--sysctl {kv}"
    for kv in parsed["annotation"]:
        yield f"annotation:{kv.partition('=')[0]}", f"--annotation {kv}"
    if parsed["oom-kill-disable"]:
        yield "oom-kill-disable", "--oom-kill-disable"
    if parsed["oom-score-adj"] < 0:
        yield "oom-score-adj", f"--oom-score-adj {parsed['oom-score-adj']}"


def _storage_caps(parsed: Parsed, mounts: Sequence[MountSpec]) -> Iterator[tuple[str, str]]:
    for m in mounts:
        yield from _mount_caps(m)
    if parsed["use-api-socket"]:
        yield "docker-socket", "--use-api-socket"
        yield "bind:/var/run/docker.sock", "--use-api-socket"
    for src in parsed["volumes-from"]:
        yield f"volumes-from:{src.partition(':')[0]}", f"--volumes-from {src}"
    if parsed["volume-driver"] not in (None, "", "local"):
        yield f"volume-driver:{parsed['volume-driver']}", "--volume-driver"


def _client_file_caps(parsed: Parsed) -> Iterator[tuple[str, str]]:
    # docker reads or writes these on the machine running the CLI: here, the bot's own host
    for name in ("env-file", "label-file"):
        if parsed[name]:
            yield name, f"--{name}"
    if parsed["cidfile"]:
        yield "cidfile", "--cidfile"
    yield from _env_caps(parsed)


def _run_caps(
    parsed: Parsed, mounts: Sequence[MountSpec], networks: Sequence[NetworkSpec]
) -> Iterator[tuple[str, str]]:
    yield from _privilege_caps(parsed)
    yield from _namespace_caps(parsed, networks)
    yield from _storage_caps(parsed, mounts)
    yield from _client_file_caps(parsed)


def _env_caps(parsed: Parsed) -> Iterator[tuple[str, str]]:
    for env in parsed["env"]:
        if "=" not in env:
            # docker copies the variable from its own environment: the bot's secrets
            yield f"env-inherit:{env}", f"-e {env}"


def _exec_caps(parsed: Parsed) -> Iterator[tuple[str, str]]:
    if parsed["privileged"]:
        yield "exec-privileged", "--privileged"
    if parsed["user"] and caps.normalize_user(parsed["user"]) == "root":
        yield "user:root", f"-u {parsed['user']}"
    if parsed["env-file"]:
        yield "env-file", "--env-file"
    yield from _env_caps(parsed)


def _check_args(verb: str, parsed: Parsed) -> None:
    if parsed.opts.get("help"):
        return  # help is answered before anything runs
    need = _MIN_ARGS[verb]
    if len(parsed.args) < need:
        plural = "" if need == 1 else "s"
        raise ParseError(f'"docker {verb}" requires at least {need} argument{plural}.', usage=f"Usage:  {USAGE[verb]}")
    if verb == "update" and not parsed.given:
        raise ParseError("you must provide one or more flags when using this command")


_SPELLED = {verb: {f.name: f.spelled() for f in flags} for verb, flags in FLAG_TABLES.items()}


def parse_command(verb: str, argv: Sequence[str]) -> GuardedCommand:
    """Parse a run/create/exec/update command line (words after the verb) and derive its capabilities.

    Raises bot.errors.ParseError (a UserError) worded like docker for anything docker would refuse.
    ValueError only for a verb the guard does not cover (a programming error).
    """
    canon = _guarded_verb(verb)
    return guard_parsed(canon, _FLAGSETS[canon].parse(list(argv)))


def guard_parsed(verb: str, parsed: Parsed) -> GuardedCommand:
    """The flag guard's reading of a command line already parsed with this verb's flag table.

    The dispatcher parses each command once with the command's FlagSet; for run/create that
    is :data:`RUN_FLAGS`/:data:`CREATE_FLAGS`, so its Parsed is read here as is, never parsed
    again.  For run/create the result carries the RunSpec built from the same values as the
    capabilities: the gate judges the one, the engine is sent the other.
    """
    canon = _guarded_verb(verb)
    _check_args(canon, parsed)
    spec = None
    if canon in ("run", "create"):
        try:
            mounts = tuple([parse_volume(v) for v in parsed["volume"]] + [parse_mount(v) for v in parsed["mount"]])
            networks = tuple(parse_network(v) for v in _ordered(parsed, ("net", "network")))
        except ParseError as err:
            if err.usage is None:
                err.usage = f"Usage:  {USAGE[canon]}\n\nRun 'docker {canon} --help' for more information"
            raise
        origins = tuple(dict.fromkeys(_run_caps(parsed, mounts, networks)))
        if not parsed.opts.get("help"):
            pairs = [(n.target, n.options) for n in networks]
            spec = build_spec(canon, parsed, mounts, pairs, _SPELLED[canon])
    else:
        mounts, networks = (), ()
        origins = tuple(dict.fromkeys(_exec_caps(parsed))) if canon == "exec" else ()
    return GuardedCommand(canon, parsed, tuple(parsed.args), mounts, networks, origins, spec)


def capabilities(verb: str, argv: Sequence[str]) -> frozenset[str]:
    """The normalized capabilities a command line asks for; empty for verbs without dangerous flags.

    Raises bot.errors.ParseError (a UserError) for anything docker would refuse to parse.
    """
    canon = canonical_verb(verb)
    if canon not in GUARDED:
        return frozenset()
    return parse_command(canon, argv).capabilities
