"""The engine's live streams: a container's log (``logs -f``), its output (``attach``), its stats.

Each runs on a thread and a client of its own (bot/engine/streams.py), until the engine ends
it (the container stopped) or the awaiting task is cancelled, which shuts its socket down.
Output bytes go straight into a sink on the stream's thread (bot/core/linebuffer.py), so a
container writing megabytes a second costs the event loop nothing per line.

``attach`` is read-only by construction: the request asks for stdout and stderr only, never
stdin, and no signal is ever sent on it.  Nothing typed anywhere can reach the container.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

import docker
import requests
from docker.utils.socket import frames_iter

from bot.engine.events import each_message
from bot.engine.gateway import DockerGateway
from bot.engine.streams import Emit, StreamHandle, run_stream

READ_CHUNK = 64 * 1024


class Sink(Protocol):
    def feed(self, data: bytes) -> None: ...


def _drain(chunks: Iterable[bytes], sink: Sink, handle: StreamHandle) -> int:
    total = 0
    for chunk in chunks:
        if handle.cancelled:
            break
        if chunk:
            total += len(chunk)
            sink.feed(chunk)
    return total


def demultiplexed(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The payloads of the engine's multiplexed frames (an 8-byte header: stream, 3 zero bytes,
    big-endian length), whatever the split of ``chunks``: all of a chunk's whole frames at once.

    docker-py reads each frame with two reads of the response, which caps a stream of short
    lines at a few MB/s; parsing what arrived, as it arrived, costs far less per frame.
    """
    pending = bytearray()
    for chunk in chunks:
        pending += chunk
        payloads: list[bytes] = []
        at = 0
        while len(pending) - at >= 8:
            size = int.from_bytes(pending[at + 4 : at + 8], "big")
            if len(pending) - at - 8 < size:
                break
            payloads.append(bytes(pending[at + 8 : at + 8 + size]))
            at += 8 + size
        del pending[:at]
        if payloads:
            yield b"".join(payloads)


def _output_reader(sink: Sink, tty: bool) -> Callable[[docker.APIClient, requests.Response, Emit, StreamHandle], int]:
    """Log frames (stdout and stderr interleaved) or, for a TTY, raw bytes."""

    def read(api: docker.APIClient, response: requests.Response, emit: Emit, handle: StreamHandle) -> int:
        api._disable_socket_timeout(api._get_raw_response_socket(response))
        # chunk_size None: each piece as it arrives (the engine writes a line at a time).
        chunks = response.iter_content(None, False)
        return _drain(chunks if tty else demultiplexed(chunks), sink, handle)

    return read


async def follow_logs(
    gateway: DockerGateway,
    container_id: str,
    sink: Sink,
    *,
    tty: bool,
    tail: int | None = None,
    since: float | None = None,
    timestamps: bool = False,
) -> int:
    """``docker logs -f``: bytes into ``sink`` until the container stops (or a cancel); how many."""
    params: dict[str, Any] = {
        "follow": 1,
        "stdout": 1,
        "stderr": 1,
        "timestamps": int(timestamps),
        "tail": "all" if tail is None else tail,
    }
    if since is not None:
        params["since"] = f"{since:.9f}"

    def opener(api: docker.APIClient) -> requests.Response:
        url = api._url("/containers/{0}/logs", container_id)
        return api._get(url, params=params, stream=True, timeout=None)  # type: ignore[no-any-return]

    return await run_stream(gateway, "logs -f", opener, _output_reader(sink, tty))


async def attach_output(gateway: DockerGateway, container_id: str, sink: Sink, *, tty: bool) -> int:
    """``docker attach`` without stdin: the container's output from now on, into ``sink``."""
    # stdin=0 (the default) and no sig-proxy: the hijacked connection carries output only.
    params = {"stream": 1, "stdout": 1, "stderr": 1, "logs": 0}

    def opener(api: docker.APIClient) -> requests.Response:
        url = api._url("/containers/{0}/attach", container_id)
        headers = {"Connection": "Upgrade", "Upgrade": "tcp"}
        return api._post(url, headers=headers, params=params, stream=True, timeout=None)  # type: ignore[no-any-return]

    def read(api: docker.APIClient, response: requests.Response, emit: Emit, handle: StreamHandle) -> int:
        sock = api._get_raw_response_socket(response)
        api._disable_socket_timeout(sock)
        return _drain((data for _, data in frames_iter(sock, tty)), sink, handle)

    return await run_stream(gateway, "attach", opener, read)


async def follow_stats(gateway: DockerGateway, container_id: str, on_sample: Callable[[dict[str, Any]], None]) -> int:
    """``docker stats`` for one container: each sample (about one a second) to ``on_sample``."""

    def opener(api: docker.APIClient) -> requests.Response:
        url = api._url("/containers/{0}/stats", container_id)
        return api._get(url, params={"stream": 1}, stream=True, timeout=None)  # type: ignore[no-any-return]

    return await run_stream(gateway, "stats", opener, each_message, on_event=on_sample)


async def follow_events(
    gateway: DockerGateway,
    on_event: Callable[[dict[str, Any]], None],
    *,
    filters: dict[str, list[str]],
    since: str | None = None,
    until: str | None = None,
) -> int:
    """``docker events``: each event to ``on_event``, until ``until`` (or a cancel); how many."""
    params: dict[str, str] = {}
    if filters:
        params["filters"] = json.dumps(filters)
    if since is not None:
        params["since"] = since
    if until is not None:
        params["until"] = until

    def opener(api: docker.APIClient) -> requests.Response:
        return api._get(api._url("/events"), params=params, stream=True, timeout=None)  # type: ignore[no-any-return]

    return await run_stream(gateway, "events", opener, each_message, on_event=on_event)
