"""Cancel, as the status message and the answer to a request show it: never more than happened."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import Awaitable, Callable
from typing import Any, cast

import pytest

from bot.core.types import ReplyTo, Requester
from bot.engine.gateway import DockerGateway, PullResult
from bot.errors import DockerUnavailable, NotFound
from bot.jobs.queue import Cancellable, EffectUnknown, Job, JobContext, JobStatus
from bot.jobs.verbs import CANCELLABLE_WHILE_RUNNING, PULL_STOPPED, handlers_for
from bot.slack.render import CANCEL_ACTION, cancel_offered, job_message
from handlers.jobs import cancel_answer
from tests.helpers import all_text

pytestmark = pytest.mark.unit

RESTART = Job(
    id="j-0123456789",
    host="local",
    verb="restart",
    target="c0ffee",
    requester=Requester("U_ALICE", "C_OPS"),
    reply_to=ReplyTo("C_OPS", "1700000000.000100"),
    args={"command": "restart -t 5 web", "target_name": "web"},
)
PULL = dataclasses.replace(RESTART, verb="pull", target="busybox", args={"command": "pull busybox"})
PULL = dataclasses.replace(PULL, cancellable_running=True)


def _job(base: Job, status: JobStatus, by: str | None = None, **fields: Any) -> Job:
    times = {"started_at": 100.0} if status is not JobStatus.QUEUED else {}
    if status.finished:
        times["finished_at"] = 105.5
    return dataclasses.replace(base, status=status, cancel_requested_by=by, **{**times, **fields})


def _shown(job: Job) -> str:
    return all_text(job_message(job, position=1))


def _has_button(job: Job) -> bool:
    return CANCEL_ACTION in str(job_message(job, position=1)["blocks"])


@pytest.mark.parametrize(
    ("base", "status", "by"),
    list(itertools.product((RESTART, PULL), list(JobStatus), (None, "U_BOB"))),
)
def test_cancel_is_offered_only_while_it_can_take_effect(base: Job, status: JobStatus, by: str | None) -> None:
    job = _job(base, status, by)
    expected = status is JobStatus.QUEUED or (status is JobStatus.RUNNING and base.cancellable_running and not by)
    assert cancel_offered(job) is expected
    assert _has_button(job) is expected
    # Only a job that did not do its work is ever called cancelled.
    if status is not JobStatus.CANCELLED:
        assert "cancelled" not in _shown(job).lower()


def test_a_restart_loses_its_button_as_it_starts() -> None:
    assert _has_button(_job(RESTART, JobStatus.QUEUED))
    assert not _has_button(_job(RESTART, JobStatus.RUNNING))
    assert _has_button(_job(PULL, JobStatus.RUNNING))


def test_a_cancel_that_came_too_late_for_a_running_restart() -> None:
    text = _shown(_job(RESTART, JobStatus.RUNNING, "U_BOB"))
    assert "running (cancel came too late)" in text
    assert "Cancel requested by <@U_BOB> came too late: `docker restart -t 5 web` is already running" in text
    assert "this message will show its outcome" in text


def test_a_restart_that_finished_after_a_late_cancel_says_succeeded() -> None:
    message = job_message(_job(RESTART, JobStatus.SUCCEEDED, "U_BOB", result="web: restarted"), position=0)
    text = all_text(message)
    assert message["text"].startswith("docker restart -t 5 web: succeeded in 5.5 s")
    assert "web: restarted" in text and "<@U_BOB> came too late" in text and "ran to its end" in text


def test_a_cancelled_queued_job_says_it_never_started() -> None:
    job = _job(RESTART, JobStatus.CANCELLED, "U_BOB", error="it never started: nothing was done")
    text = _shown(job)
    assert "cancelled by <@U_BOB>" in text and "It never started: nothing was done." in text
    assert "came too late" not in text


def test_a_pull_being_stopped_and_stopped() -> None:
    assert "running, cancelling at <@U_BOB>'s request" in _shown(_job(PULL, JobStatus.RUNNING, "U_BOB"))
    stopped = _shown(_job(PULL, JobStatus.CANCELLED, "U_BOB", error=PULL_STOPPED))
    assert "cancelled by <@U_BOB>" in stopped and "the image was not updated" in stopped
    finished = _shown(_job(PULL, JobStatus.SUCCEEDED, "U_BOB", result="Status: Image is up to date for busybox"))
    assert "succeeded" in finished and "the engine had already finished" in finished


def test_the_answer_to_a_cancel_request() -> None:
    too_late = cancel_answer(_job(RESTART, JobStatus.RUNNING, "U_BOB"))
    assert too_late.startswith("Too late to cancel job j-0123456789: `docker restart -t 5 web` is already running")
    assert "It will finish, and its status message will show the outcome." in too_late
    assert "cancelled" not in too_late
    assert cancel_answer(_job(RESTART, JobStatus.CANCELLED, "U_BOB")).startswith("Job j-0123456789 cancelled")
    assert cancel_answer(_job(PULL, JobStatus.RUNNING, "U_BOB")).startswith("Cancelling job j-0123456789")
    done = cancel_answer(_job(RESTART, JobStatus.SUCCEEDED))
    assert done == "Job j-0123456789 had already succeeded; nothing to cancel."


# --- the pull handler, cut short at each point ------------------------------------------------------


class _Engine:
    """The two gateway calls a pull job makes; ``pull`` sends ``events`` then hangs until cancelled."""

    def __init__(self, events: list[dict[str, Any]], ids: list[str | Exception | None]) -> None:
        self.events = events
        self.ids = ids  # what inspect_image answers, call after call
        self.sent = asyncio.Event()

    async def inspect_image(self, ref: str) -> dict[str, Any]:
        answer = self.ids.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if answer is None:
            raise NotFound(f"Error response from daemon: No such image: {ref}")
        return {"Id": answer}

    async def pull(self, ref: str, *, on_progress: Callable[[dict[str, Any]], Awaitable[None]]) -> PullResult:
        for event in self.events:
            await on_progress(event)
        self.sent.set()
        await asyncio.Event().wait()
        raise AssertionError("not reached")


LAYER = {"status": "Downloading", "id": "abc", "progressDetail": {"current": 1, "total": 10}}
DONE = {"status": "Status: Downloaded newer image for busybox:latest"}


async def _cancel_pull(engine: _Engine) -> asyncio.Task[str]:
    pull = handlers_for(cast(DockerGateway, engine))["pull"]
    job = dataclasses.replace(PULL, status=JobStatus.RUNNING)

    async def report(fields: dict[str, Any]) -> None:
        pass

    async def run() -> str:
        return await pull(JobContext(job, asyncio.Event(), report))

    task = asyncio.create_task(run())
    await engine.sent.wait()
    task.cancel()
    await asyncio.wait({task})
    return task


async def test_a_pull_stopped_mid_transfer_is_cancelled() -> None:
    task = await _cancel_pull(_Engine([LAYER], ids=["sha256:old", "sha256:old"]))
    assert task.cancelled()


async def test_a_pull_whose_engine_had_said_done_succeeds() -> None:
    task = await _cancel_pull(_Engine([LAYER, DONE], ids=["sha256:old"]))
    assert task.result() == "Status: Downloaded newer image for busybox:latest"


async def test_a_pull_whose_image_landed_before_the_stream_closed_succeeds() -> None:
    task = await _cancel_pull(_Engine([LAYER], ids=[None, "sha256:new"]))
    assert task.result() == "busybox: pulled; the engine had finished before the cancel reached it"


async def test_a_pull_that_cannot_be_checked_after_the_cancel_says_so() -> None:
    task = await _cancel_pull(_Engine([LAYER], ids=["sha256:old", DockerUnavailable("Cannot connect")]))
    with pytest.raises(EffectUnknown, match="whether the image was updated is unknown: Cannot connect"):
        task.result()


def test_every_verb_declares_whether_a_cancel_can_stop_it() -> None:
    handlers = handlers_for(cast(DockerGateway, _Engine([], [])))
    assert handlers.keys() == CANCELLABLE_WHILE_RUNNING.keys()
    assert {verb: isinstance(h, Cancellable) for verb, h in handlers.items()} == CANCELLABLE_WHILE_RUNNING
