"""What an approval binds, and the blast radius its request shows, read from the engine at request time.

``bind`` records each target's identity (container ID and image ID, an image's ID, a
volume's creation time): the approval holds for exactly those objects.  ``preview`` says
what the action touches, as rows of words for the request message: a container's image and
digest, uptime, health, restart policy, published ports; its compose project, the project's
other services and those that ``depends_on`` it; the networks and volumes it shares.

The request message is posted in a channel, so the preview names only what the requester
may see (the same rule as every answer: what they may not see does not exist for them).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from bot.cli_output.units import human_duration
from bot.engine.compose import SERVICE_LABEL
from bot.engine.gateway import DockerGateway
from bot.engine.networks import Networks
from bot.engine.volumes import Volumes
from bot.errors import DockerUnavailable, NotFound, UserError
from bot.jobs.approvals import Bound
from bot.jobs.crash_checks import engine_time
from bot.jobs.visible import container_target
from bot.policy import Target
from bot.policy.model import COMPOSE_PROJECT_LABEL

DEPENDS_ON_LABEL = "com.docker.compose.depends_on"
MAX_NAMES = 8  # names listed per row; the rest are counted
MAX_SECTIONS = 6  # targets previewed in one request message

Sees = Callable[[Target], bool]
Rows = list[list[str]]


def depends_on(labels: dict[str, str]) -> list[str]:
    """The services a compose container depends on, from compose's label ("db:service_started:false,...")."""
    raw = labels.get(DEPENDS_ON_LABEL, "")
    return [part.split(":", 1)[0].strip() for part in raw.split(",") if part.split(":", 1)[0].strip()]


def names(items: Sequence[str], none: str = "none") -> str:
    listed = sorted(dict.fromkeys(items))
    if not listed:
        return none
    more = len(listed) - MAX_NAMES
    return ", ".join(listed[:MAX_NAMES]) + (f" and {more} more" if more > 0 else "")


def published_ports(ports: dict[str, Any] | None) -> list[str]:
    """``NetworkSettings.Ports`` as docker ps shows published ones: 0.0.0.0:8080->80/tcp."""
    out = []
    for port, bindings in sorted((ports or {}).items()):
        for b in bindings or []:
            out.append(f"{b.get('HostIp') or '0.0.0.0'}:{b.get('HostPort', '')}->{port}")
    return out


def restart_policy(host_config: dict[str, Any]) -> str:
    policy = host_config.get("RestartPolicy") or {}
    name = str(policy.get("Name") or "no")
    retries = int(policy.get("MaximumRetryCount") or 0)
    return f"{name}:{retries}" if name == "on-failure" and retries else name


def state_words(state: dict[str, Any], now: float) -> str:
    status = str(state.get("Status", "unknown"))
    if status == "running":
        started = engine_time(state.get("StartedAt"))
        up = f", up {human_duration(now - started).lower()}" if started else ""
        return f"running{up}" + (" (paused)" if state.get("Paused") else "")
    finished = engine_time(state.get("FinishedAt"))
    ago = f" {human_duration(now - finished).lower()} ago" if finished else ""
    return f"{status} ({state.get('ExitCode', '?')}){ago}"


def health_words(state: dict[str, Any]) -> str:
    health = state.get("Health") or {}
    return str(health.get("Status")) if health.get("Status") else "no healthcheck"


class Reader:
    """One request's reads of the engine, in the requester's view."""

    def __init__(self, docker: DockerGateway, sees: Sees, clock: Callable[[], float] = time.time) -> None:
        self.docker = docker
        self.sees = sees
        self.clock = clock
        self._all: list[dict[str, Any]] | None = None

    async def all_containers(self) -> list[dict[str, Any]]:
        if self._all is None:
            self._all = await self.docker.containers(all=True)
        return self._all

    def _visible_names(self, items: Sequence[dict[str, Any]], skip: str = "") -> list[str]:
        out = []
        for item in items:
            target = container_target(item)
            if target.id != skip and self.sees(target):
                out.append(target.name)
        return out

    # ---- binding ---------------------------------------------------------------------------

    async def bind(self, targets: Sequence[Target]) -> tuple[Bound, ...]:
        return tuple([await self.bind_one(t) for t in targets])

    async def bind_one(self, target: Target) -> Bound:
        """The identity of ``target`` now; a target that does not exist binds as missing (no ID)."""
        if target.kind == "container" and target.id:
            info = await self.docker.inspect_container(target.id)
            return Bound("container", target.name, str(info.get("Id", "")), str(info.get("Image", "")))
        if target.kind == "container":  # run/create: the container to be, and the image it would use
            return Bound("container", target.name, "", await self._image_id(target.image))
        if target.kind == "image":
            return Bound("image", target.name, target.id, target.id or await self._image_id(target.name))
        if target.kind == "volume" and target.id:
            info = await Volumes(self.docker).inspect(target.id)
            return Bound("volume", target.name, target.id, created=str(info.get("CreatedAt", "")))
        return Bound(target.kind, target.name, target.id)

    async def _image_id(self, ref: str) -> str:
        if not ref:
            return ""
        try:
            return str((await self.docker.inspect_image(ref)).get("Id", ""))
        except NotFound:
            return ""  # not on this host (yet): run would pull it

    # ---- the blast radius ------------------------------------------------------------------

    async def preview(self, targets: Sequence[Target]) -> dict[str, Any]:
        sections = []
        for target in targets[:MAX_SECTIONS]:
            try:
                sections.append(await self._section(target))
            except DockerUnavailable:
                raise
            except UserError as err:  # gone meanwhile, or the engine refused a read: say so, bind the rest
                sections.append({"title": f"{target.kind} {target.name}", "rows": [["note", err.message]]})
        more = len(targets) - MAX_SECTIONS
        return {"sections": sections, "more": max(more, 0)}

    async def _section(self, target: Target) -> dict[str, Any]:
        short = target.id.removeprefix("sha256:")[:12]
        title = f"{target.kind} {target.name}" + (f" ({short})" if short and short != target.name else "")
        if target.kind == "container" and target.id:
            rows = await self._container_rows(target)
        elif target.kind == "container":
            rows = [["creates", f"a new container{' named ' + target.name if target.name else ''}"]]
            rows.append(["image", await self._image_words(target.image) if target.image else "?"])
        elif target.kind == "image":
            rows = await self._image_rows(target)
        elif target.kind == "volume" and target.id:
            used = await self.docker.containers(all=True, filters={"volume": [target.id]})
            rows = [["used by", names(self._visible_names(used))]]
        elif target.kind == "network" and target.id:
            info = await Networks(self.docker).inspect(target.id)
            attached = [str(c.get("Name", "")) for c in (info.get("Containers") or {}).values()]
            rows = [["attached", names([n for n in attached if self._sees_name(n)])]]
        elif target.kind == "project":
            rows = [["services", names(await self._project_services(target.name))]]
        else:
            rows = [["note", "does not exist now"]]
        return {"title": title, "rows": rows}

    def _sees_name(self, name: str) -> bool:
        items = self._all or []
        return any(self.sees(t) for t in (container_target(i) for i in items) if t.name == name)

    async def _container_rows(self, target: Target) -> Rows:
        info = await self.docker.inspect_container(target.id)
        await self.all_containers()
        state = info.get("State") or {}
        rows: Rows = [["image", await self._image_words(str((info.get("Config") or {}).get("Image", "")), info)]]
        rows.append(["state", state_words(state, self.clock())])
        rows.append(["health", health_words(state)])
        rows.append(["restart", restart_policy(info.get("HostConfig") or {})])
        rows.append(
            ["ports", names(published_ports((info.get("NetworkSettings") or {}).get("Ports")), "none published")]
        )
        rows += await self._compose_rows(target)
        rows += await self._network_rows(info, target.id)
        rows += await self._volume_rows(info, target.id)
        return rows

    async def _image_words(self, ref: str, container: dict[str, Any] | None = None) -> str:
        image_id = str((container or {}).get("Image", ""))
        try:
            image = await self.docker.inspect_image(image_id or ref)
        except NotFound:
            return f"{ref} (not on this host)"
        image_id = str(image.get("Id", image_id))
        digests = [d for d in image.get("RepoDigests") or [] if "@" in d]
        digest = digests[0].split("@", 1)[1] if digests else "no registry digest"
        return f"{ref} ({image_id.removeprefix('sha256:')[:12]}, {digest})"

    async def _image_rows(self, target: Target) -> Rows:
        if not target.id:
            return [["image", await self._image_words(target.name)]]
        used = [c for c in await self.all_containers() if c.get("ImageID") == target.id]
        return [["image", await self._image_words(target.name)], ["used by", names(self._visible_names(used))]]

    async def _project_services(self, project: str) -> list[str]:
        out = []
        for item in await self.all_containers():
            t = container_target(item)
            if t.labels.get(COMPOSE_PROJECT_LABEL) == project and self.sees(t):
                out.append(t.labels.get(SERVICE_LABEL, t.name))
        return out

    async def _compose_rows(self, target: Target) -> Rows:
        project = target.labels.get(COMPOSE_PROJECT_LABEL)
        if not project:
            return [["compose", "not part of a compose project"]]
        service = target.labels.get(SERVICE_LABEL, "")
        others, dependents = [], []
        for item in await self.all_containers():
            t = container_target(item)
            if t.id == target.id or t.labels.get(COMPOSE_PROJECT_LABEL) != project or not self.sees(t):
                continue
            other = t.labels.get(SERVICE_LABEL, t.name)
            if other != service:
                others.append(other)
            if service and service in depends_on(dict(t.labels)):
                dependents.append(f"{other} ({t.name})")
        return [
            ["compose", f"project {project}, service {service or '?'}"],
            ["services", names(others)],
            ["depend on it", names(dependents)],
        ]

    async def _network_rows(self, info: dict[str, Any], cid: str) -> Rows:
        rows: Rows = []
        for network in sorted((info.get("NetworkSettings") or {}).get("Networks") or {}):
            try:
                attached = (await Networks(self.docker).inspect(network)).get("Containers") or {}
            except NotFound:
                continue
            others = [str(c.get("Name", "")) for key, c in attached.items() if key != cid]
            rows.append(["network", f"{network}: shared with {names([n for n in others if self._sees_name(n)])}"])
        return rows or [["network", "none"]]

    async def _volume_rows(self, info: dict[str, Any], cid: str) -> Rows:
        rows: Rows = []
        for mount in info.get("Mounts") or []:
            if mount.get("Type") != "volume" or not mount.get("Name"):
                continue
            name = str(mount["Name"])
            users = await self.docker.containers(all=True, filters={"volume": [name]})
            shared = names(self._visible_names(users, skip=cid))
            rows.append(["volume", f"{name} at {mount.get('Destination', '?')}: shared with {shared}"])
        return rows or [["volume", "none"]]
