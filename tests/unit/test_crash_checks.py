"""What a worker concludes about a start, stop or restart whose worker died, from the container it sees."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

import pytest

from bot.core.types import ReplyTo, Requester
from bot.engine.gateway import DockerGateway
from bot.errors import DockerUnavailable, NotFound
from bot.jobs.crash_checks import ContainerCheck, Seen, crash_checks_for, engine_time
from bot.jobs.queue import Finding, Job, JobContext

BEGAN = 1_796_147_420.5  # the job's started_at
BEFORE, AFTER = "2026-12-01T17:50:10.000000001Z", "2026-12-01T17:50:25.403567981Z"  # either side of BEGAN


ALL = ["kill", "die", "stop", "start", "restart"]  # a whole restart's events, in order
BY = "(confirmed from the container's"


def _inspected(*, running: bool, started: str = BEFORE, finished: str = "0001-01-01T00:00:00Z", code: int = 0) -> Any:
    state = {"Running": running, "Status": "running" if running else "exited", "ExitCode": code}
    return {"Id": "c0ffee", "Name": "/web", "State": {**state, "StartedAt": started, "FinishedAt": finished}}


class FakeEngine:
    """inspect answers from a script of looks; the event log is the actions given per look."""

    def __init__(self, looks: list[tuple[Any, list[str]]]) -> None:
        self.looks = looks
        self.index = -1

    async def inspect_container(self, ref: str) -> dict[str, Any]:
        self.index = min(self.index + 1, len(self.looks) - 1)
        inspected = self.looks[self.index][0]
        if isinstance(inspected, Exception):
            raise inspected
        return dict(inspected)

    async def call(self, fn: Callable[[Any], Any]) -> Any:
        actions = self.looks[self.index][1]
        api = type("Api", (), {"events": lambda _self, **kw: _events(actions, kw)})()
        return fn(api)


def _events(actions: list[str], kw: dict[str, Any]) -> list[dict[str, Any]]:
    assert kw["filters"] == {"type": ["container"], "container": ["c0ffee"]} and kw["decode"]
    assert kw["since"] == "1796147420.500000000"
    at = int((BEGAN + 1) * 1_000_000_000)
    # One event from before the job (a previous restart in the same second) that must not count.
    return [{"Action": "restart", "timeNano": int((BEGAN - 0.2) * 1e9)}] + [
        {"Action": a, "timeNano": at + i} for i, a in enumerate(actions)
    ]


def _job(verb: str, *, started_at: float | None = BEGAN, timeout: float = 60.0) -> Job:
    return Job(
        id="j-0123456789",
        host="local",
        verb=verb,
        target="c0ffee",
        requester=Requester(user_id="U_ALICE", channel_id="C_OPS"),
        reply_to=ReplyTo(channel_id="C_OPS", thread_ts="1.2"),
        args={"target_name": "web", "time": 4},
        started_at=started_at,
        timeout_seconds=timeout,
    )


async def _check(verb: str, looks: list[tuple[Any, list[str]]], **job: Any) -> tuple[Finding, list[dict[str, Any]]]:
    reported: list[dict[str, Any]] = []

    async def report(fields: dict[str, Any]) -> None:
        reported.append(fields)

    check = crash_checks_for(cast(DockerGateway, FakeEngine(looks)))[verb]
    assert isinstance(check, ContainerCheck)
    check.clock = lambda: BEGAN + 5
    ctx = JobContext(_job(verb, **job), asyncio.Event(), report)
    return await check(ctx), reported


CONFIRMED_RESTART = "web: restarted (confirmed from the container's StartedAt after the worker running it died)"


@pytest.mark.parametrize(
    ("looks", "done", "said"),
    [
        ([(_inspected(running=True, started=AFTER), ALL)], True, CONFIRMED_RESTART),
        ([(_inspected(running=True), [])], False, "web: not restarted: the worker running it died before the engine"),
        ([(_inspected(running=False, finished=BEFORE, code=1), [])], False, "web: not restarted"),
        # Mid-restart (the stop waits out -t): looked at again until it ends.
        (
            [(_inspected(running=True), ["kill"]), (_inspected(running=True, started=AFTER), ["kill", "restart"])],
            True,
            CONFIRMED_RESTART,
        ),
        # Started again but not running, with no restart event: a restart policy, perhaps; not told.
        ([(_inspected(running=False, started=AFTER, code=2), ["start", "die"])], None, "its effect is unknown"),
        ([(_inspected(running=False, started=AFTER, code=3), [*ALL, "die"])], True, "web: restarted (exit code 3)"),
        ([(NotFound("Error response from daemon: No such container: c0ffee"), [])], None, "container web is gone"),
        ([(DockerUnavailable("Cannot connect to the Docker daemon"), [])], None, "could not be inspected"),
    ],
    ids=["confirmed", "never reached", "stopped, untouched", "waited for", "policy?", "exited", "gone", "no engine"],
)
async def test_restart(looks: list[tuple[Any, list[str]]], done: bool | None, said: str) -> None:
    finding, _ = await _check("restart", looks)
    assert finding.done is done and said in finding.said, finding


async def test_an_unfinished_restart_past_the_jobs_timeout_is_not_told() -> None:
    mid_restart = [(_inspected(running=False, finished=AFTER), ["kill", "die"])]
    finding, reported = await _check("restart", mid_restart, timeout=5.6)  # 0.6 s left of it
    assert finding.done is None and "still at work on web at the job's timeout" in finding.said
    assert "check with `docker ps`" in finding.said
    assert reported == [{"text": "the worker running it died; waiting for the engine to finish restart"}]


async def test_a_job_without_a_start_time_is_not_told() -> None:
    finding, _ = await _check("restart", [(_inspected(running=True, started=AFTER), [])], started_at=None)
    assert finding.done is None


@pytest.mark.parametrize(
    ("verb", "inspected", "actions", "done", "said"),
    [
        ("stop", _inspected(running=False, finished=AFTER, code=137), ALL[:3], True, f"(exit code 137) {BY} state"),
        ("stop", _inspected(running=False, finished=BEFORE), [], True, "web: already stopped"),
        ("stop", _inspected(running=True), [], False, "web: not stopped"),
        ("stop", _inspected(running=True, started=AFTER), ["die", "start"], None, "started again after the job began"),
        ("start", _inspected(running=True, started=AFTER), ["start"], True, f"web: started {BY} StartedAt"),
        ("start", _inspected(running=True), [], True, "web: already running"),
        ("start", _inspected(running=False, finished=BEFORE), [], False, "web: not started"),
    ],
)
async def test_stop_and_start(verb: str, inspected: Any, actions: list[str], done: bool | None, said: str) -> None:
    finding, _ = await _check(verb, [(inspected, actions)])
    assert finding.done is done and said in finding.said, finding


def test_engine_times() -> None:
    assert engine_time("0001-01-01T00:00:00Z") is None
    assert engine_time("") is None and engine_time(None) is None and engine_time("soon") is None
    assert engine_time(AFTER) == pytest.approx(1_796_147_425.403568)
    seen = Seen.of(_inspected(running=False, started=AFTER, finished=AFTER, code=1))
    assert seen.started_after(BEGAN) and not seen.started_after(BEGAN + 10) and seen.state == "exited (exit code 1)"


def test_every_state_changing_verb_has_a_check() -> None:
    assert set(crash_checks_for(cast(DockerGateway, FakeEngine([])))) == {"start", "stop", "restart"}
