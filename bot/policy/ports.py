"""``-p`` and ``--expose`` as the docker CLI reads them (go-connections/nat, opts.go).

``80``, ``8080:80``, ``127.0.0.1:8080:80``, ``[::1]:8080:80``, ``8000-8010:80``,
``8000-8001:80-81/udp`` and the long form ``published=8080,target=80,protocol=udp`` all
become the same ExposedPorts and PortBindings the CLI sends.  Pure; errors are
:class:`ValueError` in docker's words, which the caller wraps as docker does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.policy.goparse import go_ip

_PROTOCOLS = ("tcp", "udp", "sctp")

# One published port: the container port ("80/tcp") and its host side (ip, host port).
Binding = tuple[str, str]
PortBindings = dict[str, list[Binding]]


def _parse_uint16(text: str) -> int:
    # strconv.ParseUint(s, 10, 16): decimal digits only, no sign
    if not text.isascii() or not text.isdigit() or int(text) > 65535:
        raise ValueError(f'strconv.ParseUint: parsing "{text}": invalid syntax')
    return int(text)


def parse_port_range(text: str) -> tuple[int, int]:
    """nat.ParsePortRange: ``80`` or ``8000-8010``."""
    if not text:
        raise ValueError("empty string specified for ports")
    if "-" not in text:
        port = _parse_uint16(text)
        return port, port
    parts = text.split("-")
    start, end = _parse_uint16(parts[0]), _parse_uint16(parts[1])
    if end < start:
        raise ValueError(f"invalid range specified for port: {text}")
    return start, end


def split_proto_port(text: str) -> tuple[str, str]:
    """nat.SplitProtoPort: ``80/udp`` -> (``udp``, ``80``); no protocol is tcp."""
    parts = text.split("/")
    if not text or not parts[0]:
        return "", ""
    if len(parts) == 1 or not parts[1]:
        return "tcp", parts[0]
    return parts[1], parts[0]


def _port_key(proto: str, start: int, end: int) -> str:
    return f"{start}/{proto}" if start == end else f"{start}-{end}/{proto}"


def _split_parts(raw: str) -> tuple[str, str, str]:
    parts = raw.split(":")
    if len(parts) == 1:
        return "", "", parts[0]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    return ":".join(parts[:-2]), parts[-2], parts[-1]


def _host_ip(ip: str) -> str:
    if ip.startswith("["):
        # net.SplitHostPort(ip + ":") takes the address out of its brackets
        if not ip.endswith("]") or "]" in ip[1:-1]:
            raise ValueError(f"invalid IP address {ip}: address {ip}:: missing port in address")
        ip = ip[1:-1]
    if ip and go_ip(ip) is None:
        raise ValueError(f"invalid IP address: {ip}")
    return ip


def parse_port_spec(raw: str) -> list[tuple[str, Binding]]:
    """nat.ParsePortSpec: the (container port, binding) pairs one ``-p`` asks for."""
    ip, host_port, container_port = _split_parts(raw)
    proto, container_port = split_proto_port(container_port)
    ip = _host_ip(ip)
    if not container_port:
        raise ValueError(f"no port specified: {raw}<empty>")
    try:
        start, end = parse_port_range(container_port)
    except ValueError:
        raise ValueError(f"invalid containerPort: {container_port}") from None
    host_start = host_end = 0
    if host_port:
        try:
            host_start, host_end = parse_port_range(host_port)
        except ValueError:
            raise ValueError(f"invalid hostPort: {host_port}") from None
    if host_port and (end - start) != (host_end - host_start) and end != start:
        raise ValueError(f"invalid ranges specified for container and host Ports: {container_port} and {host_port}")
    if proto.lower() not in _PROTOCOLS:
        raise ValueError(f"invalid proto: {proto}")
    out = []
    for i in range(end - start + 1):
        shown_host = str(host_start + i) if host_port else host_port
        if start == end and host_start != host_end:
            shown_host = f"{shown_host}-{host_end}"
        out.append((_port_key(proto.lower(), start + i, start + i), (ip, shown_host)))
    return out


def to_standard_notation(values: Iterable[str]) -> list[str]:
    """convertToStandardNotation: the long form ``published=8080,target=80`` as ``8080:80/tcp``."""
    out = []
    for value in values:
        if "=" not in value:
            out.append(value)
            continue
        params = {"protocol": "tcp"}
        for param in value.split(","):
            key, eq, val = param.partition("=")
            if not eq or not key:
                raise ValueError(f"invalid publish opts format (should be name=value but got '{param}')")
            params[key] = val
        out.append(f"{params.get('published', '')}:{params.get('target', '')}/{params['protocol']}")
    return out


def parse_publish(values: Sequence[str]) -> tuple[list[str], PortBindings]:
    """nat.ParsePortSpecs over all ``-p``: exposed ports in first-seen order, and the bindings."""
    exposed: dict[str, None] = {}
    bindings: PortBindings = {}
    for raw in to_standard_notation(values):
        for port, binding in parse_port_spec(raw):
            exposed.setdefault(port, None)
            bindings.setdefault(port, []).append(binding)
    return list(exposed), bindings


def parse_expose(values: Sequence[str], exposed: list[str]) -> list[str]:
    """``--expose 80``, ``--expose 7000-7002/udp`` merged into the published ports (no duplicates)."""
    out = dict.fromkeys(exposed)
    for value in values:
        if ":" in value:
            raise ValueError(f"invalid port format for --expose: {value}")
        proto, port = split_proto_port(value)
        try:
            start, end = parse_port_range(port)
        except ValueError as err:
            raise ValueError(f"invalid range format for --expose: {value}, error: {err}") from None
        for p in range(start, end + 1):
            out.setdefault(_port_key(proto, p, p), None)
    return list(out)
