"""The job record itself: ids, encoding, what enqueue refuses."""

from __future__ import annotations

import dataclasses
import re

import pytest

from bot.jobs.queue import Job, JobStatus, job_id_for
from bot.jobs.queue.model import check_new
from tests.queue.helpers import REPLY_TO, REQUESTER, make_job


def test_job_id_is_short_readable_and_stable() -> None:
    a = job_id_for("T123", "C_OPS", "trigger-1")
    assert re.fullmatch(r"j-[0-9a-f]{10}", a)
    assert a == job_id_for("T123", "C_OPS", "trigger-1")
    assert a != job_id_for("T123", "C_OPS", "trigger-2")
    # Parts are separated, so moving a boundary changes the id.
    assert job_id_for("ab", "c") != job_id_for("a", "bc")


def test_fields_round_trip_as_json() -> None:
    job = dataclasses.replace(
        make_job(
            "h1", "pull", target="busybox:latest", args={"platform": None, "tags": ["a", "b"]}, lock_key="image:x"
        ),
        status=JobStatus.RUNNING,
        started_at=12.5,
        progress={"layers": {"done": 2, "of": 5}},
        approval_ref="appr-1",
    )
    fields = job.to_fields()
    assert fields["status"] == '"running"'
    assert fields["args"] == '{"platform":null,"tags":["a","b"]}'
    back = Job.from_fields({k.encode(): v.encode() for k, v in fields.items()} | {b"keep": b"86400"})
    assert back == job


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"args": {"when": object()}}, "args must be plain JSON"),
        ({"args": {"x": float("nan")}}, "args must be plain JSON"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"timeout_seconds": float("inf")}, "timeout_seconds"),
        ({"id": "j 1"}, "bad job id"),
        ({"host": "a:b"}, "bad host"),
        ({"lock_key": "container: x"}, "bad lock key"),
    ],
)
def test_enqueue_refuses_what_cannot_be_stored_safely(change: dict[str, object], message: str) -> None:
    job = Job(id="j-1", host="h1", verb="start", requester=REQUESTER, reply_to=REPLY_TO)
    with pytest.raises(ValueError, match=message):
        check_new(dataclasses.replace(job, **change))  # type: ignore[arg-type]
