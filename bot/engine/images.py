"""Image and engine-wide calls: tag, rmi, the prunes, system df, commit, push, build.

One thin function per Engine API call, taking the gateway (its ``call`` for short calls,
bot.engine.streams for long ones), so docker-py's signatures and traps stay in bot.engine
and its errors are translated in one place.  Results are the Engine API's plain JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import docker
import docker.auth
import requests

from bot.engine.gateway import DockerGateway
from bot.engine.streams import EventCallback, json_events, run_stream

__all__ = [
    "BuildRequest",
    "build",
    "commit",
    "disk_usage",
    "prune_containers",
    "prune_images",
    "push",
    "remove_image",
    "tag_image",
]


async def tag_image(gw: DockerGateway, source: str, repository: str, tag: str) -> None:
    """``docker tag SOURCE REPOSITORY:TAG``; moves the tag if another image had it, as the CLI does."""
    await gw.call(lambda api: api.tag(source, repository, tag, force=False), retry=False)


async def remove_image(gw: DockerGateway, ref: str, *, force: bool, prune: bool = True) -> list[dict[str, Any]]:
    """``docker rmi [-f] REF``: the engine's list of ``{"Untagged": ...}`` / ``{"Deleted": ...}``."""

    def delete(api: docker.APIClient) -> list[dict[str, Any]]:
        response = api._delete(api._url("/images/{0}", ref), params={"force": force, "noprune": not prune})
        return list(api._result(response, True) or [])

    return await gw.call(delete, retry=False)


async def prune_images(gw: DockerGateway, filters: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """``POST /images/prune``: ``{"ImagesDeleted": [...] | None, "SpaceReclaimed": n}``."""
    return dict(await gw.call(lambda api: api.prune_images(filters=_filters(filters)), retry=False))


async def prune_containers(gw: DockerGateway, filters: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """``POST /containers/prune``: ``{"ContainersDeleted": [...] | None, "SpaceReclaimed": n}``."""
    return dict(await gw.call(lambda api: api.prune_containers(filters=_filters(filters)), retry=False))


def _filters(filters: Mapping[str, Sequence[str]]) -> dict[str, list[str]] | None:
    return {k: list(v) for k, v in filters.items()} or None


async def disk_usage(gw: DockerGateway) -> dict[str, Any]:
    """``GET /system/df``: images, containers, volumes and build cache with their sizes."""
    return dict(await gw.call(lambda api: api.df()))


async def commit(
    gw: DockerGateway,
    container_id: str,
    *,
    repository: str | None,
    tag: str | None,
    message: str | None,
    author: str | None,
    changes: Sequence[str],
    pause: bool,
) -> str:
    """``docker commit``: the new image's ID (``sha256:...``)."""

    def run(api: docker.APIClient) -> str:
        params = {
            "container": container_id,
            "repo": repository,
            "tag": tag,
            "comment": message,
            "author": author,
            "pause": pause,
            "changes": list(changes) or None,
        }
        response = api._post_json(api._url("/commit"), data={}, params=params)
        return str(api._result(response, json=True)["Id"])

    return await gw.call(run, retry=False)


def _auth_headers(api: docker.APIClient, repository: str) -> dict[str, str]:
    registry, _ = docker.auth.resolve_repository_name(repository)
    header = docker.auth.get_config_header(api, registry)
    return {"X-Registry-Auth": header} if header else {}


async def push(
    gw: DockerGateway, repository: str, tag: str, *, on_event: EventCallback | None = None
) -> list[dict[str, Any]]:
    """``docker push REPOSITORY:TAG``: every event of the stream; errors in it are the caller's to read."""

    def opener(api: docker.APIClient) -> requests.Response:
        url = api._url("/images/{0}/push", repository)
        headers = _auth_headers(api, repository)
        response: requests.Response = api._post_json(
            url, None, headers=headers, params={"tag": tag}, stream=True, timeout=None
        )
        return response

    return await run_stream(gw, f"push {repository}:{tag}", opener, json_events, on_event=on_event)


@dataclass(frozen=True)
class BuildRequest:
    """``docker build`` from a remote context: a git URL or a tarball's URL, fetched by the engine."""

    remote: str
    tags: tuple[str, ...] = ()
    dockerfile: str | None = None
    build_args: Mapping[str, str] | None = None
    no_cache: bool = False
    rm: bool = True
    force_rm: bool = False
    target: str | None = None
    labels: Mapping[str, str] | None = None

    def params(self) -> dict[str, Any]:
        # The legacy builder's query, as the CLI sends it (rm is on by default there too).
        params: dict[str, Any] = {
            "remote": self.remote,
            "rm": self.rm,
            "forcerm": self.force_rm,
            "nocache": self.no_cache,
        }
        if self.tags:
            params["t"] = list(self.tags)
        if self.dockerfile:
            params["dockerfile"] = self.dockerfile
        if self.build_args:
            params["buildargs"] = json.dumps(dict(self.build_args))
        if self.target:
            params["target"] = self.target
        if self.labels:
            params["labels"] = json.dumps(dict(self.labels))
        return params


async def build(
    gw: DockerGateway, request: BuildRequest, *, on_event: EventCallback | None = None
) -> list[dict[str, Any]]:
    """``POST /build?remote=...``: every event (``stream`` text, ``aux`` with the ID, ``error``)."""

    def opener(api: docker.APIClient) -> requests.Response:
        response: requests.Response = api._post(
            api._url("/build"), params=request.params(), data=b"", stream=True, timeout=None
        )
        return response

    return await run_stream(gw, "build", opener, json_events, on_event=on_event)
