"""``docker version``, ``docker info`` and ``docker top`` output (docker/cli's system/version.go,
system/info.go and container/top.go)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from bot.cli_output import gotemplate
from bot.cli_output.gotemplate import GoFunc
from bot.cli_output.tabwriter import render_tabbed
from bot.cli_output.units import bytes_size, human_duration

__all__ = ["format_info", "format_top", "format_version", "reformat_date"]

# The Server half of the CLI's defaultVersionTemplate, verbatim: executing it with our Go
# template engine reproduces its spacing and component order exactly.
_SERVER_VERSION_TEMPLATE = """{{- if ne .Server nil}}{{with .Server}}

Server:{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}
 {{- range $component := .Components}}
 {{$component.Name}}:
  {{- if eq $component.Name "Engine" }}
  Version:\t{{.Version}}
  API version:\t{{index .Details "ApiVersion"}} (minimum version {{index .Details "MinAPIVersion"}})
  Go version:\t{{index .Details "GoVersion"}}
  Git commit:\t{{index .Details "GitCommit"}}
  Built:\t{{index .Details "BuildTime"}}
  OS/Arch:\t{{index .Details "Os"}}/{{index .Details "Arch"}}
  Experimental:\t{{index .Details "Experimental"}}
  {{- else }}
  Version:\t{{$component.Version}}
  {{- $detailsOrder := getDetailsOrder $component}}
  {{- range $key := $detailsOrder}}
  {{$key}}:\t{{index $component.Details $key}}
   {{- end}}
  {{- end}}
 {{- end}}
 {{- end}}{{- end}}"""

_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def reformat_date(build_time: str) -> str:
    """The CLI's ``reformatDate``: RFC 3339 becomes Go's ANSIC ("Thu May  7 21:09:36 2026")."""
    match = _RFC3339.fullmatch(build_time)
    if match is None:
        return build_time
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    zone = match.group(8)
    offset = timedelta(0) if zone in ("Z", "z") else timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    if zone[0] == "-":
        offset = -offset
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone(offset))
    except ValueError:
        return build_time
    # ANSIC keeps the time in the zone it was written in.
    return f"{_DAYS[moment.weekday()]} {_MONTHS[moment.month - 1]} {moment.day:2d} {moment:%H:%M:%S} {moment.year}"


def _details_order(component: object) -> list[str]:
    details = component.get("Details") if isinstance(component, Mapping) else None
    return sorted(details or {})


def _server_for_template(server: Mapping[str, Any]) -> dict[str, Any]:
    """runVersion's fix-ups: Engine's BuildTime reformatted, an Engine component synthesized
    for daemons that do not list components."""
    data = dict(server)
    # Typed in Go: a daemon that sends no Platform still has Platform.Name == "".
    data.setdefault("Platform", {"Name": ""})
    components = [dict(c) for c in server.get("Components") or []]
    engine_found = False
    for component in components:
        if component.get("Name") == "Engine":
            engine_found = True
            details = dict(component.get("Details") or {})
            if "BuildTime" in details:
                details["BuildTime"] = reformat_date(details["BuildTime"])
            component["Details"] = details
    if not engine_found:
        components.append({
            "Name": "Engine",
            "Version": server.get("Version", ""),
            "Details": {
                "ApiVersion": server.get("ApiVersion", ""),
                "MinAPIVersion": server.get("MinAPIVersion", ""),
                "GitCommit": server.get("GitCommit", ""),
                "GoVersion": server.get("GoVersion", ""),
                "Os": server.get("Os", ""),
                "Arch": server.get("Arch", ""),
                "BuildTime": reformat_date(server.get("BuildTime", "")),
                "Experimental": "true" if server.get("Experimental") else "false",
            },
        })  # fmt: skip
    data["Components"] = components
    return data


def _client_lines(client: Mapping[str, Any]) -> list[str]:
    """The Client section, in the CLI's line order, for the fields dockbell knows about."""
    platform = client.get("Platform")
    name = platform.get("Name") if isinstance(platform, Mapping) else platform
    lines = [f"Client: {name or 'dockbell'}"]
    if client.get("Version"):
        lines.append(f" Version:\t{client['Version']}")
    api = client.get("ApiVersion") or client.get("APIVersion")
    if api:
        default = client.get("DefaultAPIVersion")
        downgraded = f" (downgraded from {default})" if default and default != api else ""
        lines.append(f" API version:\t{api}{downgraded}")
    labelled = (("PythonVersion", "Python version"), ("GoVersion", "Go version"), ("GitCommit", "Git commit"),
                ("BuildTime", "Built"))  # fmt: skip
    lines.extend(f" {label}:\t{client[key]}" for key, label in labelled if client.get(key))
    if client.get("Os") or client.get("Arch"):
        lines.append(f" OS/Arch:\t{client.get('Os', '')}/{client.get('Arch', '')}")
    if client.get("Context"):
        lines.append(f" Context:\t{client['Context']}")
    return lines


def format_version(server_version_json: Mapping[str, Any], client: Mapping[str, Any]) -> str:
    """``docker version``: a "Client: dockbell" section, then the Engine's Server section.

    ``client`` holds what dockbell says about itself: ``Version``, ``ApiVersion`` (the API
    version it speaks), optionally ``DefaultAPIVersion``, ``PythonVersion``, ``GitCommit``,
    ``BuildTime``, ``Os``/``Arch``, ``Context`` and ``Platform`` (default name "dockbell").
    """
    funcs = {"getDetailsOrder": GoFunc(_details_order, ("any",))}
    server_template = gotemplate.parse(_SERVER_VERSION_TEMPLATE, funcs=funcs, name="version")
    server_text = server_template.execute({"Server": _server_for_template(server_version_json)})
    text = "\n".join(_client_lines(client)) + server_text + "\n"
    return render_tabbed(text, minwidth=20, tabwidth=1, padding=1)


def format_top(top_json: Mapping[str, Any]) -> str:
    """``docker top``: Titles and Processes through a (20, 1, 3) tabwriter."""
    lines = ["\t".join(top_json.get("Titles") or [])]
    lines.extend("\t".join(proc) for proc in top_json.get("Processes") or [])
    return render_tabbed("".join(line + "\n" for line in lines), minwidth=20, tabwidth=1, padding=3)


# -- docker info ------------------------------------------------------------------------------


def _go(value: object) -> str:
    """How Go's fmt.Println shows a scalar (true/false, numbers, strings)."""
    return gotemplate.go_sprint(value if value is not None else "<nil>")


class _Lines:
    """fprintln / fprintlnNonEmpty / fprintf as used by prettyPrintServerInfo."""

    def __init__(self) -> None:
        self.out: list[str] = []

    def println(self, *parts: object) -> None:
        self.out.append(" ".join(_go(p) for p in parts))

    def println_non_empty(self, label: str, value: object) -> None:
        if value not in (None, ""):
            self.println(label, value)


def _security_options(options: Sequence[str]) -> list[tuple[str, list[tuple[str, str]]]] | None:
    """``system.DecodeSecurityOptions``; None when malformed (the CLI reports an error)."""
    decoded: list[tuple[str, list[tuple[str, str]]]] = []
    for opt in options:
        if "=" not in opt:
            decoded.append((opt, []))
            continue
        name, pairs = "", []
        for part in opt.split(","):
            key, eq, value = part.partition("=")
            if not eq or not key or not value:
                return None
            if key == "name":
                name = value
            else:
                pairs.append((key, value))
        decoded.append((name, pairs))
    return decoded


def _print_plugins(out: _Lines, plugins: Mapping[str, Any]) -> None:
    out.println(" Plugins:")
    out.println("  Volume:", " ".join(plugins.get("Volume") or []))
    out.println("  Network:", " ".join(plugins.get("Network") or []))
    if plugins.get("Authorization"):
        out.println("  Authorization:", " ".join(plugins["Authorization"]))
    out.println("  Log:", " ".join(plugins.get("Log") or []))


def _print_cluster(out: _Lines, cluster: Mapping[str, Any], swarm: Mapping[str, Any]) -> None:
    spec = cluster.get("Spec") or {}
    out.println("  ClusterID:", cluster.get("ID", ""))
    out.println("  Managers:", swarm.get("Managers", 0))
    out.println("  Nodes:", swarm.get("Nodes", 0))
    if cluster.get("DefaultAddrPool") is not None:
        out.println("  Default Address Pool:", "".join(p + "  " for p in cluster["DefaultAddrPool"]))
        out.println("  SubnetSize:", cluster.get("SubnetSize", 0))
    if (cluster.get("DataPathPort") or 0) > 0:
        out.println("  Data Path Port:", cluster["DataPathPort"])
    out.println("  Orchestration:")
    retention = (spec.get("Orchestration") or {}).get("TaskHistoryRetentionLimit") or 0
    out.println("   Task History Retention Limit:", retention)
    raft = spec.get("Raft") or {}
    out.println("  Raft:")
    out.println("   Snapshot Interval:", raft.get("SnapshotInterval", 0))
    if raft.get("KeepOldSnapshots") is not None:
        out.println("   Number of Old Snapshots to Retain:", raft["KeepOldSnapshots"])
    out.println("   Heartbeat Tick:", raft.get("HeartbeatTick", 0))
    out.println("   Election Tick:", raft.get("ElectionTick", 0))
    out.println("  Dispatcher:")
    heartbeat = (spec.get("Dispatcher") or {}).get("HeartbeatPeriod", 0)
    out.println("   Heartbeat Period:", human_duration(heartbeat / 1e9))
    ca = spec.get("CAConfig") or {}
    out.println("  CA Configuration:")
    out.println("   Expiry Duration:", human_duration((ca.get("NodeCertExpiry") or 0) / 1e9))
    out.println("   Force Rotate:", ca.get("ForceRotate", 0))
    if (ca.get("SigningCACert") or "").strip():
        out.out.append(f"   Signing CA Certificate: \n{ca['SigningCACert'].strip()}\n")
    if ca.get("ExternalCAs"):
        out.println("   External CAs:")
        for entry in ca["ExternalCAs"]:
            out.out.append(f"     {entry.get('Protocol', '')}: {entry.get('URL', '')}")
    out.println("  Autolock Managers:", (spec.get("EncryptionConfig") or {}).get("AutoLockManagers", False))
    out.println("  Root Rotation In Progress:", cluster.get("RootRotationInProgress", False))


def _print_swarm(out: _Lines, swarm: Mapping[str, Any]) -> None:
    state = swarm.get("LocalNodeState", "")
    out.println(" Swarm:", state)
    if state in ("inactive", "locked"):
        return
    out.println("  NodeID:", swarm.get("NodeID", ""))
    if swarm.get("Error"):
        out.println("  Error:", swarm["Error"])
    out.println("  Is Manager:", swarm.get("ControlAvailable", False))
    cluster = swarm.get("Cluster")
    if cluster and swarm.get("ControlAvailable") and not swarm.get("Error") and state != "error":
        _print_cluster(out, cluster, swarm)
    out.println("  Node Address:", swarm.get("NodeAddr", ""))
    managers = sorted(m.get("Addr", "") for m in swarm.get("RemoteManagers") or [])
    if managers:
        out.println("  Manager Addresses:")
        out.out.extend(f"   {m}" for m in managers)


def _print_runtime_and_security(out: _Lines, info: Mapping[str, Any]) -> None:
    runtimes = info.get("Runtimes") or {}
    if runtimes:
        # The CLI walks a Go map (random order); the API's order is sorted.
        out.println(" Runtimes:", " ".join(runtimes))
        out.println(" Default Runtime:", info.get("DefaultRuntime", ""))
    if info.get("OSType") == "linux":
        out.println(" Init Binary:", info.get("InitBinary", ""))
        out.println(" containerd version:", (info.get("ContainerdCommit") or {}).get("ID", ""))
        out.println(" runc version:", (info.get("RuncCommit") or {}).get("ID", ""))
        out.println(" init version:", (info.get("InitCommit") or {}).get("ID", ""))
        decoded = _security_options(info.get("SecurityOptions") or [])
        if decoded:
            out.println(" Security Options:")
            for name, options in decoded:
                out.out.append("  " + name)
                out.out.extend(f"   Profile: {value}" for key, value in options if key == "profile")
    if info.get("OSType") == "windows":
        out.println(" Default Isolation:", info.get("Isolation", ""))


def _print_host(out: _Lines, info: Mapping[str, Any]) -> None:
    out.println_non_empty(" Kernel Version:", info.get("KernelVersion"))
    out.println_non_empty(" Operating System:", info.get("OperatingSystem"))
    out.println_non_empty(" OSType:", info.get("OSType"))
    out.println_non_empty(" Architecture:", info.get("Architecture"))
    out.println(" CPUs:", info.get("NCPU", 0))
    out.println(" Total Memory:", bytes_size(info.get("MemTotal") or 0))
    out.println_non_empty(" Name:", info.get("Name"))
    out.println_non_empty(" ID:", info.get("ID"))
    out.println(" Docker Root Dir:", info.get("DockerRootDir", ""))
    out.println(" Debug Mode:", info.get("Debug", False))
    if info.get("Debug"):
        out.println("  File Descriptors:", info.get("NFd", 0))
        out.println("  Goroutines:", info.get("NGoroutines", 0))
        out.println("  System Time:", info.get("SystemTime", ""))
        out.println("  EventsListeners:", info.get("NEventsListener", 0))
    out.println_non_empty(" HTTP Proxy:", info.get("HttpProxy"))
    out.println_non_empty(" HTTPS Proxy:", info.get("HttpsProxy"))
    out.println_non_empty(" No Proxy:", info.get("NoProxy"))
    if info.get("Labels"):
        out.println(" Labels:")
        out.out.extend("  " + label for label in info["Labels"])
    out.println(" Experimental:", info.get("ExperimentalBuild", False))


def _print_registries(out: _Lines, info: Mapping[str, Any]) -> None:
    registry = info.get("RegistryConfig") or {}
    cidrs = registry.get("InsecureRegistryCIDRs") or []
    index_configs = registry.get("IndexConfigs") or {}
    if cidrs or index_configs:
        out.println(" Insecure Registries:")
        out.out.extend("  " + c.get("Name", "") for c in index_configs.values() if not c.get("Secure"))
        out.out.extend("  " + str(cidr) for cidr in cidrs)
    if registry.get("Mirrors"):
        out.println(" Registry Mirrors:")
        out.out.extend("  " + mirror for mirror in registry["Mirrors"])
    out.println(" Live Restore Enabled:", info.get("LiveRestoreEnabled", False))
    if info.get("ProductLicense"):
        out.println(" Product License:", info["ProductLicense"])
    pools = info.get("DefaultAddressPools") or []
    if pools:
        out.println(" Default Address Pools:")
        out.out.extend(f"   Base: {p.get('Base', '')}, Size: {p.get('Size', 0)}" for p in pools)


_SECTIONS: tuple[Callable[[_Lines, Mapping[str, Any]], None], ...] = (
    _print_runtime_and_security,
    _print_host,
    _print_registries,
)


def format_info(info_json: Mapping[str, Any], server_version: Mapping[str, Any] | None = None,
                *, include_warnings: bool = True) -> str:  # fmt: skip
    """``docker info``'s Server section (``prettyPrintServerInfo``), lines in the CLI's order.

    The Engine's warnings, which the CLI prints on stderr, follow when ``include_warnings``.
    ``server_version`` (``GET /version``) fills the Server Version when info lacks it.
    """
    info = dict(info_json)
    if not info.get("ServerVersion") and server_version:
        info["ServerVersion"] = server_version.get("Version", "")
    out = _Lines()
    out.println("Server:")
    out.println(" Containers:", info.get("Containers", 0))
    out.println("  Running:", info.get("ContainersRunning", 0))
    out.println("  Paused:", info.get("ContainersPaused", 0))
    out.println("  Stopped:", info.get("ContainersStopped", 0))
    out.println(" Images:", info.get("Images", 0))
    out.println_non_empty(" Server Version:", info.get("ServerVersion"))
    out.println_non_empty(" Storage Driver:", info.get("Driver"))
    out.out.extend(f"  {pair[0]}: {pair[1]}" for pair in info.get("DriverStatus") or [] if len(pair) >= 2)
    out.out.extend(f" {pair[0]}: {pair[1]}" for pair in info.get("SystemStatus") or [] if len(pair) >= 2)
    out.println_non_empty(" Logging Driver:", info.get("LoggingDriver"))
    out.println_non_empty(" Cgroup Driver:", info.get("CgroupDriver"))
    out.println_non_empty(" Cgroup Version:", info.get("CgroupVersion"))
    _print_plugins(out, info.get("Plugins") or {})
    if info.get("CDISpecDirs"):
        out.println(" CDI spec directories:")
        out.out.extend(f"  {d}" for d in info["CDISpecDirs"])
    _print_swarm(out, info.get("Swarm") or {})
    for section in _SECTIONS:
        section(out, info)
    text = "\n".join(out.out) + "\n\n"
    warnings = info.get("Warnings") or []
    if include_warnings and warnings:
        text += "".join(w + "\n" for w in warnings)
    return text
