"""Resolve what a caller typed in the world they may see: hidden objects do not exist for them.

docker resolves a container reference as a full ID, then a name, then a unique ID prefix
(``Multiple IDs found with provided prefix`` when several match), and an image reference as
an ID, then a tag or digest, then a unique ID prefix.  dockbell answers every caller as docker
would if the containers and images they may not see were not there (issue 8): a hidden
object's name is never printed, it is "No such container" in the same words as a missing
one, and an ID prefix is ambiguous only if it matches two objects the caller can see.

So a prefix matching one visible container and some hidden ones resolves to the visible one:
that is what docker would do without the hidden ones, and refusing it ("No such container"
for a prefix of a container they can see) would tell the caller that something else shares
the prefix.

The engine's own lookup is tried first (one inspect); only when it finds nothing the caller
may see are the lists read and matched here.  A missing name takes that second step too,
so that missing and hidden cost about the same.  Engine failures (``DockerUnavailable``)
propagate: an unreachable engine is never mistaken for a missing object.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bot.engine.gateway import DockerGateway
from bot.engine.networks import Networks
from bot.engine.volumes import Volumes
from bot.errors import DockerError, DockerUnavailable, NotFound
from bot.policy import Target
from bot.policy.match import parse_image
from bot.policy.model import COMPOSE_PROJECT_LABEL

AMBIGUOUS = "Multiple IDs found with provided prefix"
_HEX = re.compile(r"[0-9a-f]+")
_HEX64 = re.compile(r"[0-9a-f]{64}")

Sees = Callable[[Target], bool]


def container_target(info: dict[str, Any]) -> Target:
    """A Target from an inspect document or a list item (both shapes of the Engine API)."""
    if "Names" in info:  # list item
        names = info.get("Names") or [""]
        name = names[0]
        labels = info.get("Labels") or {}
        image = info.get("Image", "")
    else:
        name = info.get("Name", "")
        labels = (info.get("Config") or {}).get("Labels") or {}
        image = (info.get("Config") or {}).get("Image", "")
    return Target(kind="container", name=name.lstrip("/"), id=info.get("Id", ""), labels=labels, image=image)


def image_target(info: dict[str, Any], ref: str = "") -> Target:
    """A Target from an image inspect document or list item; named by its tag, never by what was typed.

    An untagged image is named by its digest or ID, so a policy never judges it by a name
    the caller chose.
    """
    tags = [t for t in info.get("RepoTags") or [] if t != "<none>:<none>"]
    digests = [d for d in info.get("RepoDigests") or [] if not d.startswith("<none>@")]
    image_id = str(info.get("Id", ""))
    name = (ref if ref in tags else tags[0]) if tags else digests[0] if digests else image_id
    labels = (info.get("Config") or {}).get("Labels") or info.get("Labels") or {}
    return Target(kind="image", name=name, id=image_id, labels=labels, image=name)


def volume_target(info: dict[str, Any]) -> Target:
    """A Target from a volume's inspect document or list item: a volume's ID is its name."""
    name = str(info.get("Name", ""))
    return Target(kind="volume", name=name, id=name, labels=info.get("Labels") or {})


def network_target(info: dict[str, Any]) -> Target:
    return Target(
        kind="network", name=str(info.get("Name", "")), id=str(info.get("Id", "")), labels=info.get("Labels") or {}
    )


def project_target(name: str, labels: dict[str, str] | None = None) -> Target:
    """A compose project; ``id`` is set (to the name) only once some container of it is visible."""
    return Target(kind="project", name=name, id=name, labels={**(labels or {}), COMPOSE_PROJECT_LABEL: name})


def _ambiguous(err: DockerError) -> bool:
    return AMBIGUOUS.lower() in err.message.lower()  # 20.10 capitalises it, later engines do not


class Lookup:
    """One caller's view of one engine."""

    def __init__(self, docker: DockerGateway, sees: Sees) -> None:
        self.docker = docker
        self.sees = sees
        # What the engine resolved a reference to that the caller may not see: for the audit
        # trail only (a probe shows up there), never for the answer.
        self.hidden: list[Target] = []

    async def container(self, ref: str) -> Target | None:
        """The container docker would act on for ``ref`` among those the caller sees; None if none.

        Raises DockerError ("Multiple IDs found…") for a prefix of two visible containers.
        """
        if not ref.strip("/"):
            return None  # names no container; asking the engine for "/" would read its list endpoint
        try:
            found = container_target(await self.docker.inspect_container(ref))
            if self.sees(found):
                return found
            self.hidden.append(found)
        except NotFound:
            pass
        except DockerError as err:
            if not _ambiguous(err):
                raise
        return self._pick_container(ref, await self.docker.containers(all=True))

    def _pick_container(self, ref: str, items: list[dict[str, Any]]) -> Target | None:
        key = ref.lstrip("/")  # the daemon drops leading slashes from the path, as the CLI shows
        if not key:
            return None
        pairs = [(container_target(item), item) for item in items]
        seen = [(t, {n.lstrip("/") for n in item.get("Names") or []}) for t, item in pairs if self.sees(t)]
        for target, _ in seen:
            if target.id == key:
                return target
        for target, names in seen:
            if key in names:
                return target
        prefixed = [t for t, _ in seen if _HEX.fullmatch(key) and t.id.startswith(key)]
        if len(prefixed) > 1:
            raise DockerError(f"Error response from daemon: {AMBIGUOUS}: {key}")
        return prefixed[0] if prefixed else None

    async def image(self, ref: str) -> Target | None:
        """The image docker would use for ``ref`` among those the caller sees; None if none.

        The engine treats an ambiguous image ID prefix as no image at all, and so does this.
        """
        try:
            found = image_target(await self.docker.inspect_image(ref), ref)
            if self.sees(found):
                return found
            self.hidden.append(found)
        except NotFound:
            pass
        except DockerUnavailable:
            raise
        except DockerError as err:
            if "invalid reference format" in err.message:
                raise  # says nothing about any image: the same for every caller
        return self._pick_image(ref, await self.docker.images(all=True))

    def _pick_image(self, ref: str, items: list[dict[str, Any]]) -> Target | None:
        seen = [(image_target(item, ref), item) for item in items]
        seen = [(t, item) for t, item in seen if self.sees(t)]
        bare = ref.removeprefix("sha256:")
        if _HEX64.fullmatch(bare):
            exact = [t for t, _ in seen if t.id.removeprefix("sha256:") == bare]
            if exact:
                return exact[0]
        wanted = parse_image(ref)
        if wanted is not None:
            for target, item in seen:
                refs = [*(item.get("RepoTags") or []), *(item.get("RepoDigests") or [])]
                if any(parse_image(r) == wanted for r in refs):
                    return target
        if not bare or not _HEX.fullmatch(bare):
            return None
        prefixed = [t for t, _ in seen if t.id.removeprefix("sha256:").startswith(bare)]
        return prefixed[0] if len(prefixed) == 1 else None

    async def volume(self, ref: str) -> Target | None:
        """The volume named ``ref`` if the caller sees it: volumes are found by their exact name only."""
        try:
            found = volume_target(await Volumes(self.docker).inspect(ref))
        except NotFound:
            return None
        if self.sees(found):
            return found
        self.hidden.append(found)
        return None

    async def network(self, ref: str) -> Target | None:
        """The network docker would use for ``ref`` (full ID, name, unique ID prefix) among those the caller sees.

        Raises DockerError worded as the daemon's when two visible networks match.
        """
        networks = Networks(self.docker)
        try:
            found = network_target(await networks.inspect(ref))
            if self.sees(found):
                return found
            self.hidden.append(found)
        except NotFound:
            pass
        except DockerError as err:
            if "is ambiguous" not in err.message:
                raise
        seen = [network_target(n) for n in await networks.list()]
        seen = [t for t in seen if self.sees(t)]
        for target in seen:
            if target.id == ref:
                return target
        for how, matches in (
            ("name", [t for t in seen if t.name == ref]),
            ("ID prefix", [t for t in seen if ref and t.id.startswith(ref)]),
        ):
            if len(matches) > 1:
                found_by = f"{len(matches)} matches found based on {how}"
                raise DockerError(f"Error response from daemon: network {ref} is ambiguous ({found_by})")
            if matches:
                return matches[0]
        return None

    async def project_containers(self, project: str) -> list[Target]:
        """The containers of a compose project (by its label) that the caller sees, in the engine's order."""
        if not project:
            return []
        listed = await self.docker.containers(all=True, filters={"label": [f"{COMPOSE_PROJECT_LABEL}={project}"]})
        targets = [container_target(item) for item in listed]
        seen = [t for t in targets if self.sees(t)]
        self.hidden.extend(t for t in targets if not self.sees(t))
        return seen

    async def project(self, project: str) -> Target | None:
        """The project if the caller sees at least one of its containers; its labels are that container's."""
        seen = await self.project_containers(project)
        return project_target(project, dict(seen[0].labels)) if seen else None

    async def of_kind(self, kind: str, ref: str) -> Target | None:
        """The lookup for a target kind (container, image, volume, network, project, object)."""
        if kind == "object":
            return await self.object(ref)
        finder = {
            "container": self.container,
            "image": self.image,
            "volume": self.volume,
            "network": self.network,
            "project": self.project,
        }[kind]
        return await finder(ref)

    async def object(self, ref: str, only: str | None = None) -> Target | None:
        """``docker inspect``'s lookup: a container first, then an image (``--type`` picks one)."""
        if only in (None, "container"):
            found = await self.container(ref)
            if found is not None:
                return found
        if only in (None, "image"):
            return await self.image(ref)
        return None


def no_such(kind: str, ref: str) -> str:
    """The daemon's words for a missing container, image, volume or network, as docker prints them."""
    if kind == "image":
        return f"Error response from daemon: No such image: {ref}"
    if kind == "volume":
        return f"Error response from daemon: get {ref}: no such volume"
    if kind == "network":
        return f"Error response from daemon: network {ref} not found"
    if kind == "project":
        return f'no container found for project "{ref}": not found'
    return f"Error response from daemon: No such container: {ref.lstrip('/')}"
