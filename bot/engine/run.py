"""The Engine API side of ``docker run`` and ``docker create``: create, start, attach, wait, remove.

What the CLI does (cli/command/container/run.go, create.go), step for step: create the
container, pulling the image first when the engine has none of it ("Unable to find image
... locally"); for an attached run, attach to its output and ask to be told of its exit
*before* starting it, so that no output and no exit is missed, then start it.  Long reads
(the output, the wait) run on threads and clients of their own (bot/engine/streams.py);
errors are the gateway's, in docker's words.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import docker
import requests

from bot.engine.gateway import DockerGateway
from bot.engine.streams import Emit, StreamHandle, run_stream
from bot.errors import DockerError, NotFound

JSON = dict[str, Any]


@dataclass(frozen=True)
class Created:
    id: str
    warnings: tuple[str, ...] = ()


async def create(gateway: DockerGateway, body: JSON, *, name: str, platform: str) -> Created:
    """POST /containers/create with the body as built (bot/engine/runconfig.py); sent once."""

    def call(api: docker.APIClient) -> JSON:
        return dict(api.create_container_from_config(body, name or None, platform or None))

    made = await gateway.call(call, retry=False)
    return Created(str(made["Id"]), tuple(str(w) for w in made.get("Warnings") or () if w))


def missing_image(err: NotFound) -> bool:
    """Whether a create failed for want of the image (the one 404 after which docker pulls)."""
    return "No such image" in err.message


async def start(gateway: DockerGateway, cid: str) -> None:
    await gateway.call(lambda api: api.start(cid), retry=False)


async def remove(gateway: DockerGateway, cid: str) -> None:
    """``docker rm -f`` of a container this command created (a failed attached ``--rm`` run)."""
    with contextlib.suppress(NotFound):
        await gateway.call(lambda api: api.remove_container(cid, force=True, v=True), retry=False)


@dataclass
class Attached:
    """What an attached run saw: its output (as a terminal shows it) and how it ended."""

    output: bytearray = field(default_factory=bytearray)
    dropped: int = 0  # bytes of output not kept (only the last ``keep`` bytes are)
    exit_code: int | None = None  # None: still running when the limit was reached
    error: str = ""  # the engine's word on a failed wait

    def feed(self, chunk: bytes, keep: int) -> None:
        self.output += chunk
        if len(self.output) > keep:
            cut = len(self.output) - keep
            del self.output[:cut]
            self.dropped += cut


Progress = Callable[[Attached], Awaitable[None]]


def _attach_opener(cid: str, stdout: bool, stderr: bool) -> Callable[[docker.APIClient], requests.Response]:
    def open_attach(api: docker.APIClient) -> requests.Response:
        url = api._url("/containers/{0}/attach", cid)
        headers = {"Connection": "Upgrade", "Upgrade": "tcp"}
        params = {"stdout": int(stdout), "stderr": int(stderr), "stream": 1}
        response: requests.Response = api._post(url, headers=headers, params=params, stream=True)
        return response

    return open_attach


def _read_output(api: docker.APIClient, response: requests.Response, emit: Emit, handle: StreamHandle) -> None:
    emit(b"")  # attached: the engine will now hand over everything the container writes
    for chunk in api._read_from_socket(response, True, tty=False):
        if handle.cancelled:
            return
        emit(bytes(chunk))


def _wait_opener(cid: str, condition: str) -> Callable[[docker.APIClient], requests.Response]:
    def open_wait(api: docker.APIClient) -> requests.Response:
        # stream=True: returns once the engine has sent the headers, which it does only after
        # it has registered the wait; the body comes when the container exits.
        url = api._url("/containers/{0}/wait", cid)
        response: requests.Response = api._post(url, params={"condition": condition}, stream=True, timeout=None)
        return response

    return open_wait


def _read_exit(api: docker.APIClient, response: requests.Response, emit: Emit, handle: StreamHandle) -> JSON:
    emit("waiting")
    return dict(json.loads(response.content or b"{}"))


async def run_attached(
    gateway: DockerGateway,
    cid: str,
    *,
    auto_remove: bool,
    limit: float,
    keep: int,
    stdout: bool = True,
    stderr: bool = True,
    on_output: Progress | None = None,
) -> Attached:
    """Attach, wait, start (in that order, as the CLI does); the output and exit code, within ``limit`` s.

    After ``limit`` the container is left running (as a detached one would be) and the result
    says so with ``exit_code=None``.  A start that fails raises, as ``docker run`` fails.
    """
    seen = Attached()
    attached, waiting = asyncio.Event(), asyncio.Event()

    async def on_chunk(chunk: bytes) -> None:
        if not attached.is_set():
            attached.set()
            return
        seen.feed(chunk, keep)
        if on_output is not None:
            await on_output(seen)

    async def on_wait(_: object) -> None:
        waiting.set()

    condition = "removed" if auto_remove else "next-exit"
    output = asyncio.create_task(
        run_stream(gateway, "attach", _attach_opener(cid, stdout, stderr), _read_output, on_event=on_chunk)
    )
    exited = asyncio.create_task(
        run_stream(gateway, "wait", _wait_opener(cid, condition), _read_exit, on_event=on_wait)
    )
    try:
        await _ready(output, attached, exited, waiting)
        await start(gateway, cid)
        try:
            async with asyncio.timeout(limit):
                status = await exited
                await output  # the stream ends once the container's output has all been read
        except TimeoutError:
            return seen
        seen.exit_code = int(status.get("StatusCode", 0))
        seen.error = str((status.get("Error") or {}).get("Message") or "")
        return seen
    finally:
        for task in (output, exited):
            task.cancel()
        await asyncio.gather(output, exited, return_exceptions=True)


async def _ready(
    output: asyncio.Task[Any], attached: asyncio.Event, exited: asyncio.Task[Any], waiting: asyncio.Event
) -> None:
    """Until both streams are open; a stream that fails first raises its error."""
    ready = asyncio.gather(attached.wait(), waiting.wait())
    done, _ = await asyncio.wait({output, exited, asyncio.ensure_future(ready)}, return_when=asyncio.FIRST_COMPLETED)
    for task in (output, exited):
        if task in done:
            task.result()  # raises the engine's error; a stream that ended this early is an error too
            raise DockerError("the container's output closed before it started")
    await ready


def read_kv_file(path: str, *, lookup: Mapping[str, str] | None) -> list[str]:
    """pkg/kvfile.Parse: what ``--env-file`` (with ``lookup``) and ``--label-file`` read, on this host.

    Blank lines and ``#`` comments are skipped; ``NAME`` alone takes its value from ``lookup``
    (the environment) or is dropped; a name with whitespace is refused, as docker refuses it.
    """
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as err:
        raise DockerError(f"open {path}: {os.strerror(err.errno or 0).lower()}") from None
    lines: list[str] = []
    for number, data in enumerate(raw.split(b"\n"), 1):
        data = data.removesuffix(b"\r")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise DockerError(f"invalid env file ({path}): invalid utf8 bytes at line {number}: {list(data)}") from None
        if number == 1:
            text = text.removeprefix("\ufeff")
        line = text.lstrip()
        if not line or line.startswith("#"):
            continue
        key, eq, _ = line.partition("=")
        if not key:
            raise DockerError(f"invalid env file ({path}): no variable name on line '{line}'")
        if " " in key or "\t" in key:
            raise DockerError(f"invalid env file ({path}): variable '{key}' contains whitespaces")
        if eq:
            lines.append(line)
        elif lookup is not None and line in lookup:
            lines.append(f"{key}={lookup[line]}")
    return lines


async def api_version(gateway: DockerGateway) -> str:
    """The API version the gateway speaks with this engine (negotiated, as the CLI's is)."""
    return str(await gateway.call(lambda api: api.api_version))


def api_socket(gateway: DockerGateway) -> str | None:
    """The engine's socket path for ``--use-api-socket`` (docker: unix sockets only)."""
    url = gateway.base_url
    return url.removeprefix("unix://") if url.startswith("unix://") else None
