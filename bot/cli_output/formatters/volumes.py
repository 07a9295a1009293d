"""``docker volume ls`` and ``docker volume inspect`` output, from docker/cli's formatter/volume.go.

Rows are sorted by name in natural order (``sortorder.NaturalLess``) as the CLI sorts them;
the daemon's own order is a Go map's.  ``volume inspect`` prints the CLI's ``volume.Volume``
struct marshalled (its fields in its order, maps with sorted keys, empty optionals left out),
not the daemon's text.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from bot.cli_output.formatters.containers import natural_less
from bot.cli_output.gotemplate import GoStruct
from bot.cli_output.units import human_size

__all__ = [
    "VOLUMES_DEFAULT_TABLE",
    "VOLUME_HEADERS",
    "VolumeContext",
    "sorted_volumes",
    "volume_document",
    "volumes_format",
]

VOLUMES_DEFAULT_TABLE = "table {{.Driver}}\t{{.Name}}"

VOLUME_HEADERS: dict[str, str] = {
    "ID": "ID",
    "Name": "VOLUME NAME",
    "Group": "GROUP",
    "Driver": "DRIVER",
    "Scope": "SCOPE",
    "Availability": "AVAILABILITY",
    "Mountpoint": "MOUNTPOINT",
    "Labels": "LABELS",
    "Links": "LINKS",
    "Size": "SIZE",
    "Status": "STATUS",
}


def volumes_format(fmt: str | None, *, quiet: bool) -> str:
    """``NewVolumeFormat`` after ``volume ls`` turned "" into "table"."""
    if fmt in (None, "", "table"):
        return "{{.Name}}" if quiet else VOLUMES_DEFAULT_TABLE
    if fmt == "raw":
        return "name: {{.Name}}" if quiet else "name: {{.Name}}\\ndriver: {{.Driver}}\\n"
    return fmt


def _labels(labels: Mapping[str, str] | None) -> str:
    # The CLI joins a Go map (random order); sorted is one of its orders, and a stable one.
    return ",".join(sorted(f"{k}={v}" for k, v in (labels or {}).items()))


class VolumeContext(GoStruct):
    """One row of ``docker volume ls``."""

    go_type = "*formatter.volumeContext"

    def __init__(self, api: Mapping[str, Any]) -> None:
        self.api = api

    def Name(self) -> str:
        return str(self.api.get("Name") or "")

    def Driver(self) -> str:
        return str(self.api.get("Driver") or "")

    def Scope(self) -> str:
        return str(self.api.get("Scope") or "")

    def Mountpoint(self) -> str:
        return str(self.api.get("Mountpoint") or "")

    def Labels(self) -> str:
        return _labels(self.api.get("Labels"))

    def Label(self, name: str) -> str:
        labels: Mapping[str, str] = self.api.get("Labels") or {}
        return labels.get(name, "")

    def Links(self) -> str:
        usage = self.api.get("UsageData")
        return "N/A" if not usage else str(int(usage.get("RefCount", 0)))

    def Size(self) -> str:
        usage = self.api.get("UsageData")
        return "N/A" if not usage else human_size(usage.get("Size", 0))

    def Group(self) -> str:
        cluster = self.api.get("ClusterVolume")
        return "N/A" if not cluster else str((cluster.get("Spec") or {}).get("Group", ""))

    def Availability(self) -> str:
        cluster = self.api.get("ClusterVolume")
        return "N/A" if not cluster else str((cluster.get("Spec") or {}).get("Availability", ""))

    def Status(self) -> str:
        cluster = self.api.get("ClusterVolume")
        if not cluster:
            return "N/A"
        if not (cluster.get("Info") or {}).get("VolumeID"):
            return "pending creation"
        published = len(cluster.get("PublishStatus") or [])
        return {0: "created", 1: "in use (1 node)"}.get(published, f"in use ({published} nodes)")


def sorted_volumes(volumes: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    def cmp(a: Mapping[str, Any], b: Mapping[str, Any]) -> int:
        x, y = str(a.get("Name", "")), str(b.get("Name", ""))
        return -1 if natural_less(x, y) else 1 if natural_less(y, x) else 0

    return sorted(volumes, key=functools.cmp_to_key(cmp))


def _sorted_map(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value  # null stays null: Go marshals a nil map as null
    return {k: _sorted_map(value[k]) for k in sorted(value)}


def volume_document(api: Mapping[str, Any]) -> dict[str, Any]:
    """The CLI's ``volume.Volume`` as ``json.MarshalIndent`` writes it: its field order, omitempty honoured."""
    doc: dict[str, Any] = {}
    if api.get("ClusterVolume"):
        doc["ClusterVolume"] = api["ClusterVolume"]
    if api.get("CreatedAt"):
        doc["CreatedAt"] = api["CreatedAt"]
    doc["Driver"] = api.get("Driver", "")
    doc["Labels"] = _sorted_map(api.get("Labels"))
    doc["Mountpoint"] = api.get("Mountpoint", "")
    doc["Name"] = api.get("Name", "")
    doc["Options"] = _sorted_map(api.get("Options"))
    doc["Scope"] = api.get("Scope", "")
    if api.get("Status"):
        doc["Status"] = _sorted_map(api["Status"])
    if api.get("UsageData"):
        doc["UsageData"] = {"RefCount": api["UsageData"].get("RefCount", 0), "Size": api["UsageData"].get("Size", 0)}
    return doc
