"""The engine's events stream, for the crash watcher (bot/jobs/watcher).

One long request on a thread and a client of its own (bot/engine/streams.py): a cancel
shuts its socket down, which ends the thread.  Events come as the engine sends them
(dicts); ``since`` is passed as the engine's own ``seconds.nanoseconds`` text, because the
engine's replay is inclusive to the nanosecond and a float rounded to microseconds is
not (docker-and-queue.md, A3.3).  The engine keeps only its last 256 events, and none
across its own restart: the watcher checks that its position came back, and reads the
containers' state (``snapshot``) when it did not.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import docker
import requests

from bot.engine.gateway import DockerGateway
from bot.engine.streams import Emit, StreamHandle, run_stream
from bot.errors import NotFound

# What the watcher reacts to, or needs to tell a crash from an intended stop.
WATCHED_ACTIONS = ("create", "start", "restart", "kill", "die", "oom", "stop", "destroy", "health_status")

EventSink = Callable[[dict[str, Any]], Awaitable[None] | None]


def since_text(ns: int) -> str:
    """The engine's own spelling of a moment, exact to the nanosecond."""
    return f"{ns // 10**9}.{ns % 10**9:09d}"


def each_message(api: docker.APIClient, response: requests.Response, emit: Emit, handle: StreamHandle) -> int:
    """Emit each JSON message (an event, a stats sample); return how many came (nothing is kept:
    the stream may run for days)."""
    count = 0
    for event in docker.types.CancellableStream(api._stream_helper(response, decode=True), response):
        if handle.cancelled:
            break
        if isinstance(event, dict):
            count += 1
            emit(event)
    return count


async def stream_events(
    docker_gw: DockerGateway,
    on_event: EventSink,
    *,
    since_ns: int | None = None,
    until_ns: int | None = None,
    actions: Sequence[str] = WATCHED_ACTIONS,
) -> int:
    """Container events from ``since_ns`` (inclusive; None: from now) until ``until_ns`` or the
    connection ends; the number of events read.  Raises DockerUnavailable when the engine goes."""
    filters = {"type": ["container"], "event": list(actions)}
    params: dict[str, str] = {"filters": json.dumps(filters)}
    if since_ns is not None:
        params["since"] = since_text(since_ns)
    if until_ns is not None:
        params["until"] = since_text(until_ns)

    def opener(api: docker.APIClient) -> requests.Response:
        return api._get(api._url("/events"), params=params, stream=True, timeout=None)  # type: ignore[no-any-return]

    return await run_stream(docker_gw, "events", opener, each_message, on_event=on_event)


async def inspect_or_none(docker_gw: DockerGateway, ref: str) -> dict[str, Any] | None:
    """The container's inspect document, or None when it is gone (removed after it died)."""
    try:
        return await docker_gw.inspect_container(ref)
    except NotFound:
        return None


async def snapshot(docker_gw: DockerGateway, filters: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
    """Every container's inspect document (the fallback when events were lost), a few at a time."""
    listed = await docker_gw.containers(all=True, filters=filters)
    limit = asyncio.Semaphore(8)

    async def one(cid: str) -> dict[str, Any] | None:
        async with limit:
            return await inspect_or_none(docker_gw, cid)

    found = await asyncio.gather(*(one(str(c["Id"])) for c in listed))
    return [doc for doc in found if doc is not None]


async def log_tail(docker_gw: DockerGateway, ref: str, lines: int) -> str:
    """The last ``lines`` lines of the container's output (stdout and stderr); "" when gone."""
    try:
        raw = await docker_gw.logs(ref, tail=lines, since=None, until=None, timestamps=False)
    except NotFound:
        return ""
    return raw.decode("utf-8", "replace")
