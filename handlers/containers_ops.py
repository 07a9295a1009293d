"""Container commands that change things: kill, rm, pause, unpause, rename, update and wait (jobs), exec (an answer).

Each job command queues one job per container it names, with its status message; containers
the caller may not see, or that do not exist, get docker's words for a missing container while
the others go ahead, as the CLI goes on past a failed one (handlers.lifecycle.container_jobs).
What each job does on the worker is in bot/jobs/container_verbs.py.  Values docker checks
before it calls the engine (a signal, a restart policy, a size) are checked here, with
docker's words, before anything is queued.

``wait`` is a job because it can take as long as the container runs: its status message says
what it waits for, offers Cancel, and shows the exit code when the container stops.

``exec`` is answered like a read, privately, with a Share button: what a command prints
inside a container is what a terminal would show only to the person who typed it (and may
be anything the container holds).  It runs within the command's time limit; a command still
running then is left running in the container (the Engine API cannot stop an exec), and the
answer says so with what it had printed.  Use ``-d`` for anything long.
"""

from __future__ import annotations

import dataclasses
import re
import time

from bot.cli_output.gotemplate import budget
from bot.core.cliparse import Flag, Kind
from bot.core.dockeropts import FlagValueError, flag_error, parse_restart_policy, parse_signal, validate_env
from bot.core.redact import Redactor
from bot.core.registry import command
from bot.core.types import Invocation, Output
from bot.engine.containers import Containers, ExecResult
from bot.errors import DockerError, NotFound, UserError
from bot.jobs.container_verbs import QUICK_TIMEOUT, RM_TIMEOUT, WAIT_TIMEOUT
from bot.jobs.context import HandlerContext
from bot.jobs.gate import Denied, guard_invocation
from bot.jobs.visible import container_target, no_such
from bot.policy import GuardedCommand, Target
from bot.policy.flagguard import EXEC_FLAGS, UPDATE_FLAGS, USAGE
from bot.policy.goparse import parse_cpus, ram_in_bytes
from handlers.lifecycle import _queue, _refuse_if_approval_needed, container_jobs

# --- kill, rm, pause, unpause -----------------------------------------------------------------


def _kill_missing(typed: str) -> str:
    # The daemon's kill route wraps every error in "Cannot kill container: NAME:".
    name = typed.lstrip("/")
    return f"Error response from daemon: Cannot kill container: {name}: No such container: {name}"


@command(
    "kill",
    aliases=("container kill",),
    usage="docker kill [OPTIONS] CONTAINER [CONTAINER...]",
    summary="Kill one or more running containers",
    min_args=1,
    targets="container:all",
    group="operate",
    flags=[Flag("signal", "Signal to send to the container", Kind.STRING, short="s", value_name="string")],
)
async def kill(inv: Invocation, ctx: HandlerContext) -> Output:
    signal = str(inv.opt("signal") or "")
    if signal:
        try:
            parse_signal(signal)
        except FlagValueError as err:
            # The daemon reads the signal before the container, so every container gets this.
            raise DockerError("\n".join(f"Error response from daemon: {err}" for _ in inv.args)) from None
    return await container_jobs(
        inv, ctx, "kill", {"signal": signal}, QUICK_TIMEOUT, idempotent=False, missing=_kill_missing
    )


@command(
    "rm",
    aliases=("container rm", "container remove"),
    usage="docker rm [OPTIONS] CONTAINER [CONTAINER...]",
    summary="Remove one or more containers",
    min_args=1,
    targets="container:all",
    group="admin",
    flags=[
        Flag("force", "Force the removal of a running container (uses SIGKILL)", short="f"),
        Flag("link", "Remove the specified link", short="l"),
        Flag("volumes", "Remove anonymous volumes associated with the container", short="v"),
    ],
)
async def rm(inv: Invocation, ctx: HandlerContext) -> Output:
    if any(not typed.strip("/") for typed in inv.args):
        raise UserError("container name cannot be empty")  # the CLI's own check, before any call
    force = bool(inv.opt("force"))
    args: dict[str, object] = {"force": force, "volumes": bool(inv.opt("volumes")), "link": bool(inv.opt("link"))}
    # rm -f of a missing container prints docker's error but does not fail (the CLI exits 0).
    return await container_jobs(inv, ctx, "rm", args, RM_TIMEOUT, idempotent=False, missing_fails=not force)


@command(
    "pause",
    aliases=("container pause",),
    usage="docker pause CONTAINER [CONTAINER...]",
    summary="Pause all processes within one or more containers",
    min_args=1,
    targets="container:all",
    group="operate",
)
async def pause(inv: Invocation, ctx: HandlerContext) -> Output:
    return await container_jobs(inv, ctx, "pause", {}, QUICK_TIMEOUT, idempotent=False)


@command(
    "unpause",
    aliases=("container unpause",),
    usage="docker unpause CONTAINER [CONTAINER...]",
    summary="Unpause all processes within one or more containers",
    min_args=1,
    targets="container:all",
    group="operate",
)
async def unpause(inv: Invocation, ctx: HandlerContext) -> Output:
    return await container_jobs(inv, ctx, "unpause", {}, QUICK_TIMEOUT, idempotent=False)


# --- wait ---------------------------------------------------------------------------------------


@command(
    "wait",
    aliases=("container wait",),
    usage="docker wait CONTAINER [CONTAINER...]",
    summary="Block until one or more containers stop, then print their exit codes",
    min_args=1,
    targets="container:all",
    group="operate",
)
async def wait(inv: Invocation, ctx: HandlerContext) -> Output:
    # No container lock: a wait holding it would keep out the very stop it waits for.
    return await container_jobs(inv, ctx, "wait", {}, WAIT_TIMEOUT, idempotent=True, lock=False)


# --- rename ---------------------------------------------------------------------------------------


@command(
    "rename",
    aliases=("container rename",),
    usage="docker rename CONTAINER NEW_NAME",
    summary="Rename a container",
    min_args=2,
    max_args=2,
    targets="container:first",
    group="admin",
)
async def rename(inv: Invocation, ctx: HandlerContext) -> Output:
    old, new = inv.args[0].strip(), inv.args[1].strip()
    if not old or not new:
        raise UserError("Error: Neither old nor new names may be empty")  # the CLI's check and words
    await ctx.jobs.require_live(ctx.access.host)
    target = ctx.targets[0]
    if not target.id:
        raise NotFound(f"{no_such('container', old)}\nError: failed to rename container named {old}")
    # The new name must be one the caller may give it: a rule on names (a deny on "*-secretive",
    # a role on "web-*") must not be escaped, or widened, by renaming.
    renamed = dataclasses.replace(target, name=new.lstrip("/"))
    decision = ctx.access.check("rename", renamed)
    if not decision.allowed:
        raise Denied(decision, inv.text)
    await _refuse_a_hidden_holder(ctx, new, old)
    return await _queue(
        inv,
        ctx,
        [target],
        verb="rename",
        args={"new_name": new},
        timeout=QUICK_TIMEOUT,
        idempotent=False,
        typed=[old],
    )


async def _refuse_a_hidden_holder(ctx: HandlerContext, new: str, old: str) -> None:
    """The name is taken by a container the caller may not see: say so without naming it.

    The engine's conflict error names the holder's ID; that is docker's answer when the
    holder is visible, and the job passes it on.  A hidden holder's ID must not come back.
    """
    wanted = new.lstrip("/")
    listed = await ctx.docker.containers(all=True, filters={"name": [f"^/{re.escape(wanted)}$"]})
    for item in listed:
        holder = container_target(item)
        if holder.name == wanted and not ctx.access.sees(holder):
            raise DockerError(
                "Error response from daemon: Error when allocating new name: Conflict. "
                f'The container name "/{wanted}" is already in use by another container. '
                "You have to remove (or rename) that container to be able to reuse that name.\n"
                f"Error: failed to rename container named {old}"
            )


# --- update ---------------------------------------------------------------------------------------

# docker's help names these values by their Go types (`-m, --memory bytes`, `--cpus decimal`).
_VALUE_NAMES = {"memory": "bytes", "memory-reservation": "bytes", "memory-swap": "bytes", "kernel-memory": "bytes"}
_VALUE_NAMES |= {"cpus": "decimal", "blkio-weight": "uint16"}
UPDATE_REGISTRY_FLAGS = [
    dataclasses.replace(f, value_name=_VALUE_NAMES[f.name]) if f.name in _VALUE_NAMES else f for f in UPDATE_FLAGS
]
_UPDATE_USAGE = f"Usage:  {USAGE['update']}\n\nRun 'docker update --help' for more information"


@command(
    "update",
    aliases=("container update",),
    usage=USAGE["update"],
    summary="Update configuration of one or more containers",
    min_args=1,
    targets="container:all",
    group="admin",
    flags=UPDATE_REGISTRY_FLAGS,
)
async def update(inv: Invocation, ctx: HandlerContext) -> Output:
    guarded = guard_invocation(inv)  # the same reading of the flags that the gate judged
    assert guarded is not None
    body = update_body(guarded)
    # Idempotent: the same settings sent twice leave the container as once.
    return await container_jobs(inv, ctx, "update", {"body": body}, QUICK_TIMEOUT, idempotent=True)


def update_body(guarded: GuardedCommand) -> dict[str, object]:
    """The UpdateConfig ``docker update`` sends (docker/cli update.go), from the flag guard's parse.

    Zero means "leave as it is" to the engine, as with the CLI; the restart policy is checked
    here with the CLI's words, sizes and CPUs with pflag's.
    """
    opt = guarded.opt

    def number(name: str) -> int:
        value = opt(name)
        return value if isinstance(value, int) else 0

    restart = parse_restart_policy(str(opt("restart") or ""))
    pids = number("pids-limit")
    resources: dict[str, object] = {
        "BlkioWeight": number("blkio-weight"),
        "CpusetCpus": str(opt("cpuset-cpus") or ""),
        "CpusetMems": str(opt("cpuset-mems") or ""),
        "CpuShares": number("cpu-shares"),
        "Memory": _size(opt("memory"), "-m, --memory"),
        "MemoryReservation": _size(opt("memory-reservation"), "--memory-reservation"),
        "MemorySwap": _size(opt("memory-swap"), "--memory-swap", swap=True),
        "CpuPeriod": number("cpu-period"),
        "CpuQuota": number("cpu-quota"),
        "CpuRealtimePeriod": number("cpu-rt-period"),
        "CpuRealtimeRuntime": number("cpu-rt-runtime"),
        "NanoCpus": _cpus(opt("cpus")),
    }
    _size(opt("kernel-memory"), "--kernel-memory")  # accepted and dropped, as docker 28 does
    if pids != 0:
        resources["PidsLimit"] = pids
    return {**resources, "RestartPolicy": restart.api()}


def _size(value: object, flag: str, *, swap: bool = False) -> int:
    if value is None:
        return 0
    text = str(value)
    if swap and text == "-1":
        return -1
    try:
        return ram_in_bytes(text)
    except ValueError as err:
        raise flag_error(text, flag, FlagValueError(str(err)), _UPDATE_USAGE) from None


def _cpus(value: object) -> int:
    if value is None:
        return 0
    try:
        return parse_cpus(str(value))
    except ValueError as err:
        raise flag_error(str(value), "--cpus", FlagValueError(str(err)), _UPDATE_USAGE) from None


# --- exec -----------------------------------------------------------------------------------------

_NO_TERMINAL = (
    "chat has no terminal to type into, so exec cannot be interactive; run the command itself "
    "(`/docker exec web ls /app`), or read what a container prints with `/docker logs`"
)
_EXEC_REFUSED = {
    "interactive": _NO_TERMINAL,
    "tty": _NO_TERMINAL,
    "env-file": "not offered for exec yet; give each variable with -e NAME=VALUE",
}
EXEC_REGISTRY_FLAGS = [
    dataclasses.replace(f, not_available=_EXEC_REFUSED[f.name]) if f.name in _EXEC_REFUSED else f for f in EXEC_FLAGS
]
_EXEC_USAGE = f"Usage:  {USAGE['exec']}\n\nRun 'docker exec --help' for more information"

# What an attached exec may print into one answer; the rest is read and dropped.
EXEC_OUTPUT_LIMIT = 1024 * 1024
# Without a command deadline (tests, tools), how long an attached exec is waited for.
EXEC_DEFAULT_SECONDS = 10.0
# Kept of the command's time limit for what comes after the exec: its exit code, the answer.
EXEC_MARGIN = 1.5


@command(
    "exec",
    aliases=("container exec",),
    usage=USAGE["exec"],
    summary="Execute a command in a running container",
    min_args=2,
    interspersed=False,
    targets="container:first",
    group="operate",
    flags=EXEC_REGISTRY_FLAGS,
)
async def exec_(inv: Invocation, ctx: HandlerContext) -> Output:
    guarded = guard_invocation(inv)  # the one reading of the flags the gate judged (-u 0, --privileged)
    assert guarded is not None
    env = _exec_env(guarded)
    _refuse_if_approval_needed(ctx)
    target = ctx.targets[0]
    if not target.id:
        raise NotFound(no_such("container", inv.args[0]))
    engine = Containers(ctx.docker)
    detach = bool(guarded.opt("detach"))
    exec_id = await engine.exec_create(
        target.id,
        list(guarded.args[1:]),
        env=env,
        user=str(guarded.opt("user") or ""),
        workdir=str(guarded.opt("workdir") or ""),
        privileged=bool(guarded.opt("privileged")),
        detach=detach,
        detach_keys=str(guarded.opt("detach-keys") or ""),
    )
    if detach:
        await engine.exec_start_detached(exec_id)
        return Output("")  # docker exec -d prints nothing
    within = _exec_seconds()
    result = await engine.exec_attached(exec_id, within=within, limit=EXEC_OUTPUT_LIMIT)
    return await _exec_output(ctx, target, result, within)


def _exec_env(guarded: GuardedCommand) -> list[str]:
    out = []
    for entry in guarded.values("env"):
        try:
            # -e NAME copies NAME from the worker's environment, as docker copies it from its
            # own: the flag guard asks for env-inherit:NAME, which the gate has granted.
            out.append(validate_env(entry))
        except FlagValueError as err:
            raise flag_error(entry, "-e, --env", err, _EXEC_USAGE) from None
    return out


def _exec_seconds() -> float:
    """How long to wait for the command: the command's time limit, less what its answer needs."""
    active = budget.active()
    deadline = active.deadline if active is not None else None
    if deadline is None:
        return EXEC_DEFAULT_SECONDS
    return max(deadline - time.monotonic() - EXEC_MARGIN, 0.5)


async def _exec_output(ctx: HandlerContext, target: Target, result: ExecResult, within: float) -> Output:
    """The output as a terminal shows it (secrets masked as in logs), and how the command ended."""
    try:
        env = (await ctx.docker.inspect_container(target.id)).get("Config", {}).get("Env")
    except NotFound:
        env = None  # gone meanwhile: nothing of its environment to mask
    # A terminal shows CRLF (the OCI runtime's own error lines end so) as one line break.
    text = result.output.decode("utf-8", "replace").replace("\r\n", "\n")
    text = Redactor.from_env(env).text(text)
    notes = []
    if result.dropped:
        kept = EXEC_OUTPUT_LIMIT // 1024
        notes.append(f"dockbell kept the first {kept} KiB of the output; {result.dropped} bytes more were not shown")
    if result.running:
        notes.append(
            f"still running in the container after {within:.0f} s: dockbell stopped waiting and shows what it "
            "printed until then (docker cannot stop a command it execs; use -d for long ones)"
        )
    elif result.exit_code:
        notes.append(f"exit code {result.exit_code}")
    return Output(text, filename="exec.txt", errors=notes)
