"""The linear splitter gives shlex.split's words (or its error) for every line, and stays linear."""

from __future__ import annotations

import shlex
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.bootstrap.worker import build_registry
from bot.config import LimitsConfig
from bot.core import dispatch, shellwords
from bot.core.types import Requester
from bot.errors import ParseError
from bot.jobs.runner import CommandRunner, Services
from bot.ops.metrics import Metrics


def shlex_words(line: str) -> tuple[str, object]:
    try:
        return "ok", shlex.split(line, comments=False, posix=True)
    except ValueError as err:
        return "error", str(err)


def our_words(line: str) -> tuple[str, object]:
    try:
        return "ok", shellwords.split(line)
    except ValueError as err:
        return "error", str(err)


TABLE = [
    "",
    "   ",
    "ps",
    "ps -a",
    "  ps \t -a\r\n--format x  ",
    "logs 'my container'",
    'inspect -f "{{.State.Status}}" api',
    "a'b c'd",
    'a"b c"d',
    "''",
    '""',
    "a '' b",
    "x ''",
    "'' ''",
    "\\ ",
    "a\\ b",
    "a\\\\b",
    "a\\'b",
    'a\\"b',
    "a\\",
    "'a\\'",
    "'unclosed",
    '"unclosed',
    '"a\\"b"',
    '"a\\\\b"',
    '"a\\b"',
    '"a\\',
    '"a\\"',
    '"it\'s"',
    "'say \"hi\"'",
    "a\\\nb",
    '"line\none"',
    "tab\there",
    "\x0bvertical\x0ctab",  # not shlex whitespace: part of the word
    "caf\u00e9 \U0001f600 \u200b",
    "{{range 3000}}{{end}}",
    "-f '{{json .}}' a b",
    "`echo hi` $(rm -rf /) ; | & > <",
    "#not-a-comment x",
    "a#b",
]


@pytest.mark.parametrize("line", TABLE)
def test_same_as_shlex(line: str) -> None:
    assert our_words(line) == shlex_words(line)


# Lines built mostly from the characters the grammar cares about, so quotes, escapes and
# blanks meet in every order; plus any text at all.
SPECIAL = st.sampled_from([" ", "\t", "\n", "\r", "'", '"', "\\", "a", "b", "\u00e9", "\U0001f600", "\x0b", "#"])
LINES = st.one_of(st.lists(SPECIAL, max_size=40).map("".join), st.text(max_size=60))


@settings(max_examples=2000, deadline=None)
@given(LINES)
def test_same_as_shlex_generated(line: str) -> None:
    assert our_words(line) == shlex_words(line)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=20), max_size=8))
def test_quoted_words_come_back(words: list[str]) -> None:
    assert shellwords.split(" ".join(shlex.quote(w) for w in words)) == words


def test_dispatch_keeps_shlex_error_wording() -> None:
    for line, said in (("ps 'a", "no closing quotation"), ("ps a\\", "no escaped character")):
        with pytest.raises(ParseError) as err:
            dispatch.tokenize(line)
        assert err.value.message == f"cannot parse command line: {said}"


def test_read_undoes_slack_then_splits() -> None:
    line = dispatch.read("  ps --format \u201c{{.Names}} &amp;&lt;\u201d\u00a0x ")
    assert line.error is None
    assert line.words == ["ps", "--format", "{{.Names}} &<", "x"]
    assert line.shown == "ps --format '{{.Names}} &<' x"
    broken = dispatch.read("logs &quot;web")  # an unclosed quote: echoed as cleaned, not as Slack sent it
    assert broken.error is not None and broken.shown == 'logs "web'


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def respond(self, url: str, message: dict[str, Any]) -> None:
        self.messages.append(message)

    async def record(self, record: object) -> None:
        pass

    async def access_for(self, requester: object, host: str) -> Any:
        return SimpleNamespace(host=host, decisions=[], policy=None, subject=None)


@pytest.mark.parametrize("text", ["ps --no-such-flag 'x y'", "pss", "logs 'unclosed", "ps -n notanumber"])
async def test_runner_splits_a_command_once(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = shellwords.split

    def counting(line: str) -> list[str]:
        calls.append(line)
        return real(line)

    monkeypatch.setattr(shellwords, "split", counting)
    recorder = _Recorder()
    config = SimpleNamespace(host_for_channel=lambda channel: "local", limits=LimitsConfig())
    services = Services(
        registry=build_registry(),
        hosts=SimpleNamespace(served="local"),  # type: ignore[arg-type]
        slack=recorder,  # type: ignore[arg-type]
        shares=None,  # type: ignore[arg-type]
        config=config,  # type: ignore[arg-type]
        metrics=Metrics(),
        gate=recorder,  # type: ignore[arg-type]
        audit=recorder,  # type: ignore[arg-type]
        jobs=None,  # type: ignore[arg-type]
        inbox=None,  # type: ignore[arg-type]
    )
    await CommandRunner(services).handle_command(Requester(user_id="U1", channel_id="C1"), text, "https://hooks/x")
    assert len(calls) == 1
    assert len(recorder.messages) == 1 and ":x:" in recorder.messages[0]["blocks"][1]["text"]["text"]
