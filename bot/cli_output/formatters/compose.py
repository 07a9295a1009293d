"""``docker compose ls`` and ``docker compose ps`` output, from docker/compose's cmd/compose and cmd/formatter.

``compose ls`` groups containers by their project label: each project's STATUS counts its
containers by state (``exited(1), running(2)``, states sorted), CONFIG FILES joins the files
its containers recorded, first seen first; projects are sorted by name.  It is printed with
compose's own tabwriter settings (20, 1, 3), not the docker CLI's (10, 1, 3).

``compose ps`` is the docker CLI's list formatter over compose's container context.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.cli_output import gotemplate
from bot.cli_output.formatters.containers import display_ports, ellipsis, go_time_string
from bot.cli_output.formatters.reference import truncate_id
from bot.cli_output.gotemplate import GoStruct
from bot.cli_output.tabwriter import render_tabbed
from bot.cli_output.units import time_ago
from bot.errors import UserError

__all__ = [
    "COMPOSE_PS_HEADERS",
    "COMPOSE_PS_TABLE",
    "ComposeContainerContext",
    "Stack",
    "compose_ps_format",
    "container_name_without_project",
    "render_stacks",
    "stacks",
]

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
NUMBER_LABEL = "com.docker.compose.container-number"
CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"

COMPOSE_PS_TABLE = "table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}"

COMPOSE_PS_HEADERS: dict[str, str] = {
    "ID": "CONTAINER ID",
    "Name": "NAME",
    "Project": "PROJECT",
    "Service": "SERVICE",
    "Image": "IMAGE",
    "Command": "COMMAND",
    "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED",
    "Ports": "PORTS",
    "State": "STATE",
    "Status": "STATUS",
    "Size": "SIZE",
    "Labels": "LABELS",
    "Engine": "ENGINE",
}


@dataclass(frozen=True)
class Stack:
    name: str
    status: str
    config_files: str


def _combined_status(states: Sequence[str]) -> str:
    counts: dict[str, int] = {}
    for state in states:
        counts[state] = counts.get(state, 0) + 1
    return ", ".join(f"{state}({counts[state]})" for state in sorted(counts))


def _config_files(items: Sequence[Mapping[str, Any]]) -> str:
    files: list[str] = []
    for item in items:
        labels = item.get("Labels") or {}
        if CONFIG_FILES_LABEL not in labels:
            return "N/A"  # compose warns and shows N/A when a container lacks the label
        for f in str(labels[CONFIG_FILES_LABEL]).split(","):
            if f not in files:
                files.append(f)
    return ",".join(files)


def stacks(items: Sequence[Mapping[str, Any]]) -> list[Stack]:
    """``containersToStacks``: the projects of these (project-labelled) containers, sorted by name."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for item in items:
        project = (item.get("Labels") or {}).get(PROJECT_LABEL)
        if project is not None:
            grouped.setdefault(str(project), []).append(item)
    return [
        Stack(name, _combined_status([str(c.get("State") or "") for c in group]), _config_files(group))
        for name, group in sorted(grouped.items())
    ]


def render_stacks(found: Sequence[Stack], fmt: str | None, *, quiet: bool) -> str:
    """What ``docker compose ls [--format table|json] [-q]`` prints for these projects."""
    if quiet:
        return "".join(s.name + "\n" for s in found)
    key = (fmt or "table").lower()
    if key in ("table", "pretty"):
        rows = ["NAME\tSTATUS\tCONFIG FILES\n", *(f"{s.name}\t{s.status}\t{s.config_files}\n" for s in found)]
        return render_tabbed("".join(rows), minwidth=20, tabwidth=1, padding=3)
    view = [{"Name": s.name, "Status": s.status, "ConfigFiles": s.config_files} for s in found]
    if key == "json":
        # A nil slice (no project) is JSON null, as Go's encoder writes it.
        return json.dumps(view or None, separators=(",", ":"), ensure_ascii=False) + "\n"
    if key == "{{json .}}":
        return "".join(json.dumps(v, separators=(",", ":"), ensure_ascii=False) + "\n" for v in view)
    raise UserError(f'format value "{fmt}" could not be parsed: parsing failed')


def compose_ps_format(fmt: str | None, *, quiet: bool) -> str:
    """compose's ``NewContainerFormat``: ``-q`` wins over any format but raw."""
    if fmt in (None, "", "table"):
        return "{{.ID}}" if quiet else COMPOSE_PS_TABLE
    if fmt == "raw":
        if quiet:
            return "container_id: {{.ID}}"
        return (
            "container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\n"
            "state: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\n"
            "labels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\n"
        )
    return "{{.ID}}" if quiet else fmt


def canonical_name(item: Mapping[str, Any]) -> str:
    """The container's own name: the one without a link's slash."""
    names = [str(n) for n in item.get("Names") or []]
    for name in names:
        if name.rfind("/") == 0:
            return name[1:]
    return names[0].removeprefix("/") if names else str(item.get("Id", ""))[:12]


def container_name_without_project(item: Mapping[str, Any]) -> str:
    """compose's log prefix: ``web-1`` for a container of the default name ``shop-web-1``, else its name."""
    labels = item.get("Labels") or {}
    project = str(labels.get(PROJECT_LABEL, ""))
    default = "-".join([project, str(labels.get(SERVICE_LABEL, "")), str(labels.get(NUMBER_LABEL, ""))])
    name = canonical_name(item)
    return name[len(project) + 1 :] if name == default else name


class ComposeContainerContext(GoStruct):
    """One row of ``docker compose ps``: compose's ContainerContext over a container list item."""

    go_type = "*formatter.ContainerContext"

    def __init__(self, api: Mapping[str, Any], *, trunc: bool, now: float) -> None:
        self.api = api
        self.trunc = trunc
        self.now = now

    def _labels(self) -> Mapping[str, str]:
        labels: Mapping[str, str] = self.api.get("Labels") or {}
        return labels

    def ID(self) -> str:
        cid = str(self.api.get("Id") or "")
        return truncate_id(cid) if self.trunc else cid

    def Name(self) -> str:
        return canonical_name(self.api)

    def Names(self) -> str:
        names = [str(n).removeprefix("/") for n in self.api.get("Names") or []]
        if self.trunc:
            names = next(([n] for n in names if "/" not in n), names)
        return ",".join(names)

    def Service(self) -> str:
        return str(self._labels().get(SERVICE_LABEL, ""))

    def Project(self) -> str:
        return str(self._labels().get(PROJECT_LABEL, ""))

    def Image(self) -> str:
        return str(self.api.get("Image") or "")

    def Command(self) -> str:
        command = str(self.api.get("Command") or "")
        return gotemplate.go_quote(ellipsis(command, 20) if self.trunc else command)

    def CreatedAt(self) -> str:
        return go_time_string(self.api.get("Created") or 0)

    def RunningFor(self) -> str:
        return time_ago(self.api.get("Created") or 0, self.now)

    def State(self) -> str:
        return str(self.api.get("State") or "")

    def Status(self) -> str:
        return str(self.api.get("Status") or "")

    def Ports(self) -> str:
        return display_ports(self.api.get("Ports") or [])

    def Labels(self) -> str:
        return ",".join(sorted(f"{k}={v}" for k, v in self._labels().items()))

    def Label(self, name: str) -> str:
        return str(self._labels().get(name, ""))

    def Engine(self) -> str:
        return str(self._labels().get("com.docker.compose.engine", ""))

    def Networks(self) -> str:
        settings = self.api.get("NetworkSettings") or {}
        return ",".join(settings.get("Networks") or {})
