"""``docker stats --no-stream`` output, from docker/cli's stats_helpers.go and formatter_stats.go.

:func:`compute_stats` turns one ``GET /containers/{id}/stats?stream=false`` sample (docker-py's
``api.stats(c, stream=False)``, which carries ``precpu_stats``) into the numbers the CLI shows;
:class:`StatsContext` renders them (``0.05%``, ``1.23MiB / 1.94GiB``, ``1.05kB / 0B``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.cli_output.formatters.reference import truncate_id
from bot.cli_output.gotemplate import GoStruct
from bot.cli_output.units import bytes_size, human_size

__all__ = [
    "STATS_DEFAULT_TABLE",
    "STATS_HEADERS",
    "WINDOWS_STATS_DEFAULT_TABLE",
    "StatsContext",
    "StatsEntry",
    "compute_stats",
    "stats_headers",
]

STATS_DEFAULT_TABLE = (
    "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"
)
WINDOWS_STATS_DEFAULT_TABLE = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.NetIO}}\t{{.BlockIO}}"


def stats_headers(os_type: str = "linux") -> dict[str, str]:
    return {
        "Container": "CONTAINER",
        "Name": "NAME",
        "ID": "CONTAINER ID",
        "CPUPerc": "CPU %",
        "MemUsage": "PRIV WORKING SET" if os_type == "windows" else "MEM USAGE / LIMIT",
        "MemPerc": "MEM %",
        "NetIO": "NET I/O",
        "BlockIO": "BLOCK I/O",
        "PIDs": "PIDS",
    }


STATS_HEADERS = stats_headers()


@dataclass(frozen=True)
class StatsEntry:
    """docker/cli's ``StatsEntry``: one container's computed numbers."""

    name: str = ""  # as the API sends it, with its leading "/"
    id: str = ""
    cpu_percentage: float = 0.0
    memory: float = 0.0  # on Windows: the private working set
    memory_limit: float = 0.0
    memory_percentage: float = 0.0
    network_rx: float = 0.0
    network_tx: float = 0.0
    block_read: float = 0.0
    block_write: float = 0.0
    pids_current: int = 0
    is_invalid: bool = False  # the CLI shows "--" for everything


def _cpu_percent_unix(pre: Mapping[str, Any], cur: Mapping[str, Any]) -> float:
    # Without a previous sample (one-shot stats) Go would divide the lifetime totals and
    # print an average since start; we show 0.00% rather than a misleading number.
    if not pre.get("system_cpu_usage"):
        return 0.0
    cpu_delta = float((cur.get("cpu_usage") or {}).get("total_usage", 0)) - float(
        (pre.get("cpu_usage") or {}).get("total_usage", 0)
    )
    system_delta = float(cur.get("system_cpu_usage", 0)) - float(pre.get("system_cpu_usage", 0))
    online = float(cur.get("online_cpus") or 0)
    if online == 0.0:
        online = float(len((cur.get("cpu_usage") or {}).get("percpu_usage") or []))
    if system_delta > 0.0 and cpu_delta > 0.0:
        return (cpu_delta / system_delta) * online * 100.0
    return 0.0


def _go_time(text: str) -> float:
    # RFC 3339 with nanoseconds, as the daemon writes "read"/"preread".
    head, _, frac = text.partition(".")
    digits = "".join(c for c in frac if c.isdigit())
    zone = frac[len(digits) :] if frac else head[19:]
    moment = datetime.fromisoformat(head[:19] + (zone.replace("Z", "+00:00") or "+00:00"))
    return moment.timestamp() + (int(digits.ljust(9, "0")[:9]) / 1e9 if digits else 0.0)


def _cpu_percent_windows(stats: Mapping[str, Any]) -> float:
    try:
        ns = (_go_time(stats["read"]) - _go_time(stats["preread"])) * 1e9
    except (KeyError, ValueError):
        return 0.0
    if ns <= 0:
        return 0.0
    intervals = int(ns) // 100 * int(stats.get("num_procs") or 0)
    if intervals <= 0:
        return 0.0
    used = (stats.get("cpu_stats") or {}).get("cpu_usage", {}).get("total_usage", 0) - (
        stats.get("precpu_stats") or {}
    ).get("cpu_usage", {}).get("total_usage", 0)
    return float(used) / float(intervals) * 100.0


def _mem_usage_no_cache(memory: Mapping[str, Any]) -> float:
    """Usage minus inactive file cache: ``total_inactive_file`` on cgroup v1, ``inactive_file`` on v2."""
    usage = int(memory.get("usage") or 0)
    stats: Mapping[str, int] = memory.get("stats") or {}
    if "total_inactive_file" in stats and stats["total_inactive_file"] < usage:
        return float(usage - stats["total_inactive_file"])
    inactive = stats.get("inactive_file", 0)
    if inactive < usage:
        return float(usage - inactive)
    return float(usage)


def _block_io(blkio: Mapping[str, Any]) -> tuple[int, int]:
    read = write = 0
    for entry in blkio.get("io_service_bytes_recursive") or []:
        op = entry.get("op") or ""
        if op[:1] in ("r", "R"):
            read += int(entry.get("value") or 0)
        elif op[:1] in ("w", "W"):
            write += int(entry.get("value") or 0)
    return read, write


def _network(networks: Mapping[str, Any]) -> tuple[float, float]:
    rx = sum(float(n.get("rx_bytes") or 0) for n in networks.values())
    tx = sum(float(n.get("tx_bytes") or 0) for n in networks.values())
    return rx, tx


def compute_stats(stats_json: Mapping[str, Any], *, os_type: str = "linux") -> StatsEntry:
    """The CLI's ``collect()`` arithmetic for one sample (CPU % needs ``precpu_stats``)."""
    rx, tx = _network(stats_json.get("networks") or {})
    cpu = stats_json.get("cpu_stats") or {}
    memory = stats_json.get("memory_stats") or {}
    if os_type == "windows":
        return StatsEntry(
            name=stats_json.get("name", ""),
            id=stats_json.get("id", ""),
            cpu_percentage=_cpu_percent_windows(stats_json),
            memory=float(memory.get("privateworkingset") or 0),
            network_rx=rx,
            network_tx=tx,
            block_read=float((stats_json.get("storage_stats") or {}).get("read_size_bytes") or 0),
            block_write=float((stats_json.get("storage_stats") or {}).get("write_size_bytes") or 0),
        )
    used = _mem_usage_no_cache(memory)
    limit = float(memory.get("limit") or 0)
    read, write = _block_io(stats_json.get("blkio_stats") or {})
    return StatsEntry(
        name=stats_json.get("name", ""),
        id=stats_json.get("id", ""),
        cpu_percentage=_cpu_percent_unix(stats_json.get("precpu_stats") or {}, cpu),
        memory=used,
        memory_limit=limit,
        memory_percentage=used / limit * 100.0 if limit != 0 else 0.0,
        network_rx=rx,
        network_tx=tx,
        block_read=float(read),
        block_write=float(write),
        pids_current=int((stats_json.get("pids_stats") or {}).get("current") or 0),
    )


def _percentage(value: float) -> str:
    # strconv.FormatFloat(val, 'f', 2, 64): correctly rounded, like Python's format.
    return f"{value:.2f}%"


class StatsContext(GoStruct):
    """One row of ``docker stats``; ``container`` is the name or ID the user asked for
    (the CLI's CONTAINER column), or the 12-character ID when listing all."""

    go_type = "*container.statsContext"

    def __init__(self, entry: StatsEntry, *, container: str = "", trunc: bool = True, os_type: str = "linux") -> None:
        self.entry = entry
        self.container = container
        self.trunc = trunc
        self.os_type = os_type

    @property
    def _windows(self) -> bool:
        return self.os_type == "windows"

    def Container(self) -> str:
        return self.container

    def Name(self) -> str:
        name = self.entry.name
        return name[1:] if len(name) > 1 else "--"

    def ID(self) -> str:
        return truncate_id(self.entry.id) if self.trunc else self.entry.id

    def CPUPerc(self) -> str:
        return "--" if self.entry.is_invalid else _percentage(self.entry.cpu_percentage)

    def MemUsage(self) -> str:
        if self.entry.is_invalid:
            return "-- / --"
        if self._windows:
            return bytes_size(self.entry.memory)
        return f"{bytes_size(self.entry.memory)} / {bytes_size(self.entry.memory_limit)}"

    def MemPerc(self) -> str:
        if self.entry.is_invalid or self._windows:
            return "--"
        return _percentage(self.entry.memory_percentage)

    def NetIO(self) -> str:
        if self.entry.is_invalid:
            return "--"
        return f"{human_size(self.entry.network_rx)} / {human_size(self.entry.network_tx)}"

    def BlockIO(self) -> str:
        if self.entry.is_invalid:
            return "--"
        return f"{human_size(self.entry.block_read)} / {human_size(self.entry.block_write)}"

    def PIDs(self) -> str:
        if self.entry.is_invalid or self._windows:
            return "--"
        return str(self.entry.pids_current)
