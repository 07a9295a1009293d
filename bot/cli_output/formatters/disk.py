"""``docker system df``, the prunes' and ``rmi``'s output, from docker/cli (formatter/disk_usage.go,
command/image/prune.go, command/container/prune.go, command/image/remove.go).

``system df`` is computed from ``GET /system/df`` as the CLI computes it: ACTIVE images are
those with containers, an image in use frees only what it does not share, containers count as
active while running, paused or restarting, volumes while something references them.  Sizes
are go-units' HumanSize; percentages are Go's integer division.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.cli_output.formatters.containers import ContainerContext
from bot.cli_output.formatters.images import IMAGE_HEADERS, ImageContext
from bot.cli_output.formatters.images import _Options as _ImageOptions
from bot.cli_output.formatters.listing import render_list, write
from bot.cli_output.formatters.reference import ReferenceError, parse_normalized_named, truncate_id
from bot.cli_output.gotemplate import GoStruct
from bot.cli_output.units import human_size, time_ago

__all__ = [
    "DF_HEADERS",
    "DF_TABLE",
    "df_rows",
    "format_container_prune",
    "format_df",
    "format_image_prune",
    "format_rmi",
]

DF_TABLE = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"
DF_RAW = (
    "type: {{.Type}}\ntotal: {{.TotalCount}}\nactive: {{.Active}}\nsize: {{.Size}}\nreclaimable: {{.Reclaimable}}\n"
)
DF_HEADERS = {"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE", "Reclaimable": "RECLAIMABLE"}

_IMAGE_TABLE = (
    "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}"
    "\t{{.Containers}}"
)
_CONTAINER_TABLE = (
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}"
)
_VOLUME_TABLE = "table {{.Name}}\t{{.Links}}\t{{.Size}}"
_CACHE_TABLE = (
    "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}"
)
_CONTAINER_HEADERS = {
    "ID": "CONTAINER ID",
    "Image": "IMAGE",
    "Command": "COMMAND",
    "LocalVolumes": "LOCAL VOLUMES",
    "Size": "SIZE",
    "RunningFor": "CREATED",
    "Status": "STATUS",
    "Names": "NAMES",
}
_VOLUME_HEADERS = {"Name": "VOLUME NAME", "Links": "LINKS", "Size": "SIZE"}
_CACHE_HEADERS = {
    "ID": "CACHE ID",
    "CacheType": "CACHE TYPE",
    "Size": "SIZE",
    "CreatedSince": "CREATED",
    "LastUsedSince": "LAST USED",
    "UsageCount": "USAGE",
    "Shared": "SHARED",
}


def _human(size: float) -> str:
    """go-units' HumanSize: four significant digits (the image tables use three)."""
    return human_size(size, 4)


def _reclaimable(reclaimable: int, total: int) -> str:
    if total > 0:
        return f"{_human(reclaimable)} ({reclaimable * 100 // total}%)"
    return _human(reclaimable)


class DiskUsageRow(GoStruct):
    """One line of ``docker system df``."""

    go_type = "*formatter.diskUsageContext"

    def __init__(self, kind: str, total: int, active: int, size: int, reclaimable: str) -> None:
        self._kind, self._total, self._active, self._size, self._reclaimable = kind, total, active, size, reclaimable

    def Type(self) -> str:
        return self._kind

    def TotalCount(self) -> str:
        return str(self._total)

    def Active(self) -> str:
        return str(self._active)

    def Size(self) -> str:
        return _human(self._size)

    def Reclaimable(self) -> str:
        return self._reclaimable


def _image_size(image: Mapping[str, Any]) -> int:
    size = image.get("Size")
    return int(size if size is not None else image.get("VirtualSize", -1))


def _images_row(df: Mapping[str, Any]) -> DiskUsageRow:
    images = df.get("Images") or []
    total = int(df.get("LayersSize") or 0)
    used = 0
    for image in images:
        if image.get("Containers", 0) != 0:
            size, shared = _image_size(image), int(image.get("SharedSize", -1))
            if size != -1 and shared != -1:
                used += size - shared
    active = sum(1 for i in images if i.get("Containers", 0) > 0)
    return DiskUsageRow("Images", len(images), active, total, _reclaimable(total - used, total))


def _container_active(container: Mapping[str, Any]) -> bool:
    state = str(container.get("State") or "")
    return any(word in state for word in ("running", "paused", "restarting"))


def _containers_row(df: Mapping[str, Any]) -> DiskUsageRow:
    containers = df.get("Containers") or []
    total = sum(int(c.get("SizeRw") or 0) for c in containers)
    free = sum(int(c.get("SizeRw") or 0) for c in containers if not _container_active(c))
    active = sum(1 for c in containers if _container_active(c))
    return DiskUsageRow("Containers", len(containers), active, total, _reclaimable(free, total))


def _volume_usage(volume: Mapping[str, Any]) -> tuple[int, int]:
    usage = volume.get("UsageData") or {}
    return int(usage.get("Size", -1)), int(usage.get("RefCount", 0))


def _volumes_row(df: Mapping[str, Any]) -> DiskUsageRow:
    volumes = df.get("Volumes") or []
    total = free = active = 0
    for volume in volumes:
        size, refs = _volume_usage(volume)
        active += refs > 0
        if size != -1:
            total += size
            free += size if refs == 0 else 0
    return DiskUsageRow("Local Volumes", len(volumes), active, total, _reclaimable(free, total))


def _cache_row(df: Mapping[str, Any]) -> DiskUsageRow:
    cache = df.get("BuildCache") or []
    size = int(df.get("BuilderSize") or 0)
    in_use = sum(int(c.get("Size") or 0) for c in cache if c.get("InUse") and not c.get("Shared"))
    active = sum(1 for c in cache if c.get("InUse"))
    return DiskUsageRow("Build Cache", len(cache), active, size, _human(size - in_use))


def df_rows(df: Mapping[str, Any]) -> list[DiskUsageRow]:
    """The four lines of ``docker system df`` for a ``GET /system/df`` answer."""
    return [_images_row(df), _containers_row(df), _volumes_row(df), _cache_row(df)]


class VolumeRow(GoStruct):
    go_type = "*formatter.volumeContext"

    def __init__(self, api: Mapping[str, Any]) -> None:
        self.api = api

    def Name(self) -> str:
        return str(self.api.get("Name") or "")

    def Driver(self) -> str:
        return str(self.api.get("Driver") or "")

    def Links(self) -> str:
        usage = self.api.get("UsageData")
        return "N/A" if not usage else str(usage.get("RefCount", 0))

    def Size(self) -> str:
        usage = self.api.get("UsageData")
        return "N/A" if not usage else _human(int(usage.get("Size", 0)))


class CacheRow(GoStruct):
    go_type = "*formatter.buildCacheContext"

    def __init__(self, api: Mapping[str, Any], now: float) -> None:
        self.api, self.now = api, now

    def ID(self) -> str:
        ident = truncate_id(str(self.api.get("ID") or ""))
        return ident + ("*" if self.api.get("InUse") else "")

    def CacheType(self) -> str:
        return str(self.api.get("Type") or "")

    def Size(self) -> str:
        return human_size(int(self.api.get("Size") or 0))

    def CreatedSince(self) -> str:
        return _since(self.api.get("CreatedAt"), self.now)

    def LastUsedSince(self) -> str:
        return _since(self.api.get("LastUsedAt"), self.now)

    def UsageCount(self) -> str:
        return str(self.api.get("UsageCount") or 0)

    def Shared(self) -> str:
        return "true" if self.api.get("Shared") else "false"


def _since(text: object, now: float) -> str:
    """``units.HumanDuration(now - t) + " ago"`` for a Go time string from the engine."""
    if not text:
        return ""
    # Go prints nanoseconds; Python reads at most microseconds.
    trimmed = re.sub(r"(\.\d{6})\d+", r"\1", str(text))
    try:
        return time_ago(datetime.fromisoformat(trimmed).timestamp(), now)
    except ValueError:
        return ""


def _repo_tag(image: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first tag's (familiar repository, tag), ``<none>`` for a dangling image; None: skip the image."""
    tags = image.get("RepoTags") or []
    if not tags or tags == ["<none>:<none>"]:
        return "<none>", "<none>"
    try:
        ref = parse_normalized_named(tags[0])
    except ReferenceError:
        return None  # the CLI skips an image whose tag does not parse
    if not ref.tag:
        return "<none>", "<none>"
    return ref.familiar_name(), ref.tag


def _verbose(df: Mapping[str, Any], now: float) -> str:
    options = _ImageOptions(trunc=True, now=now, tz=UTC)
    images = []
    for image in df.get("Images") or []:
        names = _repo_tag(image)
        if names is not None:
            images.append(ImageContext(image, names[0], names[1], "", options))
    containers = [ContainerContext({**c, "SizeRootFs": 0}, trunc=True, now=now) for c in df.get("Containers") or []]
    volumes = [VolumeRow(v) for v in df.get("Volumes") or []]
    cache = sorted(df.get("BuildCache") or [], key=lambda c: str(c.get("LastUsedAt") or ""), reverse=True)
    parts = [
        "Images space usage:\n\n",
        write(_IMAGE_TABLE, IMAGE_HEADERS, images),
        "\nContainers space usage:\n\n",
        write(_CONTAINER_TABLE, _CONTAINER_HEADERS, containers),
        "\nLocal Volumes space usage:\n\n",
        write(_VOLUME_TABLE, _VOLUME_HEADERS, volumes),
        f"\nBuild cache usage: {_human(int(df.get('BuilderSize') or 0))}\n\n",
        write(_CACHE_TABLE, _CACHE_HEADERS, [CacheRow(c, now) for c in cache]),
    ]
    return "".join(parts)


def format_df(df: Mapping[str, Any], fmt: str | None, *, verbose: bool, now: float) -> str:
    """What ``docker system df [-v] [--format FMT]`` prints (a table or the format's rows)."""
    if verbose and fmt in (None, "", "table"):
        return _verbose(df, now)
    if verbose:
        raise ValueError("--format with -v")  # the handler refuses it before: see handlers/images_ops.py
    return render_list(fmt, default_table=DF_TABLE, headers=DF_HEADERS, contexts=df_rows(df), raw_format=DF_RAW)


def _summary(heading: str, lines: list[str], reclaimed: int) -> str:
    """The CLI's prune output: the list (if any) and a blank line, then the total."""
    out = ""
    if lines:
        out = heading + "\n" + "".join(line + "\n" for line in lines) + "\n"
    return out + f"Total reclaimed space: {_human(reclaimed)}"


def format_image_prune(report: Mapping[str, Any]) -> str:
    """``docker image prune``'s output for a ``POST /images/prune`` answer."""
    lines = []
    for item in report.get("ImagesDeleted") or []:
        if item.get("Untagged"):
            lines.append(f"untagged: {item['Untagged']}")
        if item.get("Deleted"):
            lines.append(f"deleted: {item['Deleted']}")
    # The CLI reports the space only when something was deleted.
    reclaimed = int(report.get("SpaceReclaimed") or 0) if lines else 0
    return _summary("Deleted Images:", lines, reclaimed)


def format_container_prune(report: Mapping[str, Any]) -> str:
    """``docker container prune``'s output for a ``POST /containers/prune`` answer."""
    deleted = [str(c) for c in report.get("ContainersDeleted") or []]
    reclaimed = int(report.get("SpaceReclaimed") or 0) if deleted else 0
    return _summary("Deleted Containers:", deleted, reclaimed)


def format_rmi(items: Sequence[Mapping[str, Any]]) -> list[str]:
    """``docker rmi``'s lines for one image: ``Untagged: ...`` and ``Deleted: ...``."""
    lines = []
    for item in items:
        if item.get("Untagged"):
            lines.append(f"Untagged: {item['Untagged']}")
        if item.get("Deleted"):
            lines.append(f"Deleted: {item['Deleted']}")
    return lines
