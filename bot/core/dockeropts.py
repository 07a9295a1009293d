"""Flag values of the container commands as docker reads them: restart policies, signals, environment entries.

Pure ports of what docker/cli (``opts``) and the daemon's signal table do with a flag's
text before anything happens, with their wording (sizes and CPUs: bot/policy/goparse.py).
``FlagValueError`` carries the reason alone; :func:`flag_error` words it as pflag does
(``invalid argument "=x" for "-e, --env" flag: invalid environment variable: =x``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.errors import ParseError


class FlagValueError(ValueError):
    """A value docker refuses; ``str()`` is docker's reason, without the flag."""


def flag_error(value: str, flag: str, err: FlagValueError, usage: str | None = None) -> ParseError:
    """pflag's wording for a value its Set refused; ``flag`` as pflag names it (``-m, --memory``)."""
    return ParseError(f'invalid argument "{value}" for "{flag}" flag: {err}', usage=usage)


# --- restart policies (opts.ParseRestartPolicy) -------------------------------------------------

_GO_ATOI = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class RestartPolicy:
    name: str
    maximum_retry_count: int = 0

    def api(self) -> dict[str, object]:
        return {"Name": self.name, "MaximumRetryCount": self.maximum_retry_count}


def parse_restart_policy(policy: str) -> RestartPolicy:
    """``no``, ``always``, ``unless-stopped``, ``on-failure[:N]``; the daemon judges the name.

    Raises ParseError with the CLI's own words (it refuses these before calling the engine).
    """
    if policy == "":
        return RestartPolicy("")  # the CLI sends no policy: the container's stays as it is
    name, colon, count = policy.partition(":")
    if colon and name == "":
        raise ParseError("invalid restart policy format: no policy provided before colon")
    retries = 0
    if count:
        if not _GO_ATOI.fullmatch(count) or not -(2**63) <= int(count) < 2**63:
            raise ParseError("invalid restart policy format: maximum retry count must be an integer")
        retries = int(count)
    return RestartPolicy(name, retries)


# --- signals (moby's signal.ParseSignal and its Linux table) -----------------------------------

_SIGNALS: dict[str, int] = {
    "ABRT": 6, "ALRM": 14, "BUS": 7, "CHLD": 17, "CLD": 17, "CONT": 18, "FPE": 8, "HUP": 1,
    "ILL": 4, "INT": 2, "IO": 29, "IOT": 6, "KILL": 9, "PIPE": 13, "POLL": 29, "PROF": 27,
    "PWR": 30, "QUIT": 3, "SEGV": 11, "STKFLT": 16, "STOP": 19, "SYS": 31, "TERM": 15,
    "TRAP": 5, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23, "USR1": 10, "USR2": 12,
    "VTALRM": 26, "WINCH": 28, "XCPU": 24, "XFSZ": 25,
}  # fmt: skip
_SIGRTMIN, _SIGRTMAX = 34, 64
_SIGNALS.update({"RTMIN": _SIGRTMIN, "RTMAX": _SIGRTMAX})
_SIGNALS.update({f"RTMIN+{i}": _SIGRTMIN + i for i in range(1, 16)})
_SIGNALS.update({f"RTMAX-{i}": _SIGRTMAX - i for i in range(1, 15)})


def parse_signal(raw: str) -> int:
    """The signal ``raw`` names (``KILL``, ``sigusr1``, ``9``); the daemon's words if none.

    The daemon reads ``--signal`` before it looks the container up, so a bad one is
    ``Invalid signal: X`` whatever the container, and this check may come first.  Numbers are
    accepted as Go's Atoi reads them (the daemon then judges the range).
    """
    if _GO_ATOI.fullmatch(raw) and -(2**63) <= int(raw) < 2**63:
        if int(raw) == 0:
            raise FlagValueError(f"Invalid signal: {raw}")
        return int(raw)
    name = raw.upper().removeprefix("SIG")
    if name not in _SIGNALS:
        raise FlagValueError(f"Invalid signal: {raw}")
    return _SIGNALS[name]


# --- environment entries (opts.ValidateEnv) ----------------------------------------------------


def validate_env(entry: str, environ: Mapping[str, str] | None = None) -> str:
    """``-e K=V`` as is; ``-e K`` takes K's value from the environment docker runs in, if it has one.

    Here that environment is the worker's, which is why the policy's ``env-inherit:K`` must
    grant it (the flag guard asks for it).
    """
    key, eq, _ = entry.partition("=")
    if key == "":
        raise FlagValueError(f"invalid environment variable: {entry}")
    if eq:
        return entry
    env = os.environ if environ is None else environ
    return f"{key}={env[key]}" if key in env else entry
