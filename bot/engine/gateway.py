"""The only module that imports docker-py.

docker-py is blocking, so every call runs in a dedicated thread pool: the default
executor has only min(32, cpus + 4) threads and a slow call (``stats`` waits ~2 s
for a second sample) must not starve the rest.  Long streams (a pull) get a thread of
their own instead, so that a few slow pulls cannot fill the pool either.  Results are
the Engine API's plain JSON; errors become dockbell's, worded as the docker CLI words them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import os
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import docker
import docker.auth
import docker.errors
import docker.tls
import docker.types
import requests.exceptions

from bot.cli_output.pull import parse_image_ref
from bot.errors import DockbellError, DockerError, DockerUnavailable, NotFound
from bot.ops.health import Status

T = TypeVar("T")

DEFAULT_SOCKET = "unix:///var/run/docker.sock"

# The engine's own default when `docker stop`/`restart` get no -t and the container has no
# StopTimeout: used only to size the HTTP timeout around the call.
ENGINE_STOP_TIMEOUT = 10

ProgressCallback = Callable[[dict[str, Any]], Awaitable[None] | None]


@dataclass(frozen=True)
class StateChange:
    """What ``start``/``stop``/``restart`` did to one container.

    ``changed`` is False when the engine answered 304 Not Modified: start on a running
    container, stop on a stopped one. The CLI prints the name either way; a careful user
    wants to hear "already running" rather than "started".
    """

    action: Literal["start", "stop", "restart"]
    id: str
    name: str
    changed: bool
    # State.Status afterwards: "running", "exited"...; a --rm container that stopped is
    # "removing", or "removed" once it is gone.
    status: str
    exit_code: int | None  # State.ExitCode afterwards when not running (137: killed after the timeout)

    @property
    def already(self) -> bool:
        return not self.changed


@dataclass(frozen=True)
class PullResult:
    """How a pull ended: the image's digest and the engine's ``Status:`` line."""

    repository: str
    tag: str
    digest: str | None
    status: str

    @property
    def updated(self) -> bool:
        return self.status.startswith("Status: Downloaded newer image")


class _PullHandle:
    """The stream of one pull, shared by its thread and the awaiting task.

    Closing it shuts the socket down, which is the only thing that wakes a thread blocked
    reading the stream (cancelling the task does not). The lock settles the race between a
    cancel and the thread attaching the stream it has just opened.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stream: docker.types.CancellableStream | None = None
        self.cancelled = False

    def attach(self, stream: docker.types.CancellableStream) -> bool:
        with self._lock:
            self._stream = stream
            cancelled = self.cancelled
        if cancelled:
            self._close(stream)
        return not cancelled

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            stream = self._stream
        if stream is not None:
            self._close(stream)

    @staticmethod
    def _close(stream: docker.types.CancellableStream) -> None:
        # The thread may be closing the response at the same moment: then there is nothing
        # left to shut down.
        with contextlib.suppress(OSError, AttributeError, ValueError):
            stream.close()


def _name(inspected: dict[str, Any]) -> str:
    return str(inspected.get("Name", "")).lstrip("/")


def _daemon_message(err: docker.errors.APIError) -> str:
    explanation = err.explanation
    if isinstance(explanation, bytes):
        explanation = explanation.decode("utf-8", "replace")
    return str(explanation or err).strip()


def _permission_denied(err: BaseException) -> bool:
    """Whether EACCES is somewhere in the chain: docker-py and urllib3 wrap it in their own errors,
    both as the context and inside args (ConnectionError(ProtocolError(..., PermissionError)))."""
    todo: list[BaseException] = [err]
    seen: set[int] = set()
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, PermissionError):
            return True
        linked = (current.__cause__, current.__context__, *current.args)
        todo.extend(e for e in linked if isinstance(e, BaseException))
    return False


def _connection_failure(err: BaseException) -> bool:
    """The engine could not be reached (refused, reset, socket gone), as opposed to an answer from it."""
    if isinstance(err, docker.errors.APIError):
        return False
    if isinstance(err, requests.exceptions.ConnectionError | ConnectionError | FileNotFoundError):
        return True
    return isinstance(err, docker.errors.DockerException) and "Error while fetching server API version" in str(err)


def _tls_config(verify: bool, cert_path: str | None) -> docker.tls.TLSConfig | bool:
    """docker's DOCKER_TLS_VERIFY / DOCKER_CERT_PATH convention: ca.pem, cert.pem, key.pem in one folder."""
    if not cert_path:
        return bool(verify)
    return docker.tls.TLSConfig(
        client_cert=(os.path.join(cert_path, "cert.pem"), os.path.join(cert_path, "key.pem")),
        ca_cert=os.path.join(cert_path, "ca.pem") if verify else None,
        verify=verify,
    )


class DockerGateway:
    """Async facade over one Docker engine."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout: float = 30.0,
        threads: int = 16,
        tls_verify: bool = False,
        cert_path: str | None = None,
    ) -> None:
        self.base_url = base_url or DEFAULT_SOCKET
        self._tls = _tls_config(tls_verify, cert_path)
        self._timeout = timeout
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="docker")
        self._client: docker.APIClient | None = None
        self._lock = threading.Lock()
        self._pulls: set[_PullHandle] = set()

    def _api(self) -> docker.APIClient:
        # Created lazily and re-created after a failed start, so the bot starts (and
        # recovers) while the engine is down instead of needing a restart.
        with self._lock:
            if self._client is None:
                self._client = docker.APIClient(
                    base_url=self.base_url, version="auto", timeout=self._timeout, tls=self._tls
                )
            return self._client

    def unavailable(self, cause: BaseException | None = None) -> DockerUnavailable:
        """The engine cannot be reached; says why when the socket refused us (a wrong DOCKER_GID)."""
        if cause is not None and self.base_url.startswith("unix://") and _permission_denied(cause):
            path = self.base_url.removeprefix("unix://")
            return DockerUnavailable(
                f"permission denied on {path}: the worker's user is not in the socket's group (DOCKER_GID)"
            )
        return DockerUnavailable(
            f"Cannot connect to the Docker daemon at {self.base_url}. Is the docker daemon running?"
        )

    async def call(self, fn: Callable[[docker.APIClient], T], *, not_found: str | None = None, retry: bool = True) -> T:
        """Run ``fn(api)`` in the pool; translate failures in one place.

        ``retry``: after a connection failure, try once more on a fresh client.  An engine that
        restarted leaves the pooled connections dead, and the first call after it came back
        would otherwise fail with the outage's error.  Only for calls that are safe to send
        twice (reads); a state change is sent once (see _change_state).
        """
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, functools.partial(self._run, fn, retry))
        except Exception as err:
            translated = self._translate(err)
            if translated is None:
                raise
            raise translated from None

    def translate(self, err: BaseException) -> DockbellError | None:
        """The one translation of docker-py failures, for modules that run calls of their own (streams)."""
        return self._translate(err)

    def dedicated_client(self) -> docker.APIClient:
        """A client of its own for one long stream (push, build, export...), to close when it ends.

        Shutting a stream's socket down from another thread (a cancel) must never hit a
        connection that the shared client's pool could hand to another call.  The API version
        is the shared client's, so there is no second /version round trip.
        """
        return docker.APIClient(
            base_url=self.base_url, version=self._api().api_version, timeout=self._timeout, tls=self._tls
        )

    def _translate(self, err: BaseException) -> DockbellError | None:
        """dockbell's error for a docker-py failure, worded like the CLI; None if it is not one."""
        if isinstance(err, docker.errors.NotFound):
            return NotFound(f"Error response from daemon: {_daemon_message(err)}")
        if isinstance(err, docker.errors.APIError):
            return DockerError(f"Error response from daemon: {_daemon_message(err)}")
        if isinstance(err, requests.exceptions.ConnectionError | ConnectionError | FileNotFoundError | PermissionError):
            return self.unavailable(err)
        if isinstance(err, docker.errors.DockerException):
            if "Error while fetching server API version" in str(err):
                return self.unavailable(err)
            return DockerError(f"error during connect: {err}")
        return None

    def _run(self, fn: Callable[[docker.APIClient], T], retry: bool = False) -> T:
        client = None
        try:
            client = self._api()
            return fn(client)
        except Exception as err:
            if not (retry and _connection_failure(err)):
                raise
            self._forget(client)
        return fn(self._api())

    def _forget(self, client: docker.APIClient | None) -> None:
        """Drop a client whose connections failed, so the next call connects afresh.

        Not closed here: another thread may be mid-call on it; its pool goes with it.
        """
        with self._lock:
            if client is None or self._client is client:
                self._client = None

    # One thin method per Engine API call the handlers use: keeps docker-py's
    # signatures (and its traps: tail must be an int, since an epoch) in this file.

    async def ping(self) -> bool:
        return bool(await self.call(lambda api: api.ping()))

    async def health(self) -> Status:
        """For the worker's /healthz and `dockbell check`."""
        try:
            version = await self.version()
        except DockbellError as err:
            return Status(False, str(err))
        return Status(True, f"Docker {version.get('Version', '?')} at {self.base_url}")

    async def version(self) -> dict[str, Any]:
        return dict(await self.call(lambda api: api.version()))

    async def info(self) -> dict[str, Any]:
        return dict(await self.call(lambda api: api.info()))

    async def containers(
        self, *, all: bool = False, limit: int = -1, size: bool = False, filters: dict[str, list[str]] | None = None
    ) -> list[dict[str, Any]]:
        return list(
            await self.call(lambda api: api.containers(all=all, limit=limit, size=size, filters=filters or None))
        )

    async def images(self, *, all: bool = False, filters: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
        return list(await self.call(lambda api: api.images(all=all, filters=filters or None)))

    async def inspect_container(self, ref: str) -> dict[str, Any]:
        return dict(await self.call(lambda api: api.inspect_container(ref)))

    async def inspect_image(self, ref: str) -> dict[str, Any]:
        return dict(await self.call(lambda api: api.inspect_image(ref)))

    async def logs(
        self,
        ref: str,
        *,
        tail: int | None,
        since: float | None,
        until: float | None,
        timestamps: bool,
    ) -> bytes:
        def fetch(api: docker.APIClient) -> bytes:
            kwargs: dict[str, Any] = {"stdout": True, "stderr": True, "timestamps": timestamps}
            kwargs["tail"] = "all" if tail is None or tail < 0 else int(tail)
            if since is not None:
                kwargs["since"] = since
            if until is not None:
                kwargs["until"] = until
            out = api.logs(ref, **kwargs)
            return out if isinstance(out, bytes) else bytes(out)

        return await self.call(fetch)

    async def top(self, ref: str, ps_args: str | None) -> dict[str, Any]:
        return dict(await self.call(lambda api: api.top(ref, ps_args=ps_args)))

    async def stats(self, ref: str) -> dict[str, Any]:
        return dict(await self.call(lambda api: api.stats(ref, stream=False)))

    # --- jobs: state changes and pulls ---------------------------------------------------

    async def start(self, ref: str) -> StateChange:
        """``docker start REF``; ``changed=False`` when it was already running."""
        return await self._state_change("start", ref, None)

    async def stop(self, ref: str, timeout: int | None = None) -> StateChange:
        """``docker stop [-t N] REF``: SIGTERM (or the image's StopSignal), SIGKILL after N s.

        Without ``timeout`` no ``t`` is sent, so the engine applies the container's own
        StopTimeout (default 10 s), as the CLI does. ``changed=False``: already stopped.
        """
        return await self._state_change("stop", ref, timeout)

    async def restart(self, ref: str, timeout: int | None = None) -> StateChange:
        """``docker restart [-t N] REF``; a stopped container is simply started."""
        return await self._state_change("restart", ref, timeout)

    async def _state_change(
        self, action: Literal["start", "stop", "restart"], ref: str, timeout: int | None
    ) -> StateChange:
        # Resolve first: the same lookup the endpoints do (exact ID, exact name, unique ID
        # prefix) with the same "No such container: REF" error, and the action then targets
        # the very container that was resolved (and judged by the access layer), by ID.
        # The lookup is a read, retried once on a fresh connection after an engine restart;
        # the action itself is never sent twice (a second restart is a second outage), and it
        # goes out on the connection the lookup has just proven.
        before = await self.inspect_container(ref)
        return await self.call(lambda api: self._change_state(api, action, before, timeout), retry=False)

    def _change_state(
        self,
        api: docker.APIClient,
        action: Literal["start", "stop", "restart"],
        before: dict[str, Any],
        timeout: int | None,
    ) -> StateChange:
        cid = str(before["Id"])
        params: dict[str, Any] = {}
        http_timeout: float | None = self._timeout
        if action != "start":
            if timeout is not None:
                params["t"] = int(timeout)
            stop_timeout = timeout if timeout is not None else before.get("Config", {}).get("StopTimeout")
            if stop_timeout is None:
                stop_timeout = ENGINE_STOP_TIMEOUT
            # The engine answers only once the container is down: allow for the grace period
            # (docker-py does the same); -1 means "wait as long as it takes".
            http_timeout = None if stop_timeout < 0 else self._timeout + stop_timeout
        # docker-py's start()/stop() drop the status code, and 304 is no error to requests:
        # call the endpoint through its helpers to see it.
        response = api._post(api._url(f"/containers/{{0}}/{action}", cid), params=params, timeout=http_timeout)
        api._raise_for_status(response)
        changed = response.status_code != 304
        try:
            state = api.inspect_container(cid)["State"]
        except docker.errors.NotFound:
            # A --rm container is removed as soon as it stops.
            return StateChange(action, cid, _name(before), changed, "removed", None)
        running = bool(state.get("Running"))
        exit_code = None if running else int(state.get("ExitCode") or 0)
        return StateChange(action, cid, _name(before), changed, str(state.get("Status", "")), exit_code)

    async def pull(self, ref: str, *, on_progress: ProgressCallback | None = None) -> PullResult:
        """``docker pull REF`` (one tag; ``latest`` by default), reporting every event.

        The stream is read on a thread of its own (a pull can take minutes and must not hold
        a pool thread); each decoded event is handed to the event loop and passed to
        ``on_progress`` there, in order. A 404 before streaming raises ``NotFound`` worded like
        the CLI (``Error response from daemon: manifest for ... not found: ...``); an error
        event mid-stream, which docker-py yields as data, raises ``DockerError`` with its
        message alone, as the CLI prints it. Cancelling the awaiting task closes the stream,
        which ends the thread and makes the engine abandon the pull.
        """
        repository, tag = parse_image_ref(ref)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        handle = _PullHandle()

        def hand_over(kind: str, payload: Any) -> None:
            # Runs on the pull thread: asyncio.Queue is not thread-safe, the loop's
            # call_soon_threadsafe is. A closed loop means nobody waits any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(queue.put_nowait, (kind, payload))

        thread = threading.Thread(
            target=self._pull_thread,
            args=(repository, tag, handle, hand_over),
            name=f"docker-pull {repository}:{tag}",
            daemon=True,
        )
        self._pulls.add(handle)
        thread.start()
        digest: str | None = None
        status: str | None = None
        try:
            while True:
                kind, payload = await queue.get()
                if kind == "error":
                    translated = self._translate(payload)
                    if translated is None:
                        raise payload
                    raise translated from None
                if kind == "end":
                    break
                if kind == "cancelled":  # close() while this task was still waiting
                    raise DockerError("pull interrupted: the connection to Docker was closed")
                event: dict[str, Any] = payload
                if on_progress is not None:
                    result = on_progress(event)
                    if inspect.isawaitable(result):
                        await result
                if "error" in event:
                    message = event.get("error") or event.get("errorDetail", {}).get("message", "")
                    raise DockerError(str(message))
                text = str(event.get("status") or "")
                if text.startswith("Digest: "):
                    digest = text[len("Digest: ") :]
                elif text.startswith("Status: "):
                    status = text
        finally:
            # Cancelled, failed in on_progress or finished: closing is what ends the thread
            # (a no-op once the stream has ended by itself).
            handle.cancel()
            self._pulls.discard(handle)
        if status is None:
            # The stream ended without the engine's closing status: the connection dropped
            # (engine restarted?). Go's JSON decoder says the same to the CLI.
            raise DockerError("unexpected EOF")
        return PullResult(repository, tag, digest, status)

    def _pull_thread(
        self, repository: str, tag: str, handle: _PullHandle, hand_over: Callable[[str, Any], None]
    ) -> None:
        api: docker.APIClient | None = None
        try:
            # A client of its own: closing the stream shuts its socket down, which must never
            # hit a connection the shared client's pool could hand to another call. The API
            # version is the shared client's, so no second /version round trip.
            api = docker.APIClient(
                base_url=self.base_url, version=self._api().api_version, timeout=self._timeout, tls=self._tls
            )
            # What docker-py's api.pull(stream=True) does, keeping the response: its generator
            # hides it, and only the response's socket can be shut down from another thread.
            headers = {}
            registry, _ = docker.auth.resolve_repository_name(repository)
            auth = docker.auth.get_config_header(api, registry)
            if auth:
                headers["X-Registry-Auth"] = auth
            response = api._post(
                api._url("/images/create"),
                params={"fromImage": repository, "tag": tag},
                headers=headers,
                stream=True,
                timeout=None,
            )
            api._raise_for_status(response)
            stream = docker.types.CancellableStream(api._stream_helper(response, decode=True), response)
            if handle.attach(stream):
                # CancellableStream turns a closed or dropped connection into the end of the
                # iteration; the caller tells a complete pull by the engine's Status line.
                for event in stream:
                    if handle.cancelled:
                        break
                    hand_over("event", event)
            # Always say how it ended: after a close() the awaiting task is still waiting.
            hand_over("cancelled" if handle.cancelled else "end", None)
        except Exception as err:
            hand_over("error", err)
        finally:
            if api is not None:
                api.close()

    async def close(self) -> None:
        for handle in list(self._pulls):
            handle.cancel()
        client = self._client
        if client is not None:
            client.close()
        self._executor.shutdown(wait=False, cancel_futures=True)
