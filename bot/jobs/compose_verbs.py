"""The compose CLI as jobs: ``compose pull``, ``up -d`` and ``down`` run on the worker's host.

The handler checked the project's files and the CLI when the command came in; the job
checks again (the host may have changed since it was queued) and runs the CLI with the
project's own files, its output streamed into the status message.  A cancel can stop a
pull (the images not yet pulled stay as they were, as with ``docker pull``); an up or a down,
once running, goes to its end: stopping it half-way would leave the project half-changed.
"""

from __future__ import annotations

import time

from bot.engine.compose import ComposeUnavailable, ProjectFiles, find_cli, run
from bot.engine.gateway import DockerGateway
from bot.errors import DockerError, UserError
from bot.jobs.queue import Cancellable, JobContext
from bot.jobs.queue.context import JobHandler

VERBS = ("compose-pull", "compose-up", "compose-down")
CANCELLABLE_WHILE_RUNNING: dict[str, bool] = {"compose-pull": True, "compose-up": False, "compose-down": False}
PULL_STOPPED = "the compose CLI was stopped before it finished: the images it had not pulled yet were not updated"
PROGRESS_EVERY = 1.0
PROGRESS_LINES = 15  # the end of the CLI's output, as the status message shows it while it runs
RESULT_LINES = 40


def compose_handlers(docker: DockerGateway) -> dict[str, JobHandler]:
    async def compose(ctx: JobContext) -> str:
        args = ctx.job.args
        files = ProjectFiles(
            str(ctx.job.target), str(args.get("working_dir") or ""), tuple(args.get("config_files") or ())
        )
        if (problem := files.problem()) is not None:
            raise UserError(problem)
        try:
            cli = await find_cli(docker.base_url)
        except ComposeUnavailable as err:
            raise UserError(str(err)) from None
        recent: list[str] = []
        last = 0.0

        async def on_line(line: str) -> None:
            nonlocal last
            recent.append(line)
            del recent[:-PROGRESS_LINES]
            if time.monotonic() - last >= PROGRESS_EVERY:
                last = time.monotonic()
                await ctx.progress(text="\n".join(recent))

        argv = [str(a) for a in args.get("argv") or []]
        result = await run(cli, files, argv, docker_host=docker.base_url, on_line=on_line)
        tail = "\n".join(result.output.splitlines()[-RESULT_LINES:])
        if result.code != 0:
            raise DockerError(f"{cli.name} exited with status {result.code}\n{tail}".rstrip())
        return f"{cli.name} {' '.join(argv)}: done\n{tail}".rstrip()

    return {"compose-pull": Cancellable(compose, effect=PULL_STOPPED), "compose-up": compose, "compose-down": compose}
