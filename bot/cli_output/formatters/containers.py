"""``docker ps`` and ``docker port`` output, from docker/cli's formatter/container.go and port.go.

:class:`ContainerContext` wraps one item of the Engine's container list
(``GET /containers/json``, docker-py's ``api.containers()``) and exposes the fields the
CLI's ``--format`` templates know, rendered exactly as the CLI renders them (CLI 28.2:
ID, Names, Image, Command, CreatedAt, RunningFor, Platform, Ports, State, Status, Size,
Labels, Label, Mounts, LocalVolumes, Networks).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from bot.cli_output import gotemplate
from bot.cli_output.formatters.gotypes import decode
from bot.cli_output.formatters.inspect_types import SCHEMA
from bot.cli_output.formatters.reference import ReferenceError, parse_normalized_named, truncate_id
from bot.cli_output.gotemplate import GoNil, GoStruct, GoTemplateError
from bot.cli_output.tabwriter import display_width
from bot.cli_output.units import human_size, time_ago
from bot.errors import TemplateError, UserError

__all__ = [
    "CONTAINER_HEADERS",
    "PS_DEFAULT_TABLE",
    "PS_DEFAULT_TABLE_WITH_SIZE",
    "PS_RAW_FORMAT",
    "ContainerContext",
    "display_ports",
    "ellipsis",
    "format_port_output",
    "go_time_string",
    "join_host_port",
    "natural_less",
    "ps_format",
    "ps_needs_size",
]

PS_DEFAULT_TABLE = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
PS_DEFAULT_TABLE_WITH_SIZE = PS_DEFAULT_TABLE + "\t{{.Size}}"
PS_RAW_FORMAT = (
    "container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\n"
    "state: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\n"
    "labels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\n"
)

CONTAINER_HEADERS: dict[str, str] = {
    "ID": "CONTAINER ID",
    "Names": "NAMES",
    "Image": "IMAGE",
    "Command": "COMMAND",
    "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED",
    "Ports": "PORTS",
    "State": "STATE",
    "Status": "STATUS",
    "Size": "SIZE",
    "Labels": "LABELS",
    "Mounts": "MOUNTS",
    "LocalVolumes": "LOCAL VOLUMES",
    "Networks": "NETWORKS",
    "Platform": "PLATFORM",
}


def ellipsis(text: str, max_width: int) -> str:
    """docker's ``Ellipsis``: cut to a display width, ending in ``…`` (East Asian wide = 2)."""
    if max_width <= 0:
        return ""
    if max_width == 1:
        return text[:1]
    if text.isascii():
        return text if len(text) <= max_width else text[: max_width - 1] + "…"
    widths: list[int] = []
    total = 0
    for ch in text:
        total += 2 if display_width(ch) == 2 else 1
        widths.append(total)
    if total <= max_width:
        return text
    for i in range(len(widths) - 1):
        if widths[i] <= max_width - 1 < widths[i + 1]:
            return text[: i + 1] + "…"
    return text


def go_time_string(epoch: float, tz: tzinfo = UTC) -> str:
    """Go's ``time.Unix(epoch, 0).String()``: ``2026-11-30 04:01:54 +0000 UTC``.

    Any int64 second is a time in Go: the zero time (``0001-01-01 00:00:00 +0000 UTC``, what
    the Engine reports for an image without a creation date) keeps its four-digit year.
    """
    seconds = int(epoch)
    try:
        moment = datetime.fromtimestamp(seconds, tz)
        offset_td, name = moment.utcoffset(), moment.tzname() or ""
    except (OverflowError, OSError, ValueError):  # beyond Python's datetime: the zone's offset at 1970
        moment = datetime.fromtimestamp(0, tz)
        offset_td, name = moment.utcoffset(), moment.tzname() or ""
    offset = int(offset_td.total_seconds()) if offset_td is not None else 0
    days, rest = divmod(seconds + offset, 86400)
    year, month, day = _civil_from_days(days)
    sign, off = ("-", -offset) if offset < 0 else ("+", offset)
    year_text = f"-{-year:04d}" if year < 0 else f"{year:04d}"  # Go pads the year to four digits
    clock = f"{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}"
    return f"{year_text}-{month:02d}-{day:02d} {clock} {sign}{off // 3600:02d}{off // 60 % 60:02d} {name}"


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month, day) of a day counted from 1970-01-01, proleptic Gregorian, any year."""
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def join_host_port(host: str, port: str) -> str:
    """Go's ``net.JoinHostPort``: IPv6 hosts get brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _port_sort_key(port: Mapping[str, Any]) -> tuple[int, str, int, str]:
    return (port.get("PrivatePort", 0), port.get("IP", ""), port.get("PublicPort", 0), port.get("Type", ""))


def _form_group(key: str, first: int, last: int) -> str:
    ip, slash, proto = key.rpartition("/")
    group = str(first) if first == last else f"{first}-{last}"
    if slash and ip:
        group = f"{join_host_port(ip, group)}->{group}"
    return f"{group}/{proto}"


def display_ports(ports: Sequence[Mapping[str, Any]]) -> str:
    """docker's ``DisplayablePorts``: the PORTS column.

    Sorted by private port, IP, public port, protocol; consecutive ports with the same IP and
    protocol collapse into ranges (``0.0.0.0:8000-8002->8000-8002/tcp``); mappings whose host
    port differs from the container port come last and are never ranged.
    """
    groups: dict[str, list[int]] = {}  # key -> [first, last], in creation order
    result: list[str] = []
    host_mappings: list[str] = []
    for port in sorted(ports, key=_port_sort_key):
        current = port.get("PrivatePort", 0)
        key = port.get("Type", "")
        ip = port.get("IP", "")
        if ip:
            public = port.get("PublicPort", 0)
            if public != current:
                host_mappings.append(f"{join_host_port(ip, str(public))}->{current}/{key}")
                continue
            key = f"{ip}/{key}"
        group = groups.get(key)
        if group is None:
            groups[key] = [current, current]
        elif current == group[1] + 1:
            group[1] = current
        else:
            result.append(_form_group(key, group[0], group[1]))
            groups[key] = [current, current]
    result.extend(_form_group(key, first, last) for key, (first, last) in groups.items())
    return ", ".join(result + host_mappings)


# ocispec.Platform's fields, for Go's error wording on {{.Platform.OS}} when there is none.
_NO_PLATFORM = GoNil("*formatter.Platform", frozenset({"Architecture", "OS", "OSVersion", "OSFeatures", "Variant"}))


class ContainerContext(GoStruct):
    """One row of ``docker ps``; ``trunc`` is the opposite of ``--no-trunc``.

    ``now`` (epoch seconds) is the client clock CREATED is computed from, like the CLI's;
    ``tz`` is the zone CreatedAt is printed in (the CLI uses its host's local zone).
    """

    go_type = "*formatter.ContainerContext"

    def __init__(self, api: Mapping[str, Any], *, trunc: bool, now: float, tz: tzinfo = UTC) -> None:
        self.api = api
        self.trunc = trunc
        self.now = now
        self.tz = tz
        # Like the CLI's FieldsUsed: executing a template on an empty context tells
        # whether it shows .Size, so the (costly) size query is made only when needed.
        self.fields_used: set[str] = set()

    def ID(self) -> str:
        container_id: str = self.api.get("Id", "")
        return truncate_id(container_id) if self.trunc else container_id

    def Names(self) -> str:
        names = [n.removeprefix("/") for n in self.api.get("Names") or []]
        if self.trunc:
            # Only the first name that is not a legacy link ("/other/alias").
            return next((n for n in names if "/" not in n), "")
        return ",".join(names)

    def Image(self) -> str:
        image: str = self.api.get("Image") or ""
        if not image:
            return "<no image>"
        if not self.trunc:
            return image
        short = truncate_id(image)
        if truncate_id(self.api.get("ImageID") or "") == short:
            return short
        try:
            ref = parse_normalized_named(image)
        except ReferenceError:
            return image
        return dataclasses.replace(ref, digest="").familiar_string()  # the tag stays, the digest goes

    def Command(self) -> str:
        command: str = self.api.get("Command") or ""
        return gotemplate.go_quote(ellipsis(command, 20) if self.trunc else command)

    def CreatedAt(self) -> str:
        return go_time_string(self.api.get("Created") or 0, self.tz)

    def RunningFor(self) -> str:
        return time_ago(self.api.get("Created") or 0, self.now)

    def Platform(self) -> object:
        descriptor = self.api.get("ImageManifestDescriptor") or {}
        platform = descriptor.get("platform") if isinstance(descriptor, Mapping) else None
        if not platform:
            return _NO_PLATFORM
        # *formatter.Platform: prints as platforms.FormatAll ("linux/amd64"), marshals as the
        # OCI platform object ({"architecture":"amd64","os":"linux"}), has .OS, .Architecture...
        return decode(SCHEMA, "*formatter.Platform", platform)

    def Ports(self) -> str:
        return display_ports(self.api.get("Ports") or [])

    def State(self) -> str:
        return str(self.api.get("State") or "")

    def Status(self) -> str:
        return str(self.api.get("Status") or "")

    def Size(self) -> str:
        self.fields_used.add("Size")
        size_rw = human_size(self.api.get("SizeRw") or 0)
        root_fs = self.api.get("SizeRootFs") or 0
        if root_fs > 0:
            return f"{size_rw} (virtual {human_size(root_fs)})"
        return size_rw

    def Labels(self) -> str:
        labels: Mapping[str, str] = self.api.get("Labels") or {}
        return ",".join(sorted(f"{k}={v}" for k, v in labels.items()))

    def Label(self, name: str) -> str:
        labels: Mapping[str, str] = self.api.get("Labels") or {}
        return labels.get(name, "")

    def Mounts(self) -> str:
        names = []
        for mount in self.api.get("Mounts") or []:
            name = mount.get("Name") or mount.get("Source", "")
            names.append(ellipsis(name, 15) if self.trunc else name)
        return ",".join(names)

    def LocalVolumes(self) -> str:
        return str(sum(1 for m in self.api.get("Mounts") or [] if m.get("Driver") == "local"))

    def Networks(self) -> str:
        # The CLI walks a Go map here (random order with several networks); we keep the API's.
        settings = self.api.get("NetworkSettings") or {}
        return ",".join(settings.get("Networks") or {})


def ps_format(fmt: str | None, *, quiet: bool, size: bool) -> str:
    """docker's ``NewContainerFormat``: the format ``docker ps`` really uses.

    ``-q`` wins over every format except ``raw`` (where it prints ``container_id: ...``).
    """
    if fmt in (None, "", "table"):
        if quiet:
            return "{{.ID}}"
        return PS_DEFAULT_TABLE_WITH_SIZE if size else PS_DEFAULT_TABLE
    if fmt == "raw":
        if quiet:
            return "container_id: {{.ID}}"
        return PS_RAW_FORMAT + ("size: {{.Size}}\\n" if size else "")
    return "{{.ID}}" if quiet else fmt


def ps_needs_size(fmt: str | None) -> bool:
    """Whether ``docker ps --format FMT`` asks the daemon for sizes (it shows ``.Size``).

    Mirrors ``buildContainerListOptions``: the raw flag value is parsed and run once on an
    empty context, so template mistakes surface here with the CLI's wording
    (``failed to parse template: ...`` / ``failed to execute template: ...``).
    """
    if not fmt:
        return False
    try:
        template = gotemplate.parse(fmt)
    except GoTemplateError as exc:
        raise TemplateError(f"failed to parse template: {exc.go_message}") from None
    probe = ContainerContext({}, trunc=False, now=0.0)
    try:
        template.execute(probe)
    except GoTemplateError as exc:
        raise TemplateError(f"failed to execute template: {exc.go_message}") from None
    return "Size" in probe.fields_used


def _natural_cmp(a: str, b: str) -> int:
    if natural_less(a, b):
        return -1
    return 1 if natural_less(b, a) else 0


def natural_less(str1: str, str2: str) -> bool:
    """fvbommel/sortorder ``NaturalLess`` (bytewise, numbers compared by value)."""
    s1, s2 = str1.encode(), str2.encode()
    i1 = i2 = 0
    while i1 < len(s1) and i2 < len(s2):
        c1, c2 = s1[i1], s2[i2]
        d1, d2 = 48 <= c1 <= 57, 48 <= c2 <= 57
        if d1 != d2:
            return d1  # digits sort before other characters
        if not d1:
            if c1 != c2:
                return c1 < c2
            i1, i2 = i1 + 1, i2 + 1
            continue
        while i1 < len(s1) and s1[i1] == 48:
            i1 += 1
        while i2 < len(s2) and s2[i2] == 48:
            i2 += 1
        nz1, nz2 = i1, i2
        while i1 < len(s1) and 48 <= s1[i1] <= 57:
            i1 += 1
        while i2 < len(s2) and 48 <= s2[i2] <= 57:
            i2 += 1
        if i1 - nz1 != i2 - nz2:
            return i1 - nz1 < i2 - nz2
        if s1[nz1:i1] != s2[nz2:i2]:
            return s1[nz1:i1] < s2[nz2:i2]
        if nz1 != nz2:
            return nz1 < nz2
    return len(s1) < len(s2)


def _check_port(port: str) -> None:
    # strconv.ParseUint(port, 10, 16), with Go's error text.
    if not port.isascii() or not port.isdigit():
        raise UserError(f"Error: invalid port ({port}): strconv.ParseUint: parsing {gotemplate.go_quote(port)}: "
                        "invalid syntax")  # fmt: skip
    if int(port) > 0xFFFF:
        raise UserError(f"Error: invalid port ({port}): strconv.ParseUint: parsing {gotemplate.go_quote(port)}: "
                        "value out of range")  # fmt: skip


def format_port_output(inspect: Mapping[str, Any], private_port_filter: str | None) -> str:
    """What ``docker port CONTAINER [PRIVATE_PORT[/PROTO]]`` prints ("" when nothing matches).

    Without a filter: one ``80/tcp -> 0.0.0.0:8080`` line per binding; with ``80`` or
    ``80/udp`` (tcp by default): the bindings' ``HOST:PORT`` only. Lines are sorted in natural
    order like the CLI's. A malformed port raises :class:`UserError` with the CLI's message;
    an unpublished one returns "" (the caller words "No public port ... published").
    """
    bindings: Mapping[str, Any] = (inspect.get("NetworkSettings") or {}).get("Ports") or {}
    lines: list[str] = []
    if private_port_filter is not None:
        port, _, proto = private_port_filter.partition("/")
        _check_port(port)
        for frontend in bindings.get(f"{port}/{proto or 'tcp'}") or []:
            lines.append(join_host_port(frontend.get("HostIp", ""), frontend.get("HostPort", "")))
    else:
        for private, frontends in bindings.items():
            for frontend in frontends or []:
                address = join_host_port(frontend.get("HostIp", ""), frontend.get("HostPort", ""))
                lines.append(f"{private} -> {address}")
    if not lines:
        return ""
    lines.sort(key=functools.cmp_to_key(_natural_cmp))
    return "\n".join(lines) + "\n"
