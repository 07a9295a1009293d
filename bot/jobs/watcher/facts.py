"""What a notification says about a container, worked out from its inspect document and its logs (pure).

* The exit code explained.  137 is SIGKILL, and it is called "out of memory" only when an
  ``oom`` event or ``State.OOMKilled`` says so: a stop timeout or an outside kill gives
  137 just as well, and calling those OOM sends people looking in the wrong place.
* The log excerpt: error and fatal lines first (they are why someone reads it), then the
  tail, redacted of secrets as ``/docker logs`` is.
* Forensics: what changed since the container was last healthy (image digest, env keys
  never values, command, compose config hash), from a baseline kept per container name,
  since a redeploy gives the container a new ID.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bot.core.redact import Redactor

COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"
COMPOSE_HASH = "com.docker.compose.config-hash"
SILENCE_LABEL = "dockbell.notify"

_ERROR_LINE = re.compile(r"\b(error|err|fatal|panic|exception|traceback|critical|crit|segfault|abort(ed)?)\b", re.I)

_KNOWN = {
    1: "general error (exit 1): the application reported a failure",
    2: "misuse or bad arguments (exit 2): a shell builtin or the command's own usage error",
    125: "the container could not be run (exit 125)",
    126: "command cannot execute (exit 126): not executable, or permission denied",
    127: "command not found (exit 127): the entrypoint or command is missing from the image",
    139: "segmentation fault (exit 139, SIGSEGV): the process crashed on a bad memory access",
    143: "terminated (exit 143, SIGTERM): asked to stop, and it did",
}
KILLED = "killed (SIGKILL): a stop timeout or an outside kill"
OOM = "out of memory (OOM-killed)"


def explain_exit(code: int | None, *, oom: bool, policy: str = "", memory_limit: int = 0) -> str:
    """The exit code in words; OOM only when ``oom`` (an oom event or State.OOMKilled) says so."""
    if code is None:
        return "stopped (no exit code recorded)"
    if oom:
        limit = f", memory limit {human_bytes(memory_limit)}, reached" if memory_limit else ""
        return f"{OOM}: the kernel killed it with SIGKILL (exit {code}){limit}"
    if code == 0:
        return f"exited cleanly (exit 0), but its restart policy ({policy or 'no'}) says it should keep running"
    if code == 137:
        return f"{KILLED} (exit 137)"
    if code in _KNOWN:
        return _KNOWN[code]
    if 128 < code < 128 + 65:
        try:
            name = signal.Signals(code - 128).name
        except ValueError:
            name = f"signal {code - 128}"
        return f"killed by {name} (exit {code})"
    return f"exited with code {code}"


def human_bytes(size: int) -> str:
    """Binary units, as docker's own memory figures (8 MiB)."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" or value >= 100 else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def log_excerpt(text: str, lines: int, redactor: Redactor) -> tuple[list[str], list[str]]:
    """(error and fatal lines, the tail without them), together at most ``lines`` lines, redacted.

    Errors get up to half the room (the most recent ones); the tail fills the rest.
    """
    if lines <= 0:
        return [], []
    all_lines = [redactor.text(line) for line in text.splitlines() if line.strip()]
    error_idx = [i for i, line in enumerate(all_lines) if _ERROR_LINE.search(line)]
    chosen_errors = error_idx[-max(1, lines // 2) :] if error_idx else []
    taken = set(chosen_errors)
    room = lines - len(chosen_errors)
    tail_idx = [i for i in range(len(all_lines)) if i not in taken][-room:] if room > 0 else []
    # An error line that is also in the last few lines shows once, in the errors.
    return [all_lines[i] for i in chosen_errors], [all_lines[i] for i in tail_idx]


def health_outputs(state: Mapping[str, Any], count: int = 3) -> list[str]:
    """The last health checks' outputs, newest last ("exit 1: connection refused")."""
    health = state.get("Health") or {}
    out = []
    for probe in (health.get("Log") or [])[-count:]:
        output = " ".join(str(probe.get("Output", "")).split())[:300]
        out.append(f"exit {probe.get('ExitCode')}: {output or '(no output)'}")
    return out


@dataclass(frozen=True)
class Baseline:
    """A container as it was when last healthy (or running steadily)."""

    image_id: str
    image: str
    env_keys: tuple[str, ...]
    command: str
    config_hash: str
    at: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Baseline:
        return cls(
            image_id=str(data.get("image_id", "")),
            image=str(data.get("image", "")),
            env_keys=tuple(str(k) for k in data.get("env_keys") or ()),
            command=str(data.get("command", "")),
            config_hash=str(data.get("config_hash", "")),
            at=float(data.get("at", 0.0)),
        )


def env_keys(env: Sequence[str] | None) -> tuple[str, ...]:
    return tuple(sorted({entry.split("=", 1)[0] for entry in env or ()}))


def command_of(doc: Mapping[str, Any]) -> str:
    path = str(doc.get("Path") or "")
    args = [str(a) for a in doc.get("Args") or ()]
    return " ".join([path, *args]).strip()


def baseline_of(doc: Mapping[str, Any], at: float) -> Baseline:
    config = doc.get("Config") or {}
    return Baseline(
        image_id=str(doc.get("Image", "")),
        image=str(config.get("Image", "")),
        env_keys=env_keys(config.get("Env")),
        command=command_of(doc),
        config_hash=str((config.get("Labels") or {}).get(COMPOSE_HASH, "")),
        at=at,
    )


def _short_id(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12] or "?"


def changes_since(before: Baseline | None, now: Baseline, redactor: Redactor) -> list[str]:
    """What differs from the last healthy state; env keys only, never their values."""
    if before is None:
        return ["no healthy state of this container was recorded before this crash"]
    out: list[str] = []
    if before.image_id != now.image_id:
        out.append(f"image: {before.image} ({_short_id(before.image_id)}) → {now.image} ({_short_id(now.image_id)})")
    added = sorted(set(now.env_keys) - set(before.env_keys))
    removed = sorted(set(before.env_keys) - set(now.env_keys))
    if added:
        out.append("env keys added: " + ", ".join(added))
    if removed:
        out.append("env keys removed: " + ", ".join(removed))
    if before.command != now.command:
        out.append(f"command: {redactor.text(before.command)!r} → {redactor.text(now.command)!r}")
    if before.config_hash != now.config_hash:
        out.append(f"compose config hash: {before.config_hash[:12] or '-'} → {now.config_hash[:12] or '-'}")
    if not out:
        out.append("nothing changed since it was last healthy (image, env keys, command, compose config)")
    return out


@dataclass(frozen=True)
class ContainerFacts:
    """What inspect says, reduced to what a notification shows (labels for routing and silencing)."""

    cid: str
    name: str
    image: str
    labels: Mapping[str, str]
    restart_policy: str
    restart_count: int
    memory_limit: int
    oom_killed: bool
    running: bool
    health: str  # "" | starting | healthy | unhealthy
    failing_streak: int
    exit_code: int
    finished_at: str
    started_at: str

    @property
    def project(self) -> str:
        return self.labels.get(COMPOSE_PROJECT, "")

    @property
    def service(self) -> str:
        return self.labels.get(COMPOSE_SERVICE, "")

    @property
    def silenced(self) -> bool:
        return self.labels.get(SILENCE_LABEL, "").strip().lower() in ("false", "no", "off", "0")


def facts_of(doc: Mapping[str, Any]) -> ContainerFacts:
    config = doc.get("Config") or {}
    state = doc.get("State") or {}
    host_config = doc.get("HostConfig") or {}
    policy = host_config.get("RestartPolicy") or {}
    name = str(policy.get("Name") or "no")
    if name == "on-failure" and policy.get("MaximumRetryCount"):
        name = f"on-failure:{policy['MaximumRetryCount']}"
    health = state.get("Health") or {}
    return ContainerFacts(
        cid=str(doc.get("Id", "")),
        name=str(doc.get("Name", "")).lstrip("/"),
        image=str(config.get("Image", "")),
        labels={str(k): str(v) for k, v in (config.get("Labels") or {}).items()},
        restart_policy=name,
        restart_count=int(doc.get("RestartCount") or 0),
        memory_limit=int(host_config.get("Memory") or 0),
        oom_killed=bool(state.get("OOMKilled")),
        running=bool(state.get("Running")),
        health=str(health.get("Status") or ""),
        failing_streak=int(health.get("FailingStreak") or 0),
        exit_code=int(state.get("ExitCode") or 0),
        finished_at=str(state.get("FinishedAt") or ""),
        started_at=str(state.get("StartedAt") or ""),
    )


def policy_base(policy: str) -> str:
    """``on-failure:3`` → ``on-failure``: what the config's exit_zero list and the breaker go by."""
    return policy.split(":", 1)[0]
