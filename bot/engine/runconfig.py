"""A RunSpec as the Engine API request ``docker run``/``docker create`` sends: POST /containers/create.

The body is built field for field as docker/cli's ``parse()`` (cli/command/container/opts.go)
and ``createContainer`` (create.go) build Config, HostConfig and NetworkingConfig, and posted
as is through docker-py's ``create_container_from_config``: nothing of docker-py's own
defaults gets in between.  Everything here is pure; what docker reads on the machine running
the CLI (env files, label files, its own environment for ``-e NAME``) is passed in by the
caller, which reads it on the worker's host.

Two steps, because a job carries its request through Redis: :func:`plan` (in the handler,
from the very RunSpec the gate judged) gives a :class:`CreateRequest` of plain JSON, and
:func:`body` (in the job, on the worker) completes it with what was read there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.policy.goparse import ram_in_bytes
from bot.policy.runspec import Endpoint, Health, Mount, RunSpec

# Labels dockbell adds to every container it creates (documented in docs/commands.md).
CREATED_BY = "dockbell.created-by"

JSON = dict[str, Any]


@dataclass(frozen=True)
class CreateRequest:
    """What a run/create job sends, as plain JSON (job args are JSON only)."""

    body: JSON  # Config + HostConfig + NetworkingConfig, before the worker-side completions below
    name: str = ""
    platform: str = ""
    image: str = ""
    pull: str = "missing"
    quiet: bool = False
    detach: bool = False
    auto_remove: bool = False
    cidfile: str = ""
    # Resolved on the worker's host, as docker resolves them on the CLI's:
    env: list[str] = field(default_factory=list)  # -e as typed; a bare NAME comes from the environment
    env_files: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)  # -l as typed, then dockbell's own
    label_files: list[str] = field(default_factory=list)
    seccomp_files: list[str] = field(default_factory=list)  # --security-opt seccomp=PATH: sent as its JSON
    api_socket: bool = False

    def to_json(self) -> JSON:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CreateRequest:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


def plan(spec: RunSpec, *, extra_labels: Mapping[str, str] = {}) -> CreateRequest:
    """The request for ``spec``; ``extra_labels`` (dockbell's own) are added last."""
    seccomp = [opt.partition("=")[2] for opt in spec.security_opt if _seccomp_file(opt)]
    return CreateRequest(
        body={**_config(spec), "HostConfig": _host_config(spec), "NetworkingConfig": _networking(spec)},
        name=spec.name,
        platform=spec.platform,
        image=spec.image,
        pull=spec.pull,
        quiet=spec.quiet,
        detach=spec.detach or spec.verb == "create",
        auto_remove=spec.auto_remove,
        cidfile=spec.cidfile,
        env=list(spec.env),
        env_files=list(spec.env_files),
        labels=[*spec.labels, *(f"{k}={v}" for k, v in extra_labels.items())],
        label_files=list(spec.label_files),
        seccomp_files=seccomp,
        api_socket=spec.use_api_socket,
    )


def body(
    request: CreateRequest,
    *,
    env_from_files: Sequence[str] = (),
    labels_from_files: Sequence[str] = (),
    environ: Mapping[str, str] = {},
    seccomp_profiles: Mapping[str, str] = {},
    api_socket: str | None = None,
) -> JSON:
    """The final create body: env and labels as ReadKVEnvStrings/ReadKVStrings make them."""
    out = json.loads(json.dumps(request.body))  # a copy: the request stays as planned
    typed = [_inherit(e, environ) for e in request.env]
    # Only -e goes through the CLI's map (one entry per name); env files are added after it
    # as read, so a name both in a file and in -e is there twice, as with the CLI.
    out["Env"] = [*env_from_files, *_env_list(typed)]
    out["Labels"] = _kv_map([*labels_from_files, *request.labels])
    host = out["HostConfig"]
    if seccomp_profiles:
        host["SecurityOpt"] = [_with_profile(opt, seccomp_profiles) for opt in host.get("SecurityOpt") or []]
    if request.api_socket and api_socket:
        mounts = host.get("Mounts") or []
        mounts.append({"Type": "bind", "Source": api_socket, "Target": "/var/run/docker.sock", "BindOptions": {}})
        host["Mounts"] = mounts
    return dict(out)


def normalize_capabilities(caps: Sequence[str]) -> list[str] | None:
    """What the Docker client library sends: upper case, ``CAP_`` prefixed (``ALL`` kept), unique, sorted."""
    out = sorted(
        {c.upper() if c.upper() == "ALL" or c.upper().startswith("CAP_") else "CAP_" + c.upper() for c in caps}
    )
    return out or None


def api_version_problem(final: JSON, api_version: str) -> str | None:
    """The client library's refusals for an engine too old for what is asked (its NewVersionError)."""
    checks = [
        ("1.44", "specify health-check start interval", bool((final.get("Healthcheck") or {}).get("StartInterval"))),
        (
            "1.44",
            "specify mac-address per network",
            any((ep or {}).get("MacAddress") for ep in final["NetworkingConfig"]["EndpointsConfig"].values()),
        ),
    ]
    for needed, feature, asked in checks:
        if asked and _older(api_version, needed):
            return f'"{feature}" requires API version {needed}, but the Docker daemon API version is {api_version}'
    for mount in final["HostConfig"].get("Mounts") or []:
        if (mount.get("BindOptions") or {}).get("ReadOnlyForceRecursive") and _older(api_version, "1.44"):
            return "bind-recursive=readonly requires API v1.44 or later"
    return None


def for_api(final: JSON, api_version: str) -> JSON:
    """The fields the client library drops for some API versions, dropped likewise."""
    host = final["HostConfig"]
    if not _older(api_version, "1.42") or _older(api_version, "1.40"):
        host["KernelMemory"] = 0
    if not _older(api_version, "1.44"):
        final.pop("MacAddress", None)
    return final


def _older(version: str, than: str) -> bool:
    def parts(v: str) -> tuple[int, ...]:
        return tuple(int(p) for p in v.split(".") if p.isdigit())

    return parts(version) < parts(than)


def _seccomp_file(opt: str) -> bool:
    key, eq, value = opt.partition("=")
    if not eq:
        key, eq, value = opt.partition(":")
    return key == "seccomp" and value not in ("builtin", "unconfined")


def _with_profile(opt: str, profiles: Mapping[str, str]) -> str:
    if not _seccomp_file(opt):
        return opt
    path = opt.partition("=")[2] if "=" in opt else opt.partition(":")[2]
    return f"seccomp={profiles[path]}" if path in profiles else opt


def _inherit(value: str, environ: Mapping[str, str]) -> str:
    # opts.ValidateEnv: NAME alone takes NAME's value from the environment, if it has one
    if "=" in value or value not in environ:
        return value
    return f"{value}={environ[value]}"


def _env_list(values: Sequence[str]) -> list[str]:
    """The CLI turns -e into a map and back (ConvertKVStringsToMapWithNil): one entry per
    name, the last one winning.  Go's map has no order; dockbell keeps the first position."""
    merged: dict[str, str] = {}
    for value in values:
        merged[value.partition("=")[0]] = value
    return list(merged.values())


def _kv_map(values: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        key, _, val = value.partition("=")
        out[key] = val
    return out


def _config(spec: RunSpec) -> JSON:
    stdin, stdout, stderr = spec.attach_streams
    config: JSON = {
        "Hostname": spec.hostname,
        "Domainname": spec.domainname,
        "User": spec.user,
        "AttachStdin": stdin,
        "AttachStdout": stdout,
        "AttachStderr": stderr,
        "ExposedPorts": {port: {} for port in spec.exposed_ports},
        "Tty": spec.tty,
        "OpenStdin": spec.interactive,
        "StdinOnce": spec.interactive and stdin,
        "Env": list(spec.env),  # completed on the worker (env files, -e NAME)
        "Cmd": list(spec.cmd) if spec.cmd is not None else None,
        "Image": spec.image,
        "Volumes": {m.target: {} for m in spec.mounts if m.origin == "volume" and not m.source} or None,
        "WorkingDir": spec.workdir,
        "Entrypoint": list(spec.entrypoint) if spec.entrypoint is not None else None,
        "Labels": {},  # completed on the worker (label files)
        "StopSignal": spec.stop_signal,
    }
    mac = spec.mac_address or next((e.mac_address for e in spec.endpoints if e.network == spec.network_mode), "")
    if mac:
        config["MacAddress"] = mac  # for engines before API 1.44, as the CLI does
    if spec.health is not None:
        config["Healthcheck"] = _health(spec.health)
    if spec.stop_timeout is not None:
        config["StopTimeout"] = spec.stop_timeout
    return config


def _health(health: Health) -> JSON:
    return {
        "Test": list(health.test) if health.test is not None else None,
        "Interval": health.interval,
        "Timeout": health.timeout,
        "StartPeriod": health.start_period,
        "StartInterval": health.start_interval,
        "Retries": health.retries,
    }


def _binds(spec: RunSpec) -> list[str] | None:
    """-v entries with a source; a relative host path made absolute as the CLI does."""
    out = []
    for m in spec.mounts:
        if m.origin != "volume" or not m.source:
            continue
        raw = m.raw
        if m.type == "bind":
            host, colon, rest = raw.partition(":")
            if colon and not os.path.isabs(host) and host.startswith("."):
                raw = f"{os.path.abspath(host)}:{rest}"
        out.append(raw)
    return out or None


def _mount(m: Mount) -> JSON:
    """One --mount as mount.Mount (opts/mount.go)."""
    out: JSON = {"Type": m.type, "Source": m.source, "Target": m.target, "ReadOnly": m.readonly}
    options: dict[str, JSON] = {"BindOptions": {}, "VolumeOptions": {}, "TmpfsOptions": {}, "ImageOptions": {}}
    for key, val in m.options:
        if key == "consistency":
            out["Consistency"] = val.lower()
        elif key.startswith("bind-"):
            _bind_option(options["BindOptions"], key, val)
        elif key.startswith("volume-"):
            _volume_option(options["VolumeOptions"], key, val)
        elif key == "image-subpath":
            options["ImageOptions"]["Subpath"] = val
        elif key == "tmpfs-size":
            options["TmpfsOptions"]["SizeBytes"] = ram_in_bytes(val)
        elif key == "tmpfs-mode":
            options["TmpfsOptions"]["Mode"] = int(val, 8)
    for name, struct in options.items():
        # docker creates the struct as soon as one of its options is given, even a default one
        prefix = name.removesuffix("Options").lower() + "-"
        if struct or _has(m, prefix):
            out[name] = struct
    return out


def _bind_option(bind: JSON, key: str, val: str) -> None:
    if key == "bind-propagation":
        bind["Propagation"] = val.lower()
    elif key == "bind-nonrecursive":
        bind["NonRecursive"] = val in _TRUE
    elif key == "bind-recursive" and val == "disabled":
        bind["NonRecursive"] = True
    elif key == "bind-recursive" and val == "writable":
        bind["ReadOnlyNonRecursive"] = True
    elif key == "bind-recursive" and val == "readonly":
        bind["ReadOnlyForceRecursive"] = True


_TRUE = ("1", "t", "T", "TRUE", "true", "True")


def _has(m: Mount, prefix: str) -> bool:
    return any(k.startswith(prefix) and not (k == "bind-recursive" and v == "enabled") for k, v in m.options)


def _volume_option(volume: JSON, key: str, val: str) -> None:
    volume.setdefault("Labels", {})
    driver = volume.setdefault("DriverConfig", {})
    if key == "volume-nocopy":
        volume["NoCopy"] = val in _TRUE
    elif key == "volume-subpath":
        volume["Subpath"] = val
    elif key == "volume-label":
        k, _, v = val.partition("=")
        if k:
            volume["Labels"][k] = v
    elif key == "volume-driver":
        driver["Name"] = val
    elif key == "volume-opt":
        k, _, v = val.partition("=")
        if k:
            driver.setdefault("Options", {})[k] = v


def _throttle(pairs: Sequence[tuple[str, str]], field_name: str) -> list[JSON]:
    return [{"Path": path, field_name: int(value)} for path, value in pairs]


def _resources(spec: RunSpec) -> JSON:
    devices = [{"PathOnHost": h, "PathInContainer": c, "CgroupPermissions": p} for h, c, p in spec.devices]
    requests = [{"Driver": "cdi", "DeviceIDs": list(spec.cdi_devices)}] if spec.cdi_devices else []
    return {
        "CgroupParent": spec.cgroup_parent,
        "BlkioWeight": spec.blkio_weight,
        "BlkioWeightDevice": _throttle(spec.blkio_weight_device, "Weight"),
        "BlkioDeviceReadBps": _throttle(spec.device_read_bps, "Rate"),
        "BlkioDeviceWriteBps": _throttle(spec.device_write_bps, "Rate"),
        "BlkioDeviceReadIOps": _throttle(spec.device_read_iops, "Rate"),
        "BlkioDeviceWriteIOps": _throttle(spec.device_write_iops, "Rate"),
        "CpuShares": spec.cpu_shares,
        "CpuPeriod": spec.cpu_period,
        "CpuQuota": spec.cpu_quota,
        "CpuRealtimePeriod": spec.cpu_rt_period,
        "CpuRealtimeRuntime": spec.cpu_rt_runtime,
        "CpusetCpus": spec.cpuset_cpus,
        "CpusetMems": spec.cpuset_mems,
        "CpuCount": spec.cpu_count,
        "CpuPercent": spec.cpu_percent,
        "Devices": devices,
        "DeviceCgroupRules": list(spec.device_cgroup_rules) or None,
        "DeviceRequests": requests or None,
        "KernelMemory": spec.kernel_memory,
        "Memory": spec.memory,
        "MemoryReservation": spec.memory_reservation,
        "MemorySwap": spec.memory_swap,
        "MemorySwappiness": spec.memory_swappiness,
        "NanoCpus": spec.nano_cpus,
        "OomKillDisable": spec.oom_kill_disable,
        "PidsLimit": spec.pids_limit,
        "Ulimits": [{"Name": n, "Soft": s, "Hard": h} for n, s, h in spec.ulimits],
        "IOMaximumIOps": spec.io_max_iops,
        "IOMaximumBandwidth": spec.io_max_bandwidth,
    }


def _host_config(spec: RunSpec) -> JSON:
    host: JSON = {
        "Binds": _binds(spec),
        "ContainerIDFile": spec.cidfile,
        "LogConfig": {"Type": spec.log_driver, "Config": dict(spec.log_opts)},
        "NetworkMode": spec.network_mode,
        "PortBindings": {
            port: [{"HostIp": ip, "HostPort": hp} for ip, hp in bindings] for port, bindings in spec.port_bindings
        },
        "RestartPolicy": {"Name": spec.restart, "MaximumRetryCount": spec.restart_retries},
        "AutoRemove": spec.auto_remove,
        "VolumeDriver": spec.volume_driver,
        "VolumesFrom": list(spec.volumes_from) or None,
        "CapAdd": normalize_capabilities(spec.cap_add),
        "CapDrop": normalize_capabilities(spec.cap_drop),
        "CgroupnsMode": spec.cgroupns,
        "Dns": list(spec.dns),
        "DnsOptions": list(spec.dns_options),
        "DnsSearch": list(spec.dns_search),
        "ExtraHosts": list(spec.extra_hosts) or None,
        "GroupAdd": list(spec.group_add) or None,
        "IpcMode": spec.ipc,
        "Links": list(spec.links) or None,
        "OomScoreAdj": spec.oom_score_adj,
        "PidMode": spec.pid,
        "Privileged": spec.privileged,
        "PublishAllPorts": spec.publish_all,
        "ReadonlyRootfs": spec.read_only,
        "SecurityOpt": list(spec.security_opt) or None,
        "StorageOpt": dict(spec.storage_opt),
        "Tmpfs": dict(spec.tmpfs),
        "UTSMode": spec.uts,
        "UsernsMode": spec.userns,
        "ShmSize": spec.shm_size,
        "Sysctls": dict(spec.sysctls),
        "Runtime": spec.runtime,
        "Isolation": spec.isolation,
        **_resources(spec),
        "Mounts": [_mount(m) for m in spec.mounts if m.origin == "mount"] or None,
        "Annotations": dict(spec.annotations) or None,
    }
    if spec.unconfined_paths:
        host["MaskedPaths"] = []
        host["ReadonlyPaths"] = []
    if spec.init is not None:
        host["Init"] = spec.init
    return host


def _endpoint(ep: Endpoint) -> JSON:
    out: JSON = {"Aliases": list(ep.aliases) or None, "GwPriority": ep.gw_priority}
    if ep.driver_opts:
        out["DriverOpts"] = dict(ep.driver_opts)
    if ep.links:
        out["Links"] = list(ep.links)
    if ep.ipv4 or ep.ipv6 or ep.link_local_ips:
        out["IPAMConfig"] = {
            "IPv4Address": ep.ipv4,
            "IPv6Address": ep.ipv6,
            "LinkLocalIPs": list(ep.link_local_ips) or None,
        }
    if ep.mac_address:
        out["MacAddress"] = ep.mac_address
    return out


def _networking(spec: RunSpec) -> JSON:
    return {"EndpointsConfig": {ep.network: _endpoint(ep) for ep in spec.endpoints}}
