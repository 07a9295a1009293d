"""The worker side of ``run`` and ``create``: the job that creates (and for run, starts) the container.

The job carries the Engine API request planned from the RunSpec the gate judged
(bot/engine/runconfig.py); here it is completed with what docker reads on the machine
running the CLI (env files, label files, ``-e NAME``, seccomp profiles), on this worker's
host, and sent.  What the job says is what the CLI prints: the container ID for ``create``
and ``run -d``; for an attached ``run``, the output as a terminal shows it and the exit code,
within ``run.attach_timeout``; pull progress before either when the image had to be pulled;
errors as ``docker: Error response from daemon: ...``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from bot.cli_output.formatters.reference import ReferenceError, parse_normalized_named
from bot.cli_output.pull import PullProgress
from bot.config import RunConfig
from bot.engine import run as engine
from bot.engine.gateway import DockerGateway
from bot.engine.runconfig import CreateRequest, api_version_problem, body, for_api
from bot.errors import DockbellError, DockerError, NotFound, SlackRefused
from bot.jobs.queue import JobContext
from bot.jobs.queue.context import JobHandler
from bot.slack.out import SlackOut

log = logging.getLogger(__name__)

# Once the container is created a run cannot be taken back: a cancel then comes too late.
CANCELLABLE_WHILE_RUNNING: Mapping[str, bool] = {"run": False, "create": False}

PROGRESS_EVERY = 1.0
RESULT_CHARS = 20_000  # of the output, the end kept in the job's result (the status shows its last lines)


class RunFailed(DockerError):
    """The container ran and exited non-zero: its output and exit code are the job's error."""


def see_help(verb: str) -> str:
    return f"Run 'docker {verb} --help' for more information"


def docker_says(verb: str, err: DockbellError, before: Sequence[str] = ()) -> DockerError:
    """An engine error as the CLI prints it (run prefixes ``docker:`` and points at --help),
    after what the CLI had printed by then (``Unable to find image``, the pull, the ID)."""
    message = str(err)
    if verb == "run":
        message = f"docker: {message}\n\n{see_help(verb)}"
    return DockerError("\n".join([*before, message]))


def unable_to_find(image: str) -> str:
    """``Unable to find image 'busybox:latest' locally`` (reference.FamiliarString(TagNameOnly))."""
    try:
        ref = parse_normalized_named(image)
    except ReferenceError:
        return f"Unable to find image '{image}' locally"
    shown = ref.familiar_name()
    if ref.tag or not ref.digest:
        shown += f":{ref.tag or 'latest'}"
    if ref.digest:
        shown += f"@{ref.digest}"
    return f"Unable to find image '{shown}' locally"


class RunJobs:
    def __init__(self, docker: DockerGateway, slack: SlackOut, config: RunConfig) -> None:
        self.docker = docker
        self.slack = slack
        self.config = config

    def handlers(self) -> dict[str, JobHandler]:
        return {"run": self.run, "create": self.create}

    async def create(self, ctx: JobContext) -> str:
        request = CreateRequest.from_json(ctx.job.args["request"])
        lines: list[str] = []
        cid = await self._create(ctx, request, lines, "create")
        return "\n".join([*lines, cid])

    async def run(self, ctx: JobContext) -> str:
        request = CreateRequest.from_json(ctx.job.args["request"])
        lines: list[str] = []
        cid = await self._create(ctx, request, lines, "run")
        if request.detach:
            try:
                await engine.start(self.docker, cid)
            except DockbellError as err:
                raise docker_says("run", err, [*lines, cid]) from None  # -d: the CLI prints the ID first
            return "\n".join([*lines, cid])
        return await self._attached(ctx, request, cid, lines)

    async def _attached(self, ctx: JobContext, request: CreateRequest, cid: str, lines: list[str]) -> str:
        last = 0.0
        limit = float(self.config.attach_seconds)

        async def on_output(seen: engine.Attached) -> None:
            nonlocal last
            if time.monotonic() - last >= PROGRESS_EVERY:
                last = time.monotonic()
                await ctx.progress(text=_tail(seen))

        await ctx.progress(text="\n".join([*lines, "starting"]))
        try:
            seen = await engine.run_attached(
                self.docker,
                cid,
                auto_remove=request.auto_remove,
                limit=limit,
                keep=self.config.output_keep_bytes,
                stdout=bool(request.body.get("AttachStdout", True)),  # -a picks the streams, as with the CLI
                stderr=bool(request.body.get("AttachStderr", True)),
                on_output=on_output,
            )
        except DockbellError as err:
            if request.auto_remove:
                await engine.remove(self.docker, cid)  # what the engine's AutoRemove does for the CLI
            raise docker_says("run", err, lines) from None
        text = "\n".join([*lines, _tail(seen)]).strip("\n")
        await self._upload_if_long(ctx, seen)
        if seen.exit_code is None:
            name = str(ctx.job.args.get("target_name") or cid[:12])
            note = (
                f"still running after {limit:g} s (run.attach_timeout): dockbell stopped watching,"
                f" the container goes on. Follow it with `docker logs -f {name}`, or stop it with `docker stop {name}`."
            )
            return f"{text}\n{note}".strip("\n")
        if seen.error:
            raise RunFailed(f"{text}\ndocker: Error response from daemon: {seen.error}".strip("\n"))
        ended = f"{text}\nexit code {seen.exit_code}".strip("\n")
        if seen.exit_code != 0:
            raise RunFailed(ended)
        return ended

    async def _upload_if_long(self, ctx: JobContext, seen: engine.Attached) -> None:
        """The whole output as a file in the status message's thread when it is longer than the status shows."""
        text = seen.output.decode("utf-8", "replace")
        if len(text) <= self.config.inline_chars and text.count("\n") <= self.config.inline_lines:
            return
        reply = ctx.job.reply_to
        channel, thread = reply.channel_id, reply.thread_ts
        try:
            if not thread:
                channel = await self.slack.open_dm(ctx.job.requester.user_id)
            head = f"(the first {seen.dropped} bytes were not kept)\n" if seen.dropped else ""
            await self.slack.upload(
                channel=channel,
                filename="output.txt",
                content=head + text,
                initial_comment=f"Output of `docker {ctx.job.args.get('command', 'run')}`",
                thread_ts=thread or None,
            )
        except (SlackRefused, DockbellError) as err:  # the status message still shows the end
            log.warning("job %s: could not upload the output: %s", ctx.job.id, err)

    async def _create(self, ctx: JobContext, request: CreateRequest, lines: list[str], verb: str) -> str:
        final = await self._final_body(request, verb)
        cidfile = await self._open_cidfile(request.cidfile, verb)
        try:
            if request.pull == "always":
                await self._pull(ctx, request, lines, verb)
            try:
                made = await self._send(final, request)
            except NotFound as err:
                if not (engine.missing_image(err) and request.pull == "missing"):
                    raise
                if not request.quiet:
                    lines.append(unable_to_find(request.image))
                await self._pull(ctx, request, lines, verb)
                made = await self._send(final, request)
        except DockbellError as err:
            if cidfile:
                await asyncio.to_thread(_unlink, cidfile)
            raise docker_says(verb, err, lines) from None
        lines.extend(f"WARNING: {w}" for w in made.warnings)
        if cidfile:
            await asyncio.to_thread(_write_id, cidfile, made.id)
        return made.id

    async def _send(self, final: dict[str, Any], request: CreateRequest) -> engine.Created:
        return await engine.create(self.docker, final, name=request.name, platform=request.platform)

    async def _pull(self, ctx: JobContext, request: CreateRequest, lines: list[str], verb: str) -> None:
        view = PullProgress()
        last = 0.0

        async def on_event(event: dict[str, Any]) -> None:
            nonlocal last
            view.feed(event)
            if not request.quiet and time.monotonic() - last >= PROGRESS_EVERY:
                last = time.monotonic()
                await ctx.progress(text="\n".join([*lines, view.render()]), fraction=round(view.fraction, 3))

        await self.docker.pull(request.image, on_progress=on_event)
        if not request.quiet:
            lines.append(view.render())

    async def _final_body(self, request: CreateRequest, verb: str) -> dict[str, Any]:
        """The body, completed on this host as the CLI completes it on its own."""
        environ = dict(os.environ)
        try:
            env_lines: list[str] = []
            for path in request.env_files:
                env_lines += await asyncio.to_thread(engine.read_kv_file, path, lookup=environ)
            label_lines: list[str] = []
            for path in request.label_files:
                label_lines += await asyncio.to_thread(engine.read_kv_file, path, lookup=None)
            profiles = {p: await asyncio.to_thread(_seccomp_profile, p) for p in request.seccomp_files}
        except DockerError as err:
            raise DockerError(f"docker: {err}\n\n{see_help(verb)}") from None
        socket = engine.api_socket(self.docker)
        if request.api_socket and socket is None:
            raise DockerError(
                f"docker: flag --use-api-socket can only be used with unix sockets: docker endpoint "
                f"{self.docker.base_url} incompatible\n\n{see_help(verb)}"
            )
        final = body(
            request,
            env_from_files=env_lines,
            labels_from_files=label_lines,
            environ=environ,
            seccomp_profiles=profiles,
            api_socket=socket,
        )
        version = await engine.api_version(self.docker)
        problem = api_version_problem(final, version)
        if problem is not None:
            raise DockerError(problem if verb == "create" else f"docker: {problem}\n\n{see_help(verb)}")
        return for_api(final, version)

    async def _open_cidfile(self, path: str, verb: str) -> str:
        if not path:
            return ""
        try:
            await asyncio.to_thread(_create_exclusive, path)
        except FileExistsError:
            raise DockerError(
                f"docker: container ID file found, make sure the other container isn't running or delete {path}"
                f"\n\n{see_help(verb)}"
            ) from None
        except OSError as err:
            raise DockerError(f"docker: failed to create the container ID file: {err}\n\n{see_help(verb)}") from None
        return path


def _tail(seen: engine.Attached) -> str:
    text = seen.output.decode("utf-8", "replace")
    return text[-RESULT_CHARS:]


def _create_exclusive(path: str) -> None:
    with open(path, "x"):
        pass


def _write_id(path: str, cid: str) -> None:
    with open(path, "w") as handle:
        handle.write(cid)


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _seccomp_profile(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read())
    except OSError as err:
        raise DockerError(f"opening seccomp profile ({path}) failed: {err}") from None
    except ValueError as err:
        raise DockerError(f"compacting json for seccomp profile ({path}) failed: {err}") from None
    return json.dumps(data, separators=(",", ":"))


def run_handlers(docker: DockerGateway, slack: SlackOut, config: RunConfig) -> dict[str, JobHandler]:
    return RunJobs(docker, slack, config).handlers()
