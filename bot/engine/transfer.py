"""Tarballs in and out of the engine: export, save, cp (out) and import, load (in).

Archives out are streamed by the engine and written to a file on the worker's host as they
come (never held in memory), up to a limit; what to do with the file (Slack or the export
directory) is the job's business (bot/jobs/image_jobs.py).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import docker
import requests

from bot.engine.gateway import DockerGateway
from bot.engine.streams import EventCallback, ToFile, json_events, run_stream

__all__ = ["ArchiveStat", "copy_from", "export_container", "import_url", "load", "save_images"]

Progress = Callable[[int], Any]


def _bytes_progress(on_bytes: Progress | None) -> EventCallback | None:
    return None if on_bytes is None else (lambda n: on_bytes(int(n)))


async def export_container(
    gw: DockerGateway, container_id: str, path: Path, *, limit: int, on_bytes: Progress | None = None
) -> int:
    """``docker export``: the container's filesystem as a tar in ``path``; its size."""

    def opener(api: docker.APIClient) -> requests.Response:
        response: requests.Response = api._get(
            api._url("/containers/{0}/export", container_id), stream=True, timeout=None
        )
        return response

    reader = ToFile(path, limit, "the export")
    return await run_stream(gw, "export", opener, reader, on_event=_bytes_progress(on_bytes))


async def save_images(
    gw: DockerGateway, refs: Sequence[str], path: Path, *, limit: int, on_bytes: Progress | None = None
) -> int:
    """``docker save REF...``: one tar of the images (with their tags) in ``path``; its size."""

    def opener(api: docker.APIClient) -> requests.Response:
        response: requests.Response = api._get(
            api._url("/images/get"), params={"names": list(refs)}, stream=True, timeout=None
        )
        return response

    reader = ToFile(path, limit, "the image archive")
    return await run_stream(gw, "save", opener, reader, on_event=_bytes_progress(on_bytes))


@dataclass(frozen=True)
class ArchiveStat:
    """``X-Docker-Container-Path-Stat``: what ``docker cp`` is copying."""

    name: str
    size: int
    mode: int
    link_target: str

    @property
    def is_dir(self) -> bool:
        return bool(self.mode & (1 << 31))  # Go's os.ModeDir

    @property
    def is_symlink(self) -> bool:
        return bool(self.mode & (1 << 27))  # os.ModeSymlink


def _stat(response: requests.Response) -> ArchiveStat:
    raw = response.headers.get("X-Docker-Container-Path-Stat", "")
    data = json.loads(base64.b64decode(raw)) if raw else {}
    return ArchiveStat(
        name=str(data.get("name", "")),
        size=int(data.get("size") or 0),
        mode=int(data.get("mode") or 0),
        link_target=str(data.get("linkTarget") or ""),
    )


async def copy_from(
    gw: DockerGateway, container_id: str, src: str, path: Path, *, limit: int, on_bytes: Progress | None = None
) -> tuple[ArchiveStat, int]:
    """``docker cp CONTAINER:SRC -``: the tar the CLI would write to stdout, in ``path``; (stat, size)."""
    stat: list[ArchiveStat] = []
    to_file = ToFile(path, limit, "the copy")

    def opener(api: docker.APIClient) -> requests.Response:
        response: requests.Response = api._get(
            api._url("/containers/{0}/archive", container_id), params={"path": src}, stream=True, timeout=None
        )
        return response

    def reader(api: docker.APIClient, response: requests.Response, emit: Any, handle: Any) -> int:
        stat.append(_stat(response))
        return to_file(api, response, emit, handle)

    size = await run_stream(gw, "cp", opener, reader, on_event=_bytes_progress(on_bytes))
    return stat[0], size


async def import_url(
    gw: DockerGateway,
    url: str,
    *,
    repository: str | None,
    tag: str | None,
    message: str | None,
    changes: Sequence[str],
    on_event: EventCallback | None = None,
) -> list[dict[str, Any]]:
    """``docker import URL [REPOSITORY[:TAG]]``: the engine fetches the URL itself."""

    def opener(api: docker.APIClient) -> requests.Response:
        params: dict[str, Any] = {"fromSrc": url, "repo": repository, "tag": tag, "message": message}
        if changes:
            params["changes"] = list(changes)
        response: requests.Response = api._post(
            api._url("/images/create"), params=params, data=b"", stream=True, timeout=None
        )
        return response

    return await run_stream(gw, "import", opener, json_events, on_event=on_event)


async def load(gw: DockerGateway, archive: BinaryIO, *, quiet: bool) -> list[dict[str, Any]]:
    """``docker load``: the tar read from ``archive`` (an open file) is sent to the engine."""

    def opener(api: docker.APIClient) -> requests.Response:
        response: requests.Response = api._post(
            api._url("/images/load"),
            params={"quiet": quiet},
            data=archive,
            headers={"Content-Type": "application/x-tar"},
            stream=True,
            timeout=None,
        )
        return response

    return await run_stream(gw, "load", opener, json_events)
