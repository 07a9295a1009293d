"""RunSpec: the container a ``run``/``create`` command line asks for, read once, typed and pure.

The flag guard (flagguard.py) parses the words with docker's flag table; :func:`build_spec`
turns that one parse into a RunSpec, checking everything docker checks (the ``Set`` of each
flag, then ``parse()`` in docker/cli's cli/command/container/opts.go) and refusing with
docker's words.  The same parse gives the capabilities the gate judges, and
bot/engine/runconfig.py turns the RunSpec into the Engine API request the CLI would send:
what was judged is what runs.

Nothing here reads a file or the environment.  The few things docker resolves on the
machine running the CLI (``--env-file``, ``--label-file``, ``-e NAME`` without a value) are
kept as typed and resolved on the worker's host, and only where the policy granted them
(capabilities ``env-file``, ``label-file``, ``env-inherit:NAME``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.cliparse import Parsed
from bot.errors import ParseError
from bot.policy import setvalues
from bot.policy.goparse import go_duration_ns, go_mac, parse_cpus, ram_in_bytes
from bot.policy.ports import parse_expose, parse_publish

Binding = tuple[str, str]  # (host IP, host port)
Pair = tuple[str, str]


@dataclass(frozen=True)
class Health:
    """``--health-*`` / ``--no-healthcheck``, as Config.Healthcheck (durations in nanoseconds)."""

    test: tuple[str, ...] | None
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0


@dataclass(frozen=True)
class Endpoint:
    """One network the container joins, with its per-network options (EndpointSettings)."""

    network: str
    aliases: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    ipv4: str = ""
    ipv6: str = ""
    link_local_ips: tuple[str, ...] = ()
    mac_address: str = ""
    driver_opts: tuple[Pair, ...] = ()
    gw_priority: int = 0

    @property
    def empty(self) -> bool:
        return self == Endpoint(self.network)


@dataclass(frozen=True)
class Mount:
    """One ``-v`` or ``--mount``: where it came from, and what it mounts."""

    origin: str  # "volume" (-v: HostConfig.Binds or Config.Volumes) or "mount" (--mount: HostConfig.Mounts)
    raw: str
    type: str
    source: str
    target: str
    readonly: bool = False
    options: tuple[Pair, ...] = ()  # keys lower-cased, in the order typed

    def option(self, key: str) -> list[str]:
        return [v for k, v in self.options if k == key]


@dataclass(frozen=True)
class RunSpec:
    """Everything ``docker run``/``docker create`` would send for one command line."""

    verb: str  # run | create
    image: str
    cmd: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None  # ("",): --entrypoint= resets the image's
    name: str = ""
    # --- environment and metadata (files and bare -e NAME resolved on the worker) ---
    env: tuple[str, ...] = ()
    env_files: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    label_files: tuple[str, ...] = ()
    hostname: str = ""
    domainname: str = ""
    user: str = ""
    workdir: str = ""
    mac_address: str = ""
    stop_signal: str = ""
    stop_timeout: int | None = None  # only when --stop-timeout was given
    health: Health | None = None
    # --- attaching (run without -d attaches stdout and stderr, as the CLI does) ---
    attach: tuple[str, ...] = ()
    interactive: bool = False
    tty: bool = False
    detach: bool = False
    # --- ports ---
    exposed_ports: tuple[str, ...] = ()
    port_bindings: tuple[tuple[str, tuple[Binding, ...]], ...] = ()
    publish_all: bool = False
    # --- storage ---
    mounts: tuple[Mount, ...] = ()  # -v first, then --mount, each in the order typed
    tmpfs: tuple[Pair, ...] = ()
    volumes_from: tuple[str, ...] = ()
    volume_driver: str = ""
    read_only: bool = False
    storage_opt: tuple[Pair, ...] = ()
    # --- lifecycle ---
    restart: str = ""  # policy name ("" or "no": none)
    restart_retries: int = 0
    auto_remove: bool = False
    init: bool | None = None  # only when --init was given
    # --- resources ---
    memory: int = 0
    memory_reservation: int = 0
    memory_swap: int = 0
    memory_swappiness: int = -1
    kernel_memory: int = 0
    nano_cpus: int = 0
    cpu_shares: int = 0
    cpu_period: int = 0
    cpu_quota: int = 0
    cpu_rt_period: int = 0
    cpu_rt_runtime: int = 0
    cpuset_cpus: str = ""
    cpuset_mems: str = ""
    cpu_count: int = 0
    cpu_percent: int = 0
    blkio_weight: int = 0
    blkio_weight_device: tuple[Pair, ...] = ()
    device_read_bps: tuple[Pair, ...] = ()
    device_write_bps: tuple[Pair, ...] = ()
    device_read_iops: tuple[Pair, ...] = ()
    device_write_iops: tuple[Pair, ...] = ()
    io_max_bandwidth: int = 0
    io_max_iops: int = 0
    pids_limit: int = 0
    oom_kill_disable: bool = False
    oom_score_adj: int = 0
    shm_size: int = 0
    ulimits: tuple[tuple[str, int, int], ...] = ()
    # --- privileges, devices, namespaces ---
    privileged: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    group_add: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()
    unconfined_paths: bool = False  # --security-opt systempaths=unconfined
    devices: tuple[tuple[str, str, str], ...] = ()  # (on host, in container, permissions)
    cdi_devices: tuple[str, ...] = ()
    device_cgroup_rules: tuple[str, ...] = ()
    sysctls: tuple[Pair, ...] = ()
    annotations: tuple[Pair, ...] = ()
    ipc: str = ""
    pid: str = ""
    uts: str = ""
    userns: str = ""
    cgroupns: str = ""
    cgroup_parent: str = ""
    runtime: str = ""
    isolation: str = ""
    # --- networking ---
    network_mode: str = "default"
    endpoints: tuple[Endpoint, ...] = ()
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_options: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    # --- logging ---
    log_driver: str = ""
    log_opts: tuple[Pair, ...] = ()
    # --- create options ---
    platform: str = ""
    pull: str = "missing"
    quiet: bool = False
    cidfile: str = ""
    use_api_socket: bool = False  # bind-mounts the engine's socket (capability docker-socket)
    gpus: tuple[str, ...] = ()

    @property
    def inherited_env(self) -> tuple[str, ...]:
        """``-e NAME`` without a value: docker copies NAME from its own environment."""
        return tuple(e for e in self.env if "=" not in e)

    @property
    def attach_streams(self) -> tuple[bool, bool, bool]:
        """(stdin, stdout, stderr) as Config.Attach*: stdout and stderr unless -a says otherwise, none with -d."""
        if self.detach:
            return False, False, False
        if not self.attach:
            return self.interactive, True, True
        return "stdin" in self.attach or self.interactive, "stdout" in self.attach, "stderr" in self.attach


class _Flags:
    """The parsed flags with docker's ``Set`` checks applied, in command-line order."""

    def __init__(self, verb: str, parsed: Parsed, spelled: dict[str, str]) -> None:
        self.verb = verb
        self.parsed = parsed
        self.spelled = spelled
        self.checked: dict[str, list[str]] = {}
        self._check_all()

    def _check_all(self) -> None:
        seen: dict[str, int] = {}
        for name in self.parsed.given:
            value = self.parsed[name]
            if isinstance(value, list):
                value = value[seen.get(name, 0)]
                seen[name] = seen.get(name, 0) + 1
            if not isinstance(value, str):
                continue
            self.checked.setdefault(name, []).append(self._check(name, value))

    def _check(self, name: str, value: str) -> str:
        validator = setvalues.VALIDATORS.get(name)
        try:
            if validator is not None:
                return validator(value)
            if name == "cpus":
                parse_cpus(value)
            elif name.startswith("health-") and name != "health-cmd" and name != "health-retries":
                go_duration_ns(value)
        except ValueError as err:
            raise self.bad(name, value, str(err)) from None
        return value

    def bad(self, name: str, value: str, why: str) -> ParseError:
        usage = f"Usage:  docker {self.verb} [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n{_see(self.verb)}"
        return ParseError(f'invalid argument "{value}" for "{self.spelled[name]}" flag: {why}', usage=usage)

    def values(self, *names: str) -> tuple[str, ...]:
        """Checked values of list flags stored together (``dns-opt`` + ``dns-option``), in order typed."""
        out: list[str] = []
        counters = dict.fromkeys(names, 0)
        for name in self.parsed.given:
            if name in counters:
                out.append(self.checked[name][counters[name]])
                counters[name] += 1
        return tuple(out)

    def text(self, name: str) -> str:
        return str(self.parsed[name] or "")

    def number(self, name: str) -> int:
        return int(self.parsed[name] or 0)

    def flag(self, name: str) -> bool:
        return bool(self.parsed[name])

    def size(self, name: str) -> int:
        value = self.parsed[name]
        if not value:
            return 0
        return -1 if value == "-1" and name == "memory-swap" else ram_in_bytes(str(value))

    def duration(self, name: str) -> int:
        value = self.parsed[name]
        return go_duration_ns(str(value)) if value else 0

    def given(self, name: str) -> bool:
        return name in self.parsed.given


def _see(verb: str) -> str:
    return f"Run 'docker {verb} --help' for more information"


class _Refusal(Exception):
    """An error of docker's parse(): shown as ``docker: <message>``."""


def _pairs(values: Sequence[str]) -> tuple[Pair, ...]:
    """KEY=VALUE strings as pairs, the last one of a key winning (a Go map), in first-seen order."""
    out: dict[str, str] = {}
    for value in values:
        key, _, val = value.partition("=")
        out[key] = val
    return tuple(out.items())


def _health(flags: _Flags) -> Health | None:
    cmd = flags.text("health-cmd")
    interval, timeout = flags.duration("health-interval"), flags.duration("health-timeout")
    start_period, start_interval = flags.duration("health-start-period"), flags.duration("health-start-interval")
    retries = flags.number("health-retries")
    have = bool(cmd) or any((interval, timeout, start_period, retries, start_interval))
    if flags.flag("no-healthcheck"):
        if have:
            raise _Refusal("--no-healthcheck conflicts with --health-* options")
        return Health(("NONE",))
    if not have:
        return None
    for name, value in (
        ("interval", interval),
        ("timeout", timeout),
        ("retries", retries),
        ("start-period", start_period),
        ("start-interval", start_interval),
    ):
        if value < 0:
            raise _Refusal(f"--health-{name} cannot be negative")
    return Health(("CMD-SHELL", cmd) if cmd else None, interval, timeout, start_period, start_interval, retries)


def _namespaces(flags: _Flags) -> None:
    pid = flags.text("pid")
    if not (pid in ("", "host") or (pid.startswith("container:") and pid != "container:")):
        raise _Refusal("--pid: invalid PID mode")
    if flags.text("uts") not in ("", "host"):
        raise _Refusal("--uts: invalid UTS mode")
    if flags.text("userns") not in ("", "host"):
        raise _Refusal("--userns: invalid USER mode")
    if flags.text("cgroupns") not in ("", "host", "private"):
        raise _Refusal("--cgroupns: invalid CGROUP mode")


def _restart(text: str) -> tuple[str, int]:
    """opts.ParseRestartPolicy."""
    if not text:
        return "", 0
    name, colon, count = text.partition(":")
    if colon and not name:
        raise _Refusal("invalid restart policy format: no policy provided before colon")
    retries = 0
    if count:
        body = count[1:] if count[:1] in "+-" else count
        if not body.isascii() or not body.isdigit():
            raise _Refusal("invalid restart policy format: maximum retry count must be an integer")
        retries = int(count)
    return name, retries


def _security_opts(values: Sequence[str]) -> tuple[tuple[str, ...], bool]:
    out = []
    unconfined = False
    for opt in values:
        key, eq, val = opt.partition("=")
        if not eq and key != "no-new-privileges":
            key, eq, val = opt.partition(":")
        if (not eq or not val) and key != "no-new-privileges":
            raise _Refusal(f'Invalid --security-opt: "{opt}"')
        if opt == "systempaths=unconfined":
            unconfined = True
            continue
        out.append(opt)
    return tuple(out), unconfined


def _devices(values: Sequence[str]) -> tuple[tuple[tuple[str, str, str], ...], tuple[str, ...]]:
    mapped: list[tuple[str, str, str]] = []
    cdi: list[str] = []
    for device in values:
        if _is_cdi_name(device):
            cdi.append(device)
            continue
        mapped.append(_linux_device(device))
    return tuple(mapped), tuple(cdi)


def _is_cdi_name(device: str) -> bool:
    # vendor.com/class=name
    kind, eq, name = device.partition("=")
    vendor, slash, cls = kind.partition("/")
    return bool(eq and name and slash and vendor and cls and "." in vendor)


def _device_mode(mode: str) -> bool:
    return bool(mode) and len(set(mode)) == len(mode) and set(mode) <= set("rwm")


def _linux_device(device: str) -> tuple[str, str, str]:
    """validateLinuxPath then parseLinuxDevice: ``/dev/x[:/dev/y][:rwm]``."""
    parts = device.split(":")
    if len(parts) > 3 or not parts[0]:
        raise _Refusal(f"bad format for path: {device}")
    if len(parts) == 1:
        container, validated = parts[0], [posixpath.normpath(parts[0])]
    elif len(parts) == 2 and _device_mode(parts[1]):
        container, validated = parts[0], [posixpath.normpath(parts[0]), parts[1]]
    elif len(parts) == 2:
        container, validated = parts[1], [parts[0], posixpath.normpath(parts[1])]
    else:
        container, validated = parts[1], parts
        if not _device_mode(parts[2]):
            raise _Refusal(f"bad mode specified: {parts[2]}")
    if not container.startswith("/"):
        raise _Refusal(f"{container} is not an absolute path")
    permissions, target = "rwm", ""
    if len(validated) == 3:
        permissions = validated[2]
    if len(validated) >= 2:
        if _device_mode(validated[1]):
            permissions = validated[1]
        else:
            target = validated[1]
    return validated[0], target or validated[0], permissions


def _user_defined(network: str) -> bool:
    return network not in ("default", "bridge", "host", "none") and not network.startswith("container:")


@dataclass(frozen=True)
class _Legacy:
    """The pre-``--network name=...`` flags, which apply to the first network."""

    aliases: tuple[str, ...]
    links: tuple[str, ...]
    ipv4: str
    ipv6: str
    mac: str
    link_local_ips: tuple[str, ...]


def _endpoints(flags: _Flags, networks: Sequence[tuple[str, Sequence[Pair]]]) -> tuple[str, tuple[Endpoint, ...]]:
    """parseNetworkOpts: the network mode and the endpoints the CLI sends."""
    legacy = _Legacy(
        flags.values("net-alias", "network-alias"),
        flags.values("link"),
        flags.text("ip"),
        flags.text("ip6"),
        flags.text("mac-address"),
        flags.values("link-local-ip"),
    )
    attachments = list(networks) or [("default", ())]
    endpoints: list[Endpoint] = []
    seen: set[str] = set()
    user_defined = non_user_defined = False
    for i, (target, options) in enumerate(attachments):
        if networks:
            user_defined |= _user_defined(target)
            non_user_defined |= not _user_defined(target)
        ep = _endpoint(target, options, legacy if i == 0 else None)
        if networks and target in seen:
            raise _Refusal(f'network "{target}" is specified multiple times')
        seen.add(target)
        if networks and i == 0 and len(networks) == 1 and ep.empty:
            continue  # one network without options: the daemon creates the endpoint itself
        endpoints.append(ep)
    if user_defined and non_user_defined:
        raise _Refusal("conflicting options: cannot attach both user-defined and non-user-defined network-modes")
    return attachments[0][0] if networks else "default", tuple(endpoints)


def _endpoint(target: str, options: Sequence[Pair], legacy: _Legacy | None) -> Endpoint:
    """applyContainerOptions (for the first network) then parseNetworkAttachmentOpt."""
    aliases = [v for k, v in options if k == "alias"]
    links: list[str] = []
    lli = [v for k, v in options if k == "link-local-ip"]
    got = dict(options)
    ipv4, ipv6, mac = got.get("ip", ""), got.get("ip6", ""), got.get("mac-address", "")
    if legacy is not None:
        pairs: tuple[tuple[object, object, str], ...] = (
            (aliases, legacy.aliases, "--network-alias and per-network alias"),
            (links, legacy.links, "--link and per-network links"),
            (ipv4, legacy.ipv4, "--ip and per-network IPv4 address"),
            (ipv6, legacy.ipv6, "--ip6 and per-network IPv6 address"),
            (mac, legacy.mac, "--mac-address and per-network MAC address"),
            (lli, legacy.link_local_ips, "--link-local-ip and per-network link-local IP addresses"),
        )
        for mine, theirs, what in pairs:
            if mine and theirs:
                raise _Refusal(f"conflicting options: cannot specify both {what}")
        aliases = list(legacy.aliases) or aliases
        if _user_defined(target) and legacy.links:
            links = list(legacy.links)
        ipv4, ipv6, mac = legacy.ipv4 or ipv4, legacy.ipv6 or ipv6, legacy.mac or mac
        lli = list(legacy.link_local_ips) or lli
    if not target.strip():
        raise _Refusal("no name set for network")
    if not _user_defined(target):
        if aliases:
            raise _Refusal("network-scoped aliases are only supported for user-defined networks")
        if links:
            raise _Refusal("links are only supported for user-defined networks")
    if mac and not go_mac(mac):
        raise _Refusal(f"{mac} is not a valid mac address")
    return Endpoint(
        target,
        tuple(aliases),
        tuple(links),
        ipv4,
        ipv6,
        tuple(lli),
        mac,
        _pairs([v for k, v in options if k == "driver-opt"]),
        int(got.get("gw-priority", "0") or 0),
    )


def _ulimits(values: Sequence[str]) -> tuple[tuple[str, int, int], ...]:
    out: dict[str, tuple[int, int]] = {}
    for value in values:  # already checked and normalized: NAME=SOFT:HARD
        name, _, limits = value.partition("=")
        soft, _, hard = limits.partition(":")
        out[name] = (int(soft), int(hard))
    return tuple((name, soft, hard) for name, (soft, hard) in sorted(out.items()))


def _rates(values: Sequence[str], *, sizes: bool) -> tuple[Pair, ...]:
    out = []
    for value in values:
        path, _, rate = value.partition(":")
        out.append((path, str(ram_in_bytes(rate)) if sizes else rate))
    return tuple(out)


def build_spec(
    verb: str,
    parsed: Parsed,
    mounts: Sequence[Mount],
    networks: Sequence[tuple[str, Sequence[Pair]]],
    spelled: dict[str, str],
) -> RunSpec:
    """The RunSpec of one parsed run/create command line; ParseError in docker's words otherwise.

    ``mounts`` and ``networks`` are the flag guard's own reading of ``-v``/``--mount`` and
    ``--network`` (the same objects its capabilities come from); ``spelled`` names each flag
    as docker's errors do (``-a, --attach``).
    """
    flags = _Flags(verb, parsed, spelled)
    try:
        return _build(verb, flags, parsed, mounts, networks)
    except _Refusal as err:
        raise ParseError(f"docker: {err}", usage=_see(verb)) from None


def _build(
    verb: str,
    flags: _Flags,
    parsed: Parsed,
    mounts: Sequence[Mount],
    networks: Sequence[tuple[str, Sequence[Pair]]],
) -> RunSpec:
    pull = flags.text("pull")
    if pull not in ("always", "missing", "never", ""):
        raise _Refusal(f'invalid pull option: \'{pull}\': must be one of "always", "missing" or "never"')
    mac = flags.text("mac-address")
    if mac and not go_mac(mac):
        raise _Refusal(f"{mac} is not a valid mac address")
    swappiness = int(parsed["memory-swappiness"])
    if swappiness != -1 and not 0 <= swappiness <= 100:
        raise _Refusal(f"invalid value: {swappiness}. Valid memory swappiness range is 0-100")
    args = list(parsed.args)
    try:
        exposed, bindings = parse_publish(flags.values("publish"))
        exposed = parse_expose(flags.values("expose"), exposed)
    except ValueError as err:
        raise _Refusal(str(err)) from None
    devices, cdi = _devices(flags.values("device"))
    _namespaces(flags)
    restart, retries = _restart(flags.text("restart"))
    log_driver, log_opts = flags.text("log-driver"), flags.values("log-opt")
    if log_driver == "none" and log_opts:
        raise _Refusal(f"invalid logging opts for driver {log_driver}")
    security, unconfined = _security_opts(flags.values("security-opt"))
    storage = flags.values("storage-opt")
    if any("=" not in opt for opt in storage):
        raise _Refusal("invalid storage option")
    health = _health(flags)
    auto_remove = flags.flag("rm")
    if auto_remove and restart not in ("", "no"):
        raise _Refusal("conflicting options: cannot specify both --restart and --rm")
    network_mode, endpoints = _endpoints(flags, networks)
    detach = verb == "run" and flags.flag("detach")
    if detach and flags.values("attach"):
        raise _Refusal("conflicting options: cannot specify both --attach and --detach")
    entrypoint = flags.text("entrypoint")
    return RunSpec(
        verb=verb,
        image=args[0],
        cmd=tuple(args[1:]) or None,
        entrypoint=(entrypoint,) if entrypoint else (("",) if flags.given("entrypoint") else None),
        name=flags.text("name"),
        env=flags.values("env"),
        env_files=flags.values("env-file"),
        labels=flags.values("label"),
        label_files=flags.values("label-file"),
        hostname=flags.text("hostname"),
        domainname=flags.text("domainname"),
        user=flags.text("user"),
        workdir=flags.text("workdir"),
        mac_address=mac,
        stop_signal=flags.text("stop-signal"),
        stop_timeout=flags.number("stop-timeout") if flags.given("stop-timeout") else None,
        health=health,
        attach=flags.values("attach"),
        interactive=flags.flag("interactive"),
        tty=flags.flag("tty"),
        detach=detach,
        exposed_ports=tuple(exposed),
        port_bindings=tuple((port, tuple(b)) for port, b in bindings.items()),
        publish_all=flags.flag("publish-all"),
        mounts=tuple(mounts),
        tmpfs=tuple((k, v) for k, v in (t.partition(":")[::2] for t in flags.values("tmpfs"))),
        volumes_from=flags.values("volumes-from"),
        volume_driver=flags.text("volume-driver"),
        read_only=flags.flag("read-only"),
        storage_opt=_pairs(storage),
        restart=restart,
        restart_retries=retries,
        auto_remove=auto_remove,
        init=flags.flag("init") if flags.given("init") else None,
        memory=flags.size("memory"),
        memory_reservation=flags.size("memory-reservation"),
        memory_swap=flags.size("memory-swap"),
        memory_swappiness=swappiness,
        kernel_memory=flags.size("kernel-memory"),
        nano_cpus=parse_cpus(flags.text("cpus")) if flags.text("cpus") else 0,
        cpu_shares=flags.number("cpu-shares"),
        cpu_period=flags.number("cpu-period"),
        cpu_quota=flags.number("cpu-quota"),
        cpu_rt_period=flags.number("cpu-rt-period"),
        cpu_rt_runtime=flags.number("cpu-rt-runtime"),
        cpuset_cpus=flags.text("cpuset-cpus"),
        cpuset_mems=flags.text("cpuset-mems"),
        cpu_count=flags.number("cpu-count"),
        cpu_percent=flags.number("cpu-percent"),
        blkio_weight=flags.number("blkio-weight"),
        blkio_weight_device=_rates(flags.values("blkio-weight-device"), sizes=False),
        device_read_bps=_rates(flags.values("device-read-bps"), sizes=True),
        device_write_bps=_rates(flags.values("device-write-bps"), sizes=True),
        device_read_iops=_rates(flags.values("device-read-iops"), sizes=False),
        device_write_iops=_rates(flags.values("device-write-iops"), sizes=False),
        io_max_bandwidth=flags.size("io-maxbandwidth"),
        io_max_iops=flags.number("io-maxiops"),
        pids_limit=flags.number("pids-limit"),
        oom_kill_disable=flags.flag("oom-kill-disable"),
        oom_score_adj=flags.number("oom-score-adj"),
        shm_size=flags.size("shm-size"),
        ulimits=_ulimits(flags.values("ulimit")),
        privileged=flags.flag("privileged"),
        cap_add=flags.values("cap-add"),
        cap_drop=flags.values("cap-drop"),
        group_add=flags.values("group-add"),
        security_opt=security,
        unconfined_paths=unconfined,
        devices=devices,
        cdi_devices=cdi,
        device_cgroup_rules=flags.values("device-cgroup-rule"),
        sysctls=_pairs(flags.values("sysctl")),
        annotations=_pairs(flags.values("annotation")),
        ipc=flags.text("ipc"),
        pid=flags.text("pid"),
        uts=flags.text("uts"),
        userns=flags.text("userns"),
        cgroupns=flags.text("cgroupns"),
        cgroup_parent=flags.text("cgroup-parent"),
        runtime=flags.text("runtime"),
        isolation=flags.text("isolation"),
        network_mode=network_mode,
        endpoints=endpoints,
        dns=flags.values("dns"),
        dns_search=flags.values("dns-search"),
        dns_options=flags.values("dns-opt", "dns-option"),
        extra_hosts=flags.values("add-host"),
        links=flags.values("link"),
        log_driver=log_driver,
        log_opts=_pairs(log_opts),
        platform=flags.text("platform"),
        pull=pull or "missing",
        quiet=flags.flag("quiet"),
        cidfile=flags.text("cidfile"),
        use_api_socket=flags.flag("use-api-socket"),
        gpus=flags.values("gpus"),
    )
