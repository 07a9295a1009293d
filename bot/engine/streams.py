"""Long engine requests on a thread and a client of their own: push, build, export, save, cp, load.

The pull in gateway.py works the same way; this is the general form.  A stream can take
minutes, so it must not hold one of the gateway's pool threads; and the only thing that wakes
a thread blocked reading a socket is shutting that socket down, which is what a cancel does
(the awaiting task is cancelled, and the ``finally`` closes the response).  Everything the
thread sees is handed to the event loop in order: events for ``on_event``, then how it ended.
Errors are translated once, by the gateway, in docker's words.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import docker
import docker.types
import requests

from bot.engine.gateway import DockerGateway
from bot.errors import DockerError

R = TypeVar("R")

Emit = Callable[[Any], None]
Opener = Callable[[docker.APIClient], requests.Response]
EventCallback = Callable[[Any], Awaitable[None] | None]

# Raw archives (export, save, cp) are read in chunks of this size; progress is reported per chunk.
CHUNK = 1024 * 1024


class StreamHandle:
    """The response of one stream, shared by its thread and the awaiting task.

    The lock settles the race between a cancel and the thread attaching the response it has
    just received (see gateway._PullHandle, the same for pulls).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._response: requests.Response | None = None
        self.cancelled = False

    def attach(self, response: requests.Response) -> bool:
        with self._lock:
            self._response = response
            cancelled = self.cancelled
        if cancelled:
            self._close(response)
        return not cancelled

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            response = self._response
        if response is not None:
            self._close(response)

    @staticmethod
    def _close(response: requests.Response) -> None:
        # docker-py's CancellableStream knows where each transport keeps its socket.
        with contextlib.suppress(OSError, AttributeError, ValueError, docker.errors.DockerException):
            docker.types.CancellableStream(iter(()), response).close()


# What the thread does with the response once the engine has accepted the request.
Reader = Callable[[docker.APIClient, requests.Response, Emit, StreamHandle], R]


def json_events(
    api: docker.APIClient, response: requests.Response, emit: Emit, handle: StreamHandle
) -> list[dict[str, Any]]:
    """A stream of JSON messages (push, build, load, import): each is emitted; all are returned."""
    seen: list[dict[str, Any]] = []
    for event in docker.types.CancellableStream(api._stream_helper(response, decode=True), response):
        if handle.cancelled:
            break
        if isinstance(event, dict):
            seen.append(event)
            emit(event)
    return seen


class TooLarge(DockerError):
    """An archive went past the size dockbell allows; what was written of it is removed."""


class ToFile:
    """A raw archive written to ``path``; emits the bytes written so far; returns the total.

    Stops with TooLarge past ``limit`` bytes, removing the partial file.
    """

    def __init__(self, path: Path, limit: int, what: str) -> None:
        self.path = path
        self.limit = limit
        self.what = what

    def __call__(self, api: docker.APIClient, response: requests.Response, emit: Emit, handle: StreamHandle) -> int:
        total = 0
        try:
            with self.path.open("wb") as out:
                for chunk in _chunks(response):
                    if handle.cancelled:
                        break
                    total += len(chunk)
                    if total > self.limit:
                        raise TooLarge(f"{self.what} is larger than {self.limit} bytes (transfer.max_export): stopped")
                    out.write(chunk)
                    emit(total)
        except BaseException:
            self.path.unlink(missing_ok=True)
            raise
        return total


def _chunks(response: requests.Response) -> Iterator[bytes]:
    # iter_content undoes a chunked transfer encoding; the engine sends archives chunked.
    yield from response.iter_content(chunk_size=CHUNK)


async def run_stream(
    gateway: DockerGateway,
    name: str,
    opener: Opener,
    reader: Reader[R],
    *,
    on_event: EventCallback | None = None,
) -> R:
    """Open the request with ``opener`` on a client of its own, read it with ``reader``, on a thread.

    ``on_event`` gets what the reader emits, on the event loop, in order.  Cancelling the
    awaiting task shuts the response's socket down, which ends the thread; the engine then
    abandons what it was streaming.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    handle = StreamHandle()

    def hand_over(kind: str, payload: Any) -> None:
        # On the stream's thread: asyncio.Queue is not thread-safe, call_soon_threadsafe is.
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
            loop.call_soon_threadsafe(queue.put_nowait, (kind, payload))

    def work() -> None:
        api: docker.APIClient | None = None
        try:
            api = gateway.dedicated_client()
            response = opener(api)
            api._raise_for_status(response)
            if not handle.attach(response):
                hand_over("cancelled", None)
                return
            result = reader(api, response, lambda item: hand_over("event", item), handle)
            hand_over("cancelled" if handle.cancelled else "end", result)
        except BaseException as err:  # everything reaches the awaiting task, translated there
            hand_over("error", err)
        finally:
            if api is not None:
                api.close()

    threading.Thread(target=work, name=f"docker-{name}", daemon=True).start()
    try:
        while True:
            kind, payload = await queue.get()
            if kind == "event":
                if on_event is not None:
                    result = on_event(payload)
                    if inspect.isawaitable(result):
                        await result
            elif kind == "end":
                return payload  # type: ignore[no-any-return]
            elif kind == "cancelled":
                raise DockerError(f"{name} interrupted: the connection to Docker was closed")
            else:
                translated = gateway.translate(payload)
                if translated is None:
                    raise payload
                raise translated from None
    finally:
        handle.cancel()


def stream_error(event: Mapping[str, Any]) -> str | None:
    """The message of an error event (docker-py yields them as data, never raises them)."""
    if "error" in event or "errorDetail" in event:
        detail = event.get("errorDetail") or {}
        return str(event.get("error") or detail.get("message") or "unknown error")
    return None
