"""What docker checks as it reads each ``run``/``create`` flag (the ``Set`` of each flag's type).

A value docker refuses while parsing flags is refused here with docker's words, and the
caller says ``invalid argument "V" for "-a, --attach" flag: <words>`` as pflag does.  Each
validator returns the value as docker stores it (``-a STDOUT`` is ``stdout``, ``--add-host
h=1.2.3.4`` is ``h:1.2.3.4``).  Pure; errors are :class:`ValueError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.policy.goparse import go_atoi, go_ip, ram_in_bytes, validate_dns_search, validate_ip

Validator = Callable[[str], str]


def attach(value: str) -> str:
    lowered = value.lower()
    if lowered not in ("stdin", "stdout", "stderr"):
        raise ValueError("valid streams are STDIN, STDOUT and STDERR")
    return lowered


def env(value: str) -> str:
    # opts.ValidateEnv; "-e NAME" is completed from the environment later, on the worker
    if not value.partition("=")[0]:
        raise ValueError(f"invalid environment variable: {value}")
    return value


def label(value: str) -> str:
    key = value.partition("=")[0].lstrip(" \t")
    if not key:
        raise ValueError(f"invalid label '{value}': empty name")
    if any(c in key for c in " \t"):
        raise ValueError(f"label '{key}' contains whitespaces")
    return value


def extra_host(value: str) -> str:
    """opts.ValidateExtraHost: ``host:ip`` or ``host=ip``, sent to the engine as ``host:ip``."""
    key, eq, addr = value.partition("=")
    if not eq:
        key, eq, addr = value.partition(":")
    if not eq or not key or ":" in key:
        raise ValueError(f'bad format for add-host: "{value}"')
    if addr != "host-gateway":
        if len(addr) > 2 and addr[0] == "[" and addr[-1] == "]":
            addr = addr[1:-1]
        if go_ip(addr.strip()) is None:
            raise ValueError(f'invalid IP address in add-host: "{addr}"')
    return f"{key}:{addr}"


def link(value: str) -> str:
    if not value:
        raise ValueError("empty string specified for links")
    if len(value.split(":", 2)) > 2:
        raise ValueError(f"bad format for links: {value}")
    return value


_SYSCTLS = {
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
}


def sysctl(value: str) -> str:
    key, eq, _ = value.partition("=")
    if eq and key and (key in _SYSCTLS or key.startswith(("net.", "fs.mqueue."))):
        return value
    raise ValueError(f"sysctl '{value}' is not allowed")


_CGROUP_RULE = re.compile(r"^[acb] ([0-9]+|\*):([0-9]+|\*) [rwm]{1,3}$")


def device_cgroup_rule(value: str) -> str:
    if not _CGROUP_RULE.match(value):
        raise ValueError(f"invalid device cgroup format '{value}'")
    return value


def _device_and(value: str) -> tuple[str, str]:
    path, sep, rest = value.partition(":")
    if not sep or not path:
        raise ValueError(f"bad format: {value}")
    if not path.startswith("/dev/"):
        raise ValueError(f"bad format for device path: {value}")
    return path, rest


def throttle_bps(value: str) -> str:
    path, rate = _device_and(value)
    try:
        ram_in_bytes(rate)
    except ValueError:
        raise ValueError(
            f"invalid rate for device: {value}. The correct format is <device-path>:<number>[<unit>]. "
            "Number must be a positive integer. Unit is optional and can be kb, mb, or gb"
        ) from None
    return f"{path}:{rate}"


def throttle_iops(value: str) -> str:
    path, rate = _device_and(value)
    if not rate.isascii() or not rate.isdigit() or int(rate) >= 2**64:
        raise ValueError(
            f"invalid rate for device: {value}. The correct format is <device-path>:<number>. "
            "Number must be a positive integer"
        )
    return f"{path}:{rate}"


def weight_device(value: str) -> str:
    path, weight = _device_and(value)
    if not weight.isascii() or not weight.isdigit() or int(weight) > 65535:
        raise ValueError(f"invalid weight for device: {value}")
    if int(weight) > 0 and not 10 <= int(weight) <= 1000:
        raise ValueError(f"invalid weight for device: {value}")
    return f"{path}:{weight}"


_ULIMITS = frozenset(
    "core cpu data fsize locks memlock msgqueue nice nofile nproc rss rtprio rttime sigpending stack".split()
)


def ulimit(value: str) -> str:
    """go-units ParseUlimit: ``nofile=1024[:2048]``; -1 is unlimited."""
    name, eq, limits = value.partition("=")
    if not eq:
        raise ValueError(f"invalid ulimit argument: {value}")
    if name not in _ULIMITS:
        raise ValueError(f"invalid ulimit type: {name}")
    parts = limits.split(":")
    if len(parts) > 2:
        raise ValueError(f"too many limit value arguments - {limits}, can only have up to two, `soft[:hard]`")
    hard = go_atoi(parts[1]) if len(parts) == 2 else None
    soft = go_atoi(parts[0])
    hard = soft if hard is None else hard
    if hard != -1 and soft == -1:
        raise ValueError(
            f"ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: {hard}"
        )
    if hard != -1 and soft > hard:
        raise ValueError(f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
    return f"{name}={soft}:{hard}"


def size(value: str) -> str:
    ram_in_bytes(value)
    return value


def swap_size(value: str) -> str:
    return value if value == "-1" else size(value)


def ip(value: str) -> str:
    return validate_ip(value)


# Flags whose values docker checks while parsing, and how.
VALIDATORS: dict[str, Validator] = {
    "attach": attach,
    "env": env,
    "label": label,
    "add-host": extra_host,
    "link": link,
    "sysctl": sysctl,
    "device-cgroup-rule": device_cgroup_rule,
    "device-read-bps": throttle_bps,
    "device-write-bps": throttle_bps,
    "device-read-iops": throttle_iops,
    "device-write-iops": throttle_iops,
    "blkio-weight-device": weight_device,
    "ulimit": ulimit,
    "dns": ip,
    "dns-search": validate_dns_search,
    "memory": size,
    "memory-reservation": size,
    "kernel-memory": size,
    "shm-size": size,
    "io-maxbandwidth": size,
    "memory-swap": swap_size,
}
