"""Unit: the parts of live streams that need no engine: the buffer, the thread writer, the config, the header."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from bot.config import parse_config
from bot.core.linebuffer import LineBuffer, Skipped
from bot.errors import ConfigError, SlackRefused
from bot.jobs.streams.clicks import stream_command_for_click
from bot.jobs.streams.sources import event_line, event_target
from bot.jobs.streams.thread import ThreadWriter
from bot.slack import render_streams as rs

# --- the buffer ------------------------------------------------------------------------------


def test_lines_split_across_chunks_come_out_whole_and_in_order() -> None:
    buf = LineBuffer()
    for chunk in (b"li", b"ne 1\nline", b" 2\n", b"line 3"):
        buf.feed(chunk)
    assert buf.drain() == ["line 1", "line 2"]
    buf.finish()
    assert buf.drain() == ["line 3"]
    assert buf.lines_seen == 3


def test_past_its_bound_the_buffer_keeps_the_oldest_and_newest_and_counts_the_middle() -> None:
    buf = LineBuffer(max_bytes=25)  # 15 bytes of head (3 lines), 10 of tail (2 lines)
    buf.feed(b"".join(f"{c * 4}\n".encode() for c in "abcdefghij"))
    items = buf.drain()
    assert items[:3] == ["aaaa", "bbbb", "cccc"]
    assert isinstance(items[3], Skipped) and items[3].lines == 5
    assert items[4:] == ["iiii", "jjjj"]
    assert buf.lines_skipped == 5 and buf.peak_bytes <= 25
    buf.feed(b"gggg\n")  # drained: room again, after the skip
    assert buf.drain() == ["gggg"]


def test_a_huge_line_without_newline_is_cut_not_held() -> None:
    buf = LineBuffer()
    buf.feed(b"x" * 100_000)
    items = buf.drain()
    assert len(items) == 1 and isinstance(items[0], str) and len(items[0]) == 16 * 1024


def test_feeding_from_threads_loses_no_line() -> None:
    buf = LineBuffer(max_bytes=10**9)

    def feed(tag: int) -> None:
        for i in range(2000):
            buf.feed(f"{tag}-{i}\n".encode())

    threads = [threading.Thread(target=feed, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = buf.drain()
    assert len(lines) == 8000 and buf.lines_seen == 8000
    for tag in range(4):  # each thread's lines in its own order
        mine = [x for x in lines if isinstance(x, str) and x.startswith(f"{tag}-")]
        assert mine == [f"{tag}-{i}" for i in range(2000)]


# --- the thread writer -----------------------------------------------------------------------


class FakeOut:
    """Records posts and edits; refuses the calls it is told to."""

    def __init__(self) -> None:
        self.messages: dict[str, list[str]] = {}
        self.calls: list[tuple[str, str]] = []
        self.refuse: set[str] = set()
        self._n = 0

    @staticmethod
    def _lines(message: dict[str, Any]) -> list[str]:
        text = message["blocks"][0]["text"]["text"]
        return text.removeprefix("```\n").removesuffix("\n```").split("\n")

    async def post_message(self, channel: str, message: dict[str, Any], thread_ts: str | None = None) -> str:
        self.calls.append(("post", ""))
        if "post" in self.refuse:
            raise SlackRefused("ratelimited")
        self._n += 1
        ts = f"{self._n}.0"
        self.messages[ts] = self._lines(message)
        return ts

    async def update_message(self, channel: str, ts: str, message: dict[str, Any]) -> None:
        self.calls.append(("update", ts))
        if "update" in self.refuse:
            raise SlackRefused("ratelimited")
        self.messages[ts] = self._lines(message)

    def shown(self) -> list[str]:
        return [line for ts in sorted(self.messages, key=float) for line in self.messages[ts]]


def writer(out: FakeOut, **kw: Any) -> ThreadWriter:
    return ThreadWriter(out, "C1", "100.0", **kw)  # type: ignore[arg-type]


async def test_batches_fill_the_last_message_then_start_a_new_one() -> None:
    out = FakeOut()
    w = writer(out)
    expected: list[str] = []
    for batch in range(30):
        lines = [f"batch {batch} line {i} " + "x" * 40 for i in range(10)]
        expected += lines
        w.add(list(lines))
        await w.flush()
    assert out.shown() == expected  # in order, none twice
    assert w.shown == 300 and w.skipped == 0
    assert 1 < len(out.messages) < 30  # filled, not one message per batch
    for lines in out.messages.values():
        assert sum(rs.line_units(x) for x in lines) <= rs.CHUNK_ROOM


async def test_a_batch_larger_than_two_messages_is_sampled_head_and_tail() -> None:
    out = FakeOut()
    w = writer(out)
    lines = [f"line {i:05d}" for i in range(5000)]
    w.add(list(lines))
    await w.flush()
    assert len(out.calls) == 1  # one post: there was no last message to edit
    shown = out.shown()
    marker = next(x for x in shown if "skipped" in x)
    at = shown.index(marker)
    assert shown[:at] == lines[:at] and shown[at + 1 :] == lines[len(lines) - len(shown) + at + 1 :]
    skipped = 5000 - (len(shown) - 1)
    assert f"{skipped:,} lines skipped" in marker and w.skipped == skipped


async def test_never_more_than_one_edit_and_one_post_per_flush() -> None:
    out = FakeOut()
    w = writer(out)
    w.add(["first"])
    await w.flush()
    out.calls.clear()
    w.add([f"line {i}" for i in range(10_000)])
    await w.flush()
    assert [kind for kind, _ in out.calls] == ["update", "post"]


async def test_a_refused_post_keeps_its_lines_for_the_next_flush() -> None:
    out = FakeOut()
    w = writer(out)
    out.refuse = {"post"}
    w.add(["a", "b"])
    await w.flush()
    assert out.shown() == [] and not w.idle
    out.refuse = set()
    w.add(["c"])
    await w.flush()
    assert out.shown() == ["a", "b", "c"]


async def test_a_refused_edit_is_tried_again_with_the_whole_text() -> None:
    out = FakeOut()
    w = writer(out)
    w.add(["a"])
    await w.flush()
    out.refuse = {"update"}
    w.add(["b"])
    await w.flush()
    assert out.shown() == ["a"] and not w.idle
    out.refuse = set()
    await w.flush()
    assert out.shown() == ["a", "b"] and w.idle


async def test_lines_are_redacted_before_they_are_shown() -> None:
    out = FakeOut()
    w = writer(out, redact=lambda s: s.replace("hunter2", "[redacted]"))
    w.add(["password=hunter2"])
    await w.flush()
    assert out.shown() == ["password=[redacted]"]


async def test_a_line_that_looks_like_a_skip_note_is_just_a_line() -> None:
    out = FakeOut()
    w = writer(out)
    w.add([rs.skipped_line(999_999)])
    await w.flush()
    assert w.skipped == 0 and w.shown == 1


# --- config, header, clicks, events ------------------------------------------------------------


def test_streams_config_defaults_and_bounds() -> None:
    cfg = parse_config({"streams": {"default_duration": "5m", "max_duration": "2h", "per_user": 3}}).streams
    assert (cfg.default_seconds, cfg.max_seconds, cfg.per_user, cfg.per_channel) == (300, 7200, 3, 4)
    with pytest.raises(ConfigError, match="default_duration must not exceed"):
        parse_config({"streams": {"default_duration": "2h", "max_duration": "1h"}})
    with pytest.raises(ConfigError, match="between 1s and 30s"):
        parse_config({"streams": {"batch_every": "0.2s"}})
    with pytest.raises(ConfigError, match="unknown key"):
        parse_config({"streams": {"per_team": 1}})


def test_the_header_offers_stop_while_live_and_says_why_it_ended() -> None:
    view = rs.StreamView("logs -f web", "local", "U1", 0.0, 75.0, 1234, 5, "local/abc")
    live = rs.header(view)
    assert rs.STOP_ACTION in str(live["blocks"]) and "1m 15s" in str(live["blocks"])
    assert "1,234 lines" in str(live["blocks"]) and "5 skipped" in str(live["blocks"])
    done = rs.header(
        rs.StreamView(
            "logs -f web",
            "local",
            "U1",
            0.0,
            75.0,
            1,
            0,
            "local/abc",
            live=False,
            ended="the container exited with code 3",
            file_offered=True,
        )
    )
    assert rs.STOP_ACTION not in str(done["blocks"]) and rs.FILE_ACTION in str(done["blocks"])
    assert "exited with code 3" in str(done["blocks"])


def test_stream_buttons_become_commands_pinned_to_their_host() -> None:
    assert stream_command_for_click(rs.STOP_ACTION, "prod/abc123") == "-H prod streams stop abc123"
    assert stream_command_for_click(rs.FILE_ACTION, "prod/abc123") == "-H prod streams log abc123"
    assert stream_command_for_click(rs.STOP_ACTION, "prod") is None
    assert stream_command_for_click(rs.STOP_ACTION, "prod/a/b") is None


def test_an_event_is_printed_as_docker_events_prints_it() -> None:
    event = {
        "Type": "container",
        "Action": "die",
        "Actor": {
            "ID": "f" * 64,
            "Attributes": {"name": "web", "image": "busybox", "exitCode": "3", "team": "payments"},
        },
        "timeNano": 1764620465123456700,
    }
    assert event_line(event) == (
        "2025-12-01T20:21:05.1234567Z container die "
        + "f" * 64
        + " (exitCode=3, image=busybox, name=web, team=payments)"
    )
    target = event_target(event)
    assert target is not None and target.name == "web" and dict(target.labels) == {"team": "payments"}
    assert event_target({"Type": "network", "Actor": {"ID": "n1"}}) is None


async def test_no_message_goes_past_a_section_when_the_last_one_has_little_room() -> None:
    out = FakeOut()
    w = writer(out)
    w.add(["x" * 199 for _ in range(14)])  # 2,800 units: the last message has 200 left
    await w.flush()
    w.add(["y" * 199 for _ in range(30)])
    await w.flush()
    for lines in out.messages.values():
        assert sum(rs.line_units(x) for x in lines) <= rs.CHUNK_ROOM


async def test_a_refusal_that_would_come_again_counts_its_lines_as_skipped_once() -> None:
    out = FakeOut()

    class Refusing(FakeOut):
        async def post_message(self, channel: str, message: dict[str, Any], thread_ts: str | None = None) -> str:
            raise SlackRefused("invalid_blocks")

    refusing = Refusing()
    w = writer(refusing)
    w.add(["a", "b", "c"])
    await w.flush()
    assert w.skipped == 3 and w.shown == 0 and w.idle
    await w.flush()
    assert w.skipped == 3
    assert out.calls == []


async def test_lines_count_as_shown_only_once_their_edit_succeeded() -> None:
    out = FakeOut()
    w = writer(out)
    w.add(["a"])
    await w.flush()
    out.refuse = {"update"}
    w.add(["b", "c"])
    await w.flush()
    assert w.shown == 1
    out.refuse = set()
    await w.flush()
    assert w.shown == 3


async def test_only_the_lines_shown_are_redacted() -> None:
    out = FakeOut()
    seen: list[str] = []

    def redact(line: str) -> str:
        seen.append(line)
        return line

    w = writer(out, redact=redact)
    w.add([f"line {i}" for i in range(20_000)])
    await w.flush()
    assert len(seen) <= w.shown + 5  # the sampled-out middle never paid for redaction


def test_url_passwords_are_redacted_where_a_word_starts_and_long_runs_stay_cheap() -> None:
    from bot.core.redact import MASK, Redactor

    r = Redactor()
    assert r.text("db=postgres://app:pw1@db:5432/x") == f"db=postgres://app:{MASK}@db:5432/x"
    assert r.text("a" * 100_000) == "a" * 100_000  # no "://": the URL pattern never runs
    long_word = "b" * 50_000 + " http://u:secret@h"
    assert r.text(long_word).endswith(f"http://u:{MASK}@h")


def test_multiplexed_frames_are_read_whatever_the_split() -> None:
    from bot.engine.follow import demultiplexed

    def frame(stream: int, data: bytes) -> bytes:
        return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data

    wire = frame(1, b"out 1\n") + frame(2, b"err 1\n") + frame(1, b"") + frame(1, b"out 2\n")
    for cut in range(1, len(wire)):
        assert b"".join(demultiplexed([wire[:cut], wire[cut:]])) == b"out 1\nerr 1\nout 2\n"
    assert b"".join(demultiplexed([bytes([b]) for b in wire])) == b"out 1\nerr 1\nout 2\n"


async def test_long_lines_are_sampled_too_not_only_counted() -> None:
    out = FakeOut()
    w = writer(out)
    w.add(["z" * 5000 for _ in range(40)])  # each is cut to nearly a whole message
    await w.flush()
    assert w.shown == 1 and w.skipped == 39
    assert out.shown()[0].startswith("zzz") and "39 lines skipped" in out.shown()[1]
