"""The container calls behind kill, rm, pause, unpause, rename, update, wait and exec.

One thin method per Engine API call, in the style of docker-py's resource wrappers, over the
gateway's ``call()`` (pool thread, errors translated once, in docker's words).  State
changes are sent once (``retry=False``): a kill or a removal is never repeated because a
connection dropped.  The two calls that can block for long, ``wait`` and an attached
``exec``, run as streams on a thread and a client of their own (bot/engine/streams.py), so
that waiting containers never hold the gateway's pool; cancelling the awaiting task closes
the socket, which ends the thread.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import docker
import requests
from docker.utils.socket import frames_iter

from bot.engine.gateway import DockerGateway
from bot.engine.streams import Emit, StreamHandle, run_stream
from bot.errors import DockerError

# After an attached exec's stream ends, the engine may take a moment to record the exit code.
EXIT_CODE_WAIT = 1.0


@dataclass(frozen=True)
class ExecResult:
    """What an attached exec showed, and how it ended (exit_code None: still running)."""

    output: bytes  # stdout and stderr interleaved, as a terminal shows them
    exit_code: int | None
    dropped: int = 0  # bytes past the limit, read and not kept

    @property
    def running(self) -> bool:
        return self.exit_code is None


class _Collected:
    """Output read on the stream's thread, kept up to ``limit`` bytes; readable after a timeout."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.kept: list[bytes] = []
        self.size = 0
        self.dropped = 0
        self._lock = threading.Lock()

    def __call__(self, api: docker.APIClient, response: requests.Response, emit: Emit, handle: StreamHandle) -> None:
        sock = api._get_raw_response_socket(response)
        api._disable_socket_timeout(sock)  # a quiet command is not a dead connection
        for _, data in frames_iter(sock, False):
            if handle.cancelled:
                break
            with self._lock:
                room = max(self.limit - self.size, 0)
                self.kept.append(data[:room])
                self.size += min(room, len(data))
                self.dropped += max(len(data) - room, 0)

    def output(self) -> tuple[bytes, int]:
        with self._lock:
            return b"".join(self.kept), self.dropped


class Containers:
    """The container endpoints of one engine."""

    def __init__(self, gateway: DockerGateway) -> None:
        self.gateway = gateway

    # --- state changes: one engine call each, sent once --------------------------------------

    async def kill(self, cid: str, signal: str) -> None:
        """``docker kill [-s SIGNAL]``; an empty signal is the engine's default (SIGKILL)."""
        params = {"signal": signal} if signal else {}
        await self._post("/containers/{0}/kill", cid, params=params)

    async def remove(self, cid: str, *, force: bool, volumes: bool, link: bool) -> None:
        """``docker rm [-f] [-v] [-l]``."""
        await self.gateway.call(lambda api: api.remove_container(cid, v=volumes, link=link, force=force), retry=False)

    async def pause(self, cid: str) -> None:
        await self._post("/containers/{0}/pause", cid)

    async def unpause(self, cid: str) -> None:
        await self._post("/containers/{0}/unpause", cid)

    async def rename(self, cid: str, new_name: str) -> None:
        await self._post("/containers/{0}/rename", cid, params={"name": new_name})

    async def update(self, cid: str, body: Mapping[str, Any]) -> list[str]:
        """``docker update``: the UpdateConfig as the CLI sends it; the engine's warnings."""

        def send(api: docker.APIClient) -> list[str]:
            response = api._post_json(api._url("/containers/{0}/update", cid), data=dict(body))
            result = api._result(response, True) or {}
            return [str(w) for w in result.get("Warnings") or []]

        return await self.gateway.call(send, retry=False)

    async def _post(self, path: str, cid: str, *, params: Mapping[str, str] | None = None) -> None:
        def send(api: docker.APIClient) -> None:
            api._raise_for_status(api._post(api._url(path, cid), params=dict(params or {})))

        await self.gateway.call(send, retry=False)

    # --- wait: blocks until the container stops --------------------------------------------

    async def wait(self, cid: str) -> int:
        """``docker wait``: the exit code once the container is not running (at once if it is not).

        Unbounded: the caller bounds it (and a cancel ends it: the engine keeps nothing).
        """

        def opener(api: docker.APIClient) -> requests.Response:
            # timeout=None: the answer comes when the container stops, however long that is.
            response: requests.Response = api._post(api._url("/containers/{0}/wait", cid), stream=True, timeout=None)
            return response

        def reader(api: docker.APIClient, response: requests.Response, emit: Emit, handle: StreamHandle) -> Any:
            return json.loads(response.content or b"{}")

        result = await run_stream(self.gateway, "wait", opener, reader)
        error = (result.get("Error") or {}).get("Message") if isinstance(result, dict) else None
        if error:
            raise DockerError(str(error))  # the Go client hands the engine's message on as is
        return int(result.get("StatusCode", 0))

    # --- exec ----------------------------------------------------------------------------

    async def exec_create(
        self,
        cid: str,
        cmd: Sequence[str],
        *,
        env: Sequence[str],
        user: str,
        workdir: str,
        privileged: bool,
        detach: bool,
        detach_keys: str,
    ) -> str:
        """The exec instance ``docker exec`` creates (its ExecOptions, attached unless -d); its id."""
        body: dict[str, Any] = {
            "User": user,
            "Privileged": privileged,
            "Tty": False,
            "AttachStdin": False,
            "AttachStdout": not detach,
            "AttachStderr": not detach,
            "Env": list(env) or None,
            "WorkingDir": workdir,
            "Cmd": list(cmd),
        }
        if detach_keys:
            body["DetachKeys"] = detach_keys

        def send(api: docker.APIClient) -> str:
            response = api._post_json(api._url("/containers/{0}/exec", cid), data=body)
            return str(api._result(response, True)["Id"])

        return await self.gateway.call(send, retry=False)

    async def exec_start_detached(self, exec_id: str) -> None:
        def send(api: docker.APIClient) -> None:
            data = {"Detach": True, "Tty": False}
            api._raise_for_status(api._post_json(api._url("/exec/{0}/start", exec_id), data=data))

        await self.gateway.call(send, retry=False)

    async def exec_attached(self, exec_id: str, *, within: float, limit: int) -> ExecResult:
        """Start the exec and read its output for up to ``within`` seconds, keeping ``limit`` bytes.

        After ``within`` seconds the stream is closed and the command goes on in the container
        (the Engine API cannot stop an exec): ``exit_code`` is then None.
        """
        collected = _Collected(limit)

        def opener(api: docker.APIClient) -> requests.Response:
            headers = {"Connection": "Upgrade", "Upgrade": "tcp"}
            data = {"Detach": False, "Tty": False}
            response: requests.Response = api._post_json(
                api._url("/exec/{0}/start", exec_id), headers=headers, data=data, stream=True
            )
            return response

        try:
            async with asyncio.timeout(max(within, 0.0)):
                await run_stream(self.gateway, "exec", opener, collected)
        except TimeoutError:
            output, dropped = collected.output()
            return ExecResult(output, await self._exit_code(exec_id, wait=0.0), dropped)
        output, dropped = collected.output()
        return ExecResult(output, await self._exit_code(exec_id, wait=EXIT_CODE_WAIT), dropped)

    async def _exit_code(self, exec_id: str, *, wait: float) -> int | None:
        """The exec's exit code; None while it runs (looked at for up to ``wait`` seconds)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            inspected = await self.gateway.call(lambda api: api.exec_inspect(exec_id))
            if not inspected.get("Running"):
                return int(inspected.get("ExitCode") or 0)
            if loop.time() >= deadline:
                return None
            await asyncio.sleep(0.05)
