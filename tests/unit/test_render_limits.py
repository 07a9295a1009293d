"""Every message builder stays inside Block Kit's limits, whatever the user typed (issue 8, item 5).

Slack refuses a whole message for one over-long text, and then the person gets no answer at
all; so each builder is fed hostile text (long, full of ``&<>``, emoji, backticks, newlines)
and what it returns must pass the fake Slack's Block Kit checker, measured the strict way
(UTF-16 units), with every ``&`` still starting a whole entity.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.types import ReplyTo, Requester
from bot.fakeslack import validate_blocks
from bot.jobs.queue import Job, JobStatus
from bot.slack import clip, render

pytestmark = pytest.mark.unit

# The kinds of line the probe sent: long words, a flood of `&` (five characters each once
# escaped), angle brackets and mentions, emoji (two UTF-16 units), backticks and fences, newlines.
HOSTILE = [
    "x" * 2_979,
    "x" * 2_990,
    "ps " + "x" * 40_000,
    "&" * 600,
    "&" * 5_000,
    "<" * 1_000 + ">" * 1_000,
    "<!channel> <@U0123> " * 300,
    "\U0001f600" * 1_600,
    "\U0001f468\u200d\U0001f469\u200d\U0001f467" * 600,  # a family: ZWJ sequences
    "`" * 4_000,
    "```" * 1_200 + "x",
    "a\n" * 3_000,
    "\n" * 5_000,
    'logs "' + "\\&" * 2_000,
    "&amp;" * 800,  # what Slack's own escaping of `&` looks like, sent as text
    "é\u0301" * 2_000,  # combining marks
    "x" * 2_997 + "\U0001f600",  # an emoji astride the limit
]

ALPHABET = st.sampled_from(["&", "<", ">", "`", "```", "\n", "\U0001f600", "é", "'", '"', "\\", " ", "x", "<@U1>"])
LINES = st.one_of(
    st.lists(ALPHABET, max_size=2_500).map("".join),
    st.text(max_size=200),
    st.builds(lambda unit, n: unit * n, ALPHABET, st.integers(0, 6_000)),
)

_BAD_ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")
JOB = Job(
    id="j-0123456789",
    host="local",
    verb="restart",
    target="c0ffee",
    requester=Requester("U_ALICE", "C_OPS"),
    reply_to=ReplyTo("C_OPS", "1700000000.000100"),
)


def _texts(node: object) -> Iterator[str]:
    """Every text Slack measures in a list of blocks."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("text", "value") and isinstance(value, str):
                yield value
            else:
                yield from _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)


def _check(message: dict[str, Any]) -> None:
    blocks = message["blocks"]
    assert validate_blocks(blocks) == []
    for text in _texts(blocks):
        assert not _BAD_ENTITY.search(text), "an entity was cut in half"
    # The strict reading (UTF-16 units) for every text clip.py cut; the output's own code
    # blocks (output_sections, the file preview) are split by code points.
    clipped = [b for b in blocks if not str(b.get("block_id", "")).startswith(("out-", "preview"))]
    for text in _texts(clipped):
        assert 1 <= clip.units(text) <= clip.SECTION_TEXT
    assert message["text"] and clip.units(message["text"]) <= clip.MESSAGE_TEXT


def _jobs(line: str) -> Iterator[Job]:
    base = dataclasses.replace(JOB, args={"command": line})
    yield base
    yield dataclasses.replace(base, status=JobStatus.RUNNING, started_at=1.0, progress={"text": line})
    yield dataclasses.replace(base, status=JobStatus.SUCCEEDED, started_at=1.0, finished_at=2.0, result=line)
    yield dataclasses.replace(base, status=JobStatus.FAILED, started_at=1.0, finished_at=2.0, error=line)
    yield dataclasses.replace(base, status=JobStatus.CANCELLED, error=line or "x", cancel_requested_by="U_BOB")
    yield dataclasses.replace(base, status=JobStatus.RUNNING, started_at=1.0, cancel_requested_by="U_BOB")
    yield dataclasses.replace(
        base, status=JobStatus.SUCCEEDED, started_at=1.0, finished_at=2.0, cancel_requested_by="U_BOB"
    )


def _every_message(line: str) -> Iterator[dict[str, Any]]:
    reply = render.Reply(line, line, (line,), "share-1", (render.escape(line) or "x",))
    yield render.inline_reply(reply)
    yield render.inline_reply(reply, shared_by="U_ALICE")
    yield render.inline_reply(render.Reply(line, ""))
    short = render.Reply(line, "a\nb", (line,), "share-1")
    yield render.file_reply(short, filename=line or "x", where="your DM with dockbell", preview_lines=15)
    yield render.error_reply(line, line, usage=line)
    yield render.error_reply("", line or "x")
    yield render.help_reply(line, line or "x")
    yield render.failure_reply(line, "0a1b2c3d")
    yield render.notice(render.escape(line) or "x")
    yield render.plain_notice(line or "x")
    for job in _jobs(line):
        yield render.job_message(job, position=2)


@pytest.mark.parametrize("line", HOSTILE, ids=[f"hostile-{i}" for i in range(len(HOSTILE))])
def test_hostile_lines_fit_every_builder(line: str) -> None:
    for message in _every_message(line):
        _check(message)
    for comment in (render.file_comment(line), render.shared_file_comment("U_ALICE", line)):
        assert clip.units(comment) <= clip.FILE_COMMENT and not _BAD_ENTITY.search(comment)


@settings(max_examples=150, deadline=None)
@given(LINES)
def test_generated_lines_fit_every_builder(line: str) -> None:
    for message in _every_message(line):
        _check(message)


def test_echo_keeps_what_fits_and_marks_the_cut() -> None:
    line = "x" * 2_995  # "`docker " and "`" make it 3,004
    echo = render.inline_reply(render.Reply(line, "ok"))["blocks"][0]["elements"][0]["text"]
    assert echo.startswith("`docker xxx") and echo.endswith("x\u2026`")
    assert 2_990 <= clip.units(echo) <= clip.CONTEXT_TEXT  # cut at the limit, not far before it
    short = render.inline_reply(render.Reply("ps -a", "ok"))["blocks"][0]["elements"][0]["text"]
    assert short == "`docker ps -a`"  # nothing to cut: no mark


def test_a_cut_never_splits_an_entity_or_a_character() -> None:
    for unit in ("&", "<", "\U0001f600", "a&"):
        for budget in range(1, 40):
            cut = clip.plain(unit * 100, budget)
            assert cut.endswith("\u2026") and clip.escaped_units(cut) <= budget
            assert cut[:-1] == unit * (len(cut[:-1]) // len(unit)) + unit[: len(cut[:-1]) % len(unit)]


def test_mrkdwn_cut_backs_off_from_entities_and_links_and_closes_fences() -> None:
    assert clip.mrkdwn("ab&amp;cd", 6) == "ab\u2026"
    assert clip.mrkdwn("ab <@U0123> cd", 10) == "ab \u2026"
    cut = clip.mrkdwn("```\n" + "x" * 50 + "\n```", 20)
    assert cut.endswith("\u2026\n```") and clip.units(cut) <= 20


def test_job_status_keeps_its_state_when_the_command_is_cut() -> None:
    job = dataclasses.replace(JOB, args={"command": "restart " + "&" * 5_000}, status=JobStatus.RUNNING, started_at=1.0)
    message = render.job_message(job, position=0)
    head = message["blocks"][0]["text"]["text"]
    assert head.endswith("` on `local`: running")
    assert message["text"].endswith(": running") and len(message["text"]) <= 4_000  # chat.update's limit


def test_the_fake_refuses_what_slack_refuses() -> None:
    """The checker the tests above lean on: one character over is an invalid_blocks error."""
    echo = {"type": "context", "elements": [{"type": "mrkdwn", "text": "x" * 3_001}]}
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3_001}}
    button = {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "b"}, "value": "v" * 2_001}
    assert validate_blocks([echo]) == ["must be less than 3001 characters [json-pointer:/blocks/0/elements/0/text]"]
    assert validate_blocks([section]) == ["must be less than 3001 characters [json-pointer:/blocks/0/text/text]"]
    assert validate_blocks([{"type": "actions", "elements": [button]}]) == [
        "must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]"
    ]
    assert validate_blocks([{**section, "text": {"type": "mrkdwn", "text": ""}}]) != []
