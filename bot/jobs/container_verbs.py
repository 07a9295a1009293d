"""What a worker does for the container job verbs: kill, rm, pause, unpause, rename, update, wait.

Each job acts on the container the gate resolved, by its ID, and returns what the docker CLI
prints for it on success: the container as it was typed (``wait``: its exit code; ``update``:
the engine's warnings too; ``rename``: nothing).  What it raises is docker's own error for it,
with the container as typed where the engine would have echoed it.

Which can be stopped by a cancel once running (CANCELLABLE_WHILE_RUNNING): only ``wait``.  The
others are one engine call each, which the engine carries out once it has it.  A cancelled
wait has changed nothing: the container was never touched.

Which are run again after their worker died (the handlers' ``idempotent``, set where they are
queued, handlers/containers_ops.py): ``update`` (the same settings twice are the same settings)
and ``wait``.  A second kill sends a second signal; a second rm, pause, unpause or rename
fails ("No such container", "already paused") although the first did its work: those end
*interrupted*, saying that their effect is unknown, rather than report a false failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping

from bot.engine.containers import Containers
from bot.engine.gateway import DockerGateway
from bot.errors import DockerError, NotFound
from bot.jobs.queue import Cancellable, JobContext
from bot.jobs.queue.context import JobHandler

CANCELLABLE_WHILE_RUNNING: Mapping[str, bool] = {
    "kill": False,
    "rm": False,
    "pause": False,
    "unpause": False,
    "rename": False,
    "update": False,
    "wait": True,
}
WAIT_STOPPED = "dockbell stopped waiting; the container was not touched"

# Per-verb timeouts.  An rm -f kills first; removing volumes can take a while on a busy disk.
QUICK_TIMEOUT = 60.0
RM_TIMEOUT = 120.0
# `docker wait` blocks for as long as the container runs; in chat a wait is bounded: past
# WAIT_LIMIT the job says it stopped waiting (the job's own timeout is a little later, so
# that this, not "timed out", is what the message says).
WAIT_LIMIT = 3600.0
WAIT_TIMEOUT = WAIT_LIMIT + 30.0


def typed(ctx: JobContext) -> str:
    """The container as the person typed it (docker prints that back); its ID if unknown."""
    return str(ctx.job.args.get("typed") or ctx.job.target)


def as_typed(err: DockerError, cid: str, name: str) -> DockerError:
    """The engine's error with the container named as typed where the CLI would have sent that name.

    The job sends the resolved ID, so "No such container: <id>" (the container went away
    after the gate looked) and kill's "Cannot kill container: <id>: ..." would otherwise name
    the ID instead of what was typed.  Errors naming the container's full ID (the daemon's
    own "You cannot remove a running container <id>") say the same with the CLI, and stay.
    """
    message = err.message.replace(f"Cannot kill container: {cid}:", f"Cannot kill container: {name}:")
    message = message.replace(f"No such container: {cid}", f"No such container: {name}")
    return type(err)(message)


class ContainerJobs:
    """The handlers, over one engine; each is a JobHandler."""

    def __init__(self, docker: DockerGateway) -> None:
        self.engine = Containers(docker)

    async def kill(self, ctx: JobContext) -> str:
        await _act(ctx, self.engine.kill(ctx.job.target, str(ctx.job.args.get("signal") or "")))
        return typed(ctx)

    async def rm(self, ctx: JobContext) -> str:
        args = ctx.job.args
        force = bool(args.get("force"))
        removal = self.engine.remove(
            ctx.job.target, force=force, volumes=bool(args.get("volumes")), link=bool(args.get("link"))
        )
        try:
            await _act(ctx, removal)
        except NotFound as err:
            if force:  # rm -f: docker prints the error and counts the container as gone (exit 0)
                return err.message
            raise
        return typed(ctx)

    async def pause(self, ctx: JobContext) -> str:
        await _act(ctx, self.engine.pause(ctx.job.target))
        return typed(ctx)

    async def unpause(self, ctx: JobContext) -> str:
        await _act(ctx, self.engine.unpause(ctx.job.target))
        return typed(ctx)

    async def rename(self, ctx: JobContext) -> str:
        try:
            await _act(ctx, self.engine.rename(ctx.job.target, str(ctx.job.args["new_name"])))
        except DockerError as err:
            # docker 28 prints the engine's error, then its own line, and exits 1.
            raise type(err)(f"{err.message}\nError: failed to rename container named {typed(ctx)}") from None
        return ""  # docker rename prints nothing

    async def update(self, ctx: JobContext) -> str:
        try:
            warnings = await self.engine.update(ctx.job.target, dict(ctx.job.args["body"]))
        except DockerError as err:
            raise as_typed(err, ctx.job.target, typed(ctx)) from None
        return "\n".join([typed(ctx), *warnings])  # the CLI prints the warnings after the names

    async def wait(self, ctx: JobContext) -> str:
        await ctx.progress(text=f"waiting for {typed(ctx)} to stop (up to {WAIT_LIMIT / 60:g} min)")
        try:
            async with asyncio.timeout(WAIT_LIMIT):
                code = await self.engine.wait(ctx.job.target)
        except TimeoutError:
            raise DockerError(
                f"{typed(ctx)} was still running after {WAIT_LIMIT / 60:g} min: dockbell stopped waiting "
                "(the container was not touched)"
            ) from None
        except DockerError as err:
            raise as_typed(err, ctx.job.target, typed(ctx)) from None
        return str(code)  # docker wait prints the exit code


async def _act(ctx: JobContext, call: Awaitable[object]) -> None:
    try:
        await call
    except DockerError as err:
        raise as_typed(err, ctx.job.target, typed(ctx)) from None


def container_handlers(docker: DockerGateway) -> dict[str, JobHandler]:
    jobs = ContainerJobs(docker)
    # Kept in step with CANCELLABLE_WHILE_RUNNING (a unit test checks).
    return {
        "kill": jobs.kill,
        "rm": jobs.rm,
        "pause": jobs.pause,
        "unpause": jobs.unpause,
        "rename": jobs.rename,
        "update": jobs.update,
        "wait": Cancellable(jobs.wait, effect=WAIT_STOPPED),
    }
