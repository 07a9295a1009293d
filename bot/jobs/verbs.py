"""What a worker does for each job verb: the Docker side of start, stop, restart and pull.

Handlers are plain async functions of a JobContext; what they return is the job's
result line, what they raise (docker's own wording) its error.  Each verb declares whether
a cancel can stop it once it runs (CANCELLABLE_WHILE_RUNNING).  The Slack side
(bot/jobdesk.py) shows both, and the progress reported here, in the status message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from bot.cli_output.pull import PullProgress
from bot.engine.gateway import DockerGateway, StateChange
from bot.errors import DockbellError, NotFound
from bot.jobs.container_verbs import CANCELLABLE_WHILE_RUNNING as CONTAINER_CANCELLABLE
from bot.jobs.container_verbs import container_handlers
from bot.jobs.image_jobs import CANCELLABLE_WHILE_RUNNING as IMAGE_CANCELLABLE
from bot.jobs.queue import Cancellable, EffectUnknown, JobContext
from bot.jobs.queue.context import JobHandler
from bot.jobs.resource_verbs import CANCELLABLE_WHILE_RUNNING as RESOURCE_CANCELLABLE
from bot.jobs.resource_verbs import resource_handlers

# Whether a cancel can still stop a job of each verb once it runs.  A queued job of any
# verb can be cancelled: it never starts.  start, stop and restart are one engine call
# each; once sent, the engine carries it out whatever happens to the request, so a cancel
# then cannot stop it.  A pull is a stream the engine abandons when it is closed: the
# image is then not updated, which is what "cancelled" means for it.
CANCELLABLE_WHILE_RUNNING: Mapping[str, bool] = {
    "start": False,
    "stop": False,
    "restart": False,
    "pull": True,
    **RESOURCE_CANCELLABLE,  # volumes, networks, compose (bot/jobs/resource_verbs.py)
    **CONTAINER_CANCELLABLE,  # kill, rm, pause, unpause, rename, update, wait (bot/jobs/container_verbs.py)
}
PULL_STOPPED = "the transfer was stopped before it completed; the image was not updated"


def cancellable_while_running(verb: str) -> bool:
    """What the job's status message and the answer to a cancel go by (see CANCELLABLE_WHILE_RUNNING)."""
    if verb in CANCELLABLE_WHILE_RUNNING:
        return CANCELLABLE_WHILE_RUNNING[verb]
    return IMAGE_CANCELLABLE.get(verb, False)  # push, build, export... (bot/jobs/image_jobs.py)


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


def handlers_for(docker: DockerGateway) -> dict[str, JobHandler]:
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
        quiet = bool(ctx.job.args.get("quiet"))  # -q: docker prints only the reference at the end
        last = 0.0
        before = await _image_id(docker, ctx.job.target)

        async def on_event(event: dict[str, Any]) -> None:
            nonlocal last
            view.feed(event)
            if time.monotonic() - last >= PROGRESS_EVERY:
                last = time.monotonic()
                await ctx.progress(text="" if quiet else view.render(), fraction=round(view.fraction, 3))

        try:
            result = await docker.pull(ctx.job.target, on_progress=on_event)
            await ctx.progress(text="" if quiet else view.render(), fraction=1.0)
        except asyncio.CancelledError:
            landed = await _pull_landed(docker, ctx.job.target, view, before)
            if landed is None:
                raise  # stopped in time: the image is as it was
            return landed
        if quiet:
            return view.render().splitlines()[-1]
        return result.status or view.render().splitlines()[-1]

    # Kept in step with CANCELLABLE_WHILE_RUNNING (a unit test checks): the worker stops a
    # running job for a cancel only when its handler is Cancellable.
    own: dict[str, JobHandler] = {
        "start": start,
        "stop": stop,
        "restart": restart,
        "pull": Cancellable(pull, effect=PULL_STOPPED),
    }
    return {**own, **resource_handlers(docker), **container_handlers(docker)}


async def _image_id(docker: DockerGateway, ref: str) -> str | None:
    """The local image ``ref`` names now, or None if there is none."""
    try:
        return str((await docker.inspect_image(ref))["Id"])
    except NotFound:
        return None


async def _pull_landed(docker: DockerGateway, ref: str, view: PullProgress, before: str | None) -> str | None:
    """After a cancel cut a pull short: its result if the engine had finished it anyway, None if not.

    The engine's final ``Status:`` line says it had.  Without it the engine may still have
    written the image just before the stream closed, so the local image is compared with
    the one before the pull.  A pull that cannot be checked is neither "cancelled" nor
    "succeeded": EffectUnknown.
    """
    if view.done:
        return str(view.status)  # the cancel came after the engine's last word: the pull is complete
    try:
        after = await _image_id(docker, ref)
    except DockbellError as err:
        raise EffectUnknown(f"the pull was cut short, and whether the image was updated is unknown: {err}") from None
    if after is not None and after != before:
        return f"{ref}: pulled; the engine had finished before the cancel reached it"
    return None


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
