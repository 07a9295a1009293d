"""The compose CLI on the worker's host: found, and run with a project's own recorded files.

Containers made by compose carry the project's name, working directory and config files
in labels; ``up``/``pull``/``down`` run the compose CLI with exactly those (``-p NAME
--project-directory DIR -f FILE...``), so dockbell never reads a compose file itself.
Either CLI is used: Docker's plugin (``docker compose``, v2) first, Debian's
``docker-compose`` (v1) otherwise.

The CLI runs with a clean environment: the worker's own (its Slack token, the queue's
secret) must never reach a compose file's ``${VARIABLE}`` interpolation.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

PROJECT_LABEL = "com.docker.compose.project"
WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"
CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"
SERVICE_LABEL = "com.docker.compose.service"
ONEOFF_LABEL = "com.docker.compose.oneoff"
NUMBER_LABEL = "com.docker.compose.container-number"

# What the compose CLI may see of the worker's environment: enough to find itself and the engine.
_PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ")
DETECT_TIMEOUT = 10.0
OUTPUT_LIMIT = 64 * 1024  # what is kept of a run's output for its result


class ComposeUnavailable(Exception):
    """No compose CLI on this host; the message says so."""


@dataclass(frozen=True)
class ComposeCli:
    argv: tuple[str, ...]  # ("docker", "compose") or ("docker-compose",)
    version: str

    @property
    def name(self) -> str:
        return " ".join(self.argv)


@dataclass(frozen=True)
class ProjectFiles:
    """What a project's containers recorded about how it was brought up."""

    name: str
    working_dir: str
    config_files: tuple[str, ...]  # absolute paths

    @classmethod
    def from_labels(cls, name: str, labels: Mapping[str, str]) -> ProjectFiles:
        working_dir = labels.get(WORKING_DIR_LABEL, "")
        files = [f for f in labels.get(CONFIG_FILES_LABEL, "").split(",") if f]
        # compose v1 records the files as typed (relative to its working directory); v2 absolute.
        absolute = tuple(f if os.path.isabs(f) or not working_dir else os.path.join(working_dir, f) for f in files)
        return cls(name, working_dir, absolute)

    def problem(self) -> str | None:
        """Why the compose CLI cannot be run with these files on this host, or None."""
        if not self.working_dir or not self.config_files:
            return (
                f"project {self.name} has no recorded compose files (labels {WORKING_DIR_LABEL} and "
                f"{CONFIG_FILES_LABEL}): it was not made by the compose CLI, so only ps, logs, start, stop "
                "and restart can act on it"
            )
        missing = [f for f in self.config_files if not os.path.isfile(f)]
        if missing:
            return f"the compose file {missing[0]} of project {self.name} is not on this host"
        if not os.path.isdir(self.working_dir):
            return f"the working directory {self.working_dir} of project {self.name} is not on this host"
        return None


def _env(docker_host: str) -> dict[str, str]:
    env = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ}
    env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    env["DOCKER_HOST"] = docker_host
    return env


async def _version(argv: Sequence[str], env: Mapping[str, str]) -> str | None:
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, "version", "--short", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=dict(env)
        )
    except OSError:
        return None
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), DETECT_TIMEOUT)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        return None
    return out.decode("utf-8", "replace").strip() if proc.returncode == 0 else None


async def find_cli(docker_host: str) -> ComposeCli:
    """The compose CLI of this host: ``docker compose`` (v2) if the plugin is there, else ``docker-compose``."""
    env = _env(docker_host)
    for argv in (("docker", "compose"), ("docker-compose",)):
        if shutil.which(argv[0], path=env["PATH"]) is None:
            continue
        version = await _version(argv, env)
        if version:
            return ComposeCli(tuple(argv), version)
    raise ComposeUnavailable(
        "no compose CLI on this worker's host (neither `docker compose` nor `docker-compose`): "
        "compose pull, up and down need one; ps, logs, start, stop and restart do not"
    )


@dataclass(frozen=True)
class RunResult:
    code: int
    output: str  # stdout and stderr as one stream, as a terminal shows them (the end kept)


async def run(
    cli: ComposeCli,
    project: ProjectFiles,
    args: Sequence[str],
    *,
    docker_host: str,
    on_line: Callable[[str], Awaitable[None]] | None = None,
) -> RunResult:
    """``compose -p NAME --project-directory DIR -f F... ARGS``; every output line to ``on_line``.

    Cancelling the awaiting task stops the CLI (SIGTERM, then SIGKILL).
    """
    argv = [*cli.argv, "-p", project.name, "--project-directory", project.working_dir]
    for f in project.config_files:
        argv += ["-f", f]
    argv += list(args)
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=project.working_dir,
        env=_env(docker_host),
    )
    kept: list[str] = []
    size = 0
    try:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            kept.append(line)
            size += len(line) + 1
            while size > OUTPUT_LIMIT and len(kept) > 1:
                size -= len(kept.pop(0)) + 1
            if on_line is not None:
                await on_line(line)
        code = await proc.wait()
    except BaseException:
        await _stop(proc)
        raise
    return RunResult(code, "\n".join(kept))


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), 10)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
