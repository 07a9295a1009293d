"""What a worker does for each job verb: the Docker side of start, stop, restart and pull.

Handlers are plain async functions of a JobContext; what they return is the job's
result line, what they raise (docker's own wording) its error.  The Slack side
(bot/jobdesk.py) shows both, and the progress reported here, in the status message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot.cli_output.pull import PullProgress
from bot.engine.gateway import DockerGateway, StateChange
from bot.jobs.queue import JobContext

Handler = Callable[[JobContext], Awaitable[str]]

# How often progress reaches Redis (and from there the Slack message): Slack allows about
# one chat.update per second per message, and people cannot read faster.
PROGRESS_EVERY = 1.0

# Per-verb timeouts, never unlimited: a stop waits up to -t seconds before SIGKILL.
STOP_GRACE = 30.0
PULL_TIMEOUT = 30 * 60.0
START_TIMEOUT = 60.0


def stop_timeout(seconds: int | None) -> float:
    return (seconds if seconds is not None and seconds >= 0 else 10) + STOP_GRACE


def _said(change: StateChange, done: str, already: str) -> str:
    if change.already:
        return f"{change.name}: {already}"
    if change.status == "exited" and change.exit_code not in (None, 0):
        return f"{change.name}: {done} (exit code {change.exit_code})"
    return f"{change.name}: {done}"


def handlers_for(docker: DockerGateway) -> dict[str, Handler]:
    async def start(ctx: JobContext) -> str:
        return _said(await docker.start(ctx.job.target), "started", "already running")

    async def stop(ctx: JobContext) -> str:
        seconds = ctx.job.args.get("time")
        await ctx.progress(text=f"stopping (SIGKILL after {seconds if seconds is not None else 10} s)")
        return _said(await docker.stop(ctx.job.target, seconds), "stopped", "already stopped")

    async def restart(ctx: JobContext) -> str:
        seconds = ctx.job.args.get("time")
        await ctx.progress(text="restarting")
        return _said(await docker.restart(ctx.job.target, seconds), "restarted", "restarted")

    async def pull(ctx: JobContext) -> str:
        view = PullProgress(reference=ctx.job.args.get("reference") or ctx.job.target)
        last = 0.0

        async def on_event(event: dict[str, Any]) -> None:
            nonlocal last
            view.feed(event)
            if time.monotonic() - last >= PROGRESS_EVERY:
                last = time.monotonic()
                await ctx.progress(text=view.render(), fraction=round(view.fraction, 3))

        result = await docker.pull(ctx.job.target, on_progress=on_event)
        await ctx.progress(text=view.render(), fraction=1.0)
        return result.status or view.render().splitlines()[-1]

    return {"start": start, "stop": stop, "restart": restart, "pull": pull}


async def engine_info(docker: DockerGateway) -> dict[str, Any]:
    """What `/docker hosts` shows for a worker's engine; published with its heartbeat."""
    try:
        info = await asyncio.wait_for(docker.info(), 5)
    except Exception as err:  # the worker stays up: the engine may come back
        return {"engine": "unreachable", "error": str(err)[:200]}
    return {
        "engine": info.get("ServerVersion", "?"),
        "containers": info.get("Containers", 0),
        "running": info.get("ContainersRunning", 0),
        "paused": info.get("ContainersPaused", 0),
        "stopped": info.get("ContainersStopped", 0),
        "images": info.get("Images", 0),
    }
