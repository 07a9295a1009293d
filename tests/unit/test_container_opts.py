"""Unit: the container commands' flag values as docker reads them, and what update sends.

The expected values and words were read off docker 28's CLI against a 20.10 engine (``docker
kill -s X nosuch``, ``docker update --restart X``): the end-to-end tests compare the rest live.
"""

from __future__ import annotations

import pytest

from bot.core import dispatch
from bot.core.dockeropts import FlagValueError, parse_restart_policy, parse_signal, validate_env
from bot.core.types import Invocation
from bot.errors import NotAvailableYet, ParseError
from bot.jobs.gate import guard_invocation, requested_capabilities
from bot.jobs.verbs import CANCELLABLE_WHILE_RUNNING
from handlers.containers_ops import update_body
from handlers.lifecycle import one_command

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "number"),
    [("KILL", 9), ("sigusr1", 10), ("SIGterm", 15), ("9", 9), ("+9", 9), ("007", 7), ("RTMIN+3", 37), ("RTMAX-14", 50)],
)
def test_signals_the_daemon_accepts(raw: str, number: int) -> None:
    assert parse_signal(raw) == number


@pytest.mark.parametrize("raw", ["FOO", "0", "-0", " 9", "0x9", "SIG", "RTMIN+16", "RTMAX-15", "UNUSED", "EMT", " "])
def test_signals_the_daemon_refuses_in_its_words(raw: str) -> None:
    with pytest.raises(FlagValueError) as err:
        parse_signal(raw)
    assert str(err.value) == f"Invalid signal: {raw}"


def test_restart_policies() -> None:
    assert parse_restart_policy("on-failure:3").api() == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert parse_restart_policy("always").api() == {"Name": "always", "MaximumRetryCount": 0}
    assert parse_restart_policy("").api() == {"Name": "", "MaximumRetryCount": 0}  # left as it is
    assert parse_restart_policy("foo:+2").maximum_retry_count == 2  # the engine judges the name
    with pytest.raises(ParseError, match="maximum retry count must be an integer"):
        parse_restart_policy("on-failure:x")
    with pytest.raises(ParseError, match="no policy provided before colon"):
        parse_restart_policy(":3")


def test_env_entries() -> None:
    assert validate_env("A=b=c") == "A=b=c"
    assert validate_env("HOME_X", {"HOME_X": "/h"}) == "HOME_X=/h"  # copied from the worker's environment
    assert validate_env("UNSET", {}) == "UNSET"
    with pytest.raises(FlagValueError, match="invalid environment variable: =x"):
        validate_env("=x")


def _inv(text: str) -> Invocation:
    from bot.bootstrap.worker import build_registry

    return dispatch.parse(text, build_registry())


def test_update_sends_what_the_cli_sends() -> None:
    guarded = guard_invocation(
        _inv("update --restart on-failure:2 -m 64m --memory-swap -1 --cpus 1.5 --pids-limit 7 web")
    )
    assert guarded is not None
    body = update_body(guarded)
    assert body["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert (body["Memory"], body["MemorySwap"], body["NanoCpus"], body["PidsLimit"]) == (64 << 20, -1, 1_500_000_000, 7)
    assert body["CpuShares"] == 0 and body["CpusetCpus"] == ""  # zero: unchanged, for the engine
    no_pids = guard_invocation(_inv("update --cpus 1 web"))
    assert no_pids is not None and "PidsLimit" not in update_body(no_pids)


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        ("--cpus abc", 'invalid argument "abc" for "--cpus" flag: failed to parse abc as a rational number'),
        ("-m 10x", 'invalid argument "10x" for "-m, --memory" flag: invalid suffix: \'x\''),
        ("--memory-swap abc", 'invalid argument "abc" for "--memory-swap" flag: invalid size: \'abc\''),
    ],
)
def test_update_values_refused_in_pflag_s_words(flags: str, words: str) -> None:
    guarded = guard_invocation(_inv(f"update {flags} web"))
    assert guarded is not None
    with pytest.raises(ParseError) as err:
        update_body(guarded)
    assert err.value.message == words and err.value.usage and "docker update --help" in err.value.usage


def test_update_without_flags_and_exec_s_capabilities() -> None:
    with pytest.raises(ParseError, match="you must provide one or more flags"):
        guard_invocation(_inv("update -H local web"))  # -H is no flag of update's
    assert requested_capabilities(_inv("exec -u 0 --privileged web ls")) == {"user:root", "exec-privileged"}
    assert requested_capabilities(_inv("exec -e TOKEN web env")) == {"env-inherit:TOKEN"}
    assert requested_capabilities(_inv("exec web ls -u 0")) == frozenset()  # after the container: the command's
    with pytest.raises(NotAvailableYet, match="no terminal"):
        _inv("exec -t web sh")


def test_each_job_of_a_command_shows_its_own_container_with_the_flags() -> None:
    inv = _inv("container stop -t 3 a b")
    assert [one_command(inv, c) for c in inv.args] == ["stop -t 3 a", "stop -t 3 b"]
    inv = _inv("rm -fv a 'b c'")
    assert one_command(inv, "b c") == "rm -f -v 'b c'"
    inv = _inv("kill --signal=USR1 a")
    assert one_command(inv, "a") == "kill -s USR1 a"


def test_only_wait_is_cancellable_while_running() -> None:
    ours = {v: CANCELLABLE_WHILE_RUNNING[v] for v in ("kill", "rm", "pause", "unpause", "rename", "update", "wait")}
    assert ours == {
        "kill": False,
        "rm": False,
        "pause": False,
        "unpause": False,
        "rename": False,
        "update": False,
        "wait": True,
    }
