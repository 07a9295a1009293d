"""``docker network ls`` output, from docker/cli's network/formatter.go.

Rows are sorted by name in natural order, as ``network ls`` sorts them.  ``network inspect``
prints the daemon's own document re-indented, so it needs no formatter here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot.cli_output.formatters.containers import natural_less
from bot.cli_output.formatters.reference import truncate_id
from bot.cli_output.gotemplate import GoStruct

__all__ = [
    "NETWORKS_DEFAULT_TABLE",
    "NETWORK_HEADERS",
    "NetworkContext",
    "go_time_text",
    "networks_format",
    "sorted_networks",
]

NETWORKS_DEFAULT_TABLE = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"

NETWORK_HEADERS: dict[str, str] = {
    "ID": "NETWORK ID",
    "Name": "NAME",
    "Driver": "DRIVER",
    "Scope": "SCOPE",
    "IPv4": "IPV4",
    "IPv6": "IPV6",
    "Internal": "INTERNAL",
    "Labels": "LABELS",
    "CreatedAt": "CREATED AT",
}


def networks_format(fmt: str | None, *, quiet: bool) -> str:
    """``network.NewFormat`` after ``network ls`` turned "" into "table"."""
    if fmt in (None, "", "table"):
        return "{{.ID}}" if quiet else NETWORKS_DEFAULT_TABLE
    if fmt == "raw":
        if quiet:
            return "network_id: {{.ID}}"
        return "network_id: {{.ID}}\\nname: {{.Name}}\\ndriver: {{.Driver}}\\nscope: {{.Scope}}\\n"
    return fmt


_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)")


def go_time_text(text: str) -> str:
    """Go's ``time.Time.String()`` of an RFC 3339 time as the CLI decodes it.

    ``2026-05-14T10:11:12.5Z`` -> ``2026-05-14 10:11:12.5 +0000 UTC``; an offset that is not
    UTC has no zone name, so Go prints the offset twice (``+0200 +0200``).  A missing time is
    Go's zero time.
    """
    m = _RFC3339.fullmatch(text or "")
    if m is None:
        return "0001-01-01 00:00:00 +0000 UTC"
    date, clock, frac, zone = m.groups()
    fraction = ("." + frac.rstrip("0")) if frac and frac.rstrip("0") else ""
    if zone == "Z":
        return f"{date} {clock}{fraction} +0000 UTC"
    offset = zone.replace(":", "")
    return f"{date} {clock}{fraction} {offset} {offset}"


class NetworkContext(GoStruct):
    """One row of ``docker network ls``; ``trunc`` is the opposite of ``--no-trunc``."""

    go_type = "*network.networkContext"

    def __init__(self, api: Mapping[str, Any], *, trunc: bool) -> None:
        self.api = api
        self.trunc = trunc

    def ID(self) -> str:
        network_id = str(self.api.get("Id") or "")
        return truncate_id(network_id) if self.trunc else network_id

    def Name(self) -> str:
        return str(self.api.get("Name") or "")

    def Driver(self) -> str:
        return str(self.api.get("Driver") or "")

    def Scope(self) -> str:
        return str(self.api.get("Scope") or "")

    def IPv4(self) -> str:
        # Engines before API 1.47 do not send EnableIPv4: the CLI's struct then holds false.
        return "true" if self.api.get("EnableIPv4") else "false"

    def IPv6(self) -> str:
        return "true" if self.api.get("EnableIPv6") else "false"

    def Internal(self) -> str:
        return "true" if self.api.get("Internal") else "false"

    def Labels(self) -> str:
        labels: Mapping[str, str] = self.api.get("Labels") or {}
        return ",".join(sorted(f"{k}={v}" for k, v in labels.items()))

    def Label(self, name: str) -> str:
        labels: Mapping[str, str] = self.api.get("Labels") or {}
        return labels.get(name, "")

    def CreatedAt(self) -> str:
        return go_time_text(str(self.api.get("Created") or ""))


def sorted_networks(networks: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    def cmp(a: Mapping[str, Any], b: Mapping[str, Any]) -> int:
        x, y = str(a.get("Name", "")), str(b.get("Name", ""))
        return -1 if natural_less(x, y) else 1 if natural_less(y, x) else 0

    return sorted(networks, key=functools.cmp_to_key(cmp))
