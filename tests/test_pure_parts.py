"""Unit tests of the pure parts: time values, redaction, rendering, config, metrics."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import parse_config
from bot.core.redact import MASK, Redactor
from bot.core.timeparse import parse_go_duration, parse_timestamp
from bot.errors import ConfigError, ParseError
from bot.ops.metrics import Metrics
from bot.slack import render

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10m", NOW - 600),
        ("1h30m", NOW - 5400),
        ("250ms", NOW - 1),  # docker sends whole seconds (Go's Unix(), rounded down)
        ("1.5h", NOW - 5400),
        ("1700000000", 1_700_000_000.0),
        ("1700000000.5", 1_700_000_000.5),
        ("2026-01-02T13:23:37Z", 1767360217.0),
        ("2026-01-02T13:23:37.123456789Z", 1767360217.123456),
        ("2026-01-02T14:23:37+01:00", 1767360217.0),
        ("2026-01-02", 1767312000.0),
    ],
)
def test_docker_timestamps(value: str, expected: float) -> None:
    assert parse_timestamp(value, NOW) == pytest.approx(expected)


@pytest.mark.parametrize("value", ["yesterday", "10 minutes", "1d", ""])
def test_bad_timestamps(value: str) -> None:
    with pytest.raises(ParseError, match="failed to parse value as time or duration"):
        parse_timestamp(value, NOW)


def test_go_duration() -> None:
    assert parse_go_duration("2h45m30.5s") == pytest.approx(9930.5)
    assert parse_go_duration("-1m") == -60
    assert parse_go_duration("5") is None


def test_redaction_of_env_and_reappearances() -> None:
    r = Redactor.from_env(["API_TOKEN=abcd1234", "DB_PASSWORD=pw-9999", "PATH=/bin", "SHORT_KEY=ab", "EMPTY_SECRET"])
    assert r.env(["API_TOKEN=abcd1234", "PATH=/bin", "EMPTY_SECRET"]) == [
        f"API_TOKEN={MASK}",
        "PATH=/bin",
        "EMPTY_SECRET",
    ]
    assert r.text("connecting with abcd1234 and pw-9999") == f"connecting with {MASK} and {MASK}"
    assert r.text("postgres://app:hunter2@db/app") == f"postgres://app:{MASK}@db/app"
    doc = r.document({"Config": {"Env": ["API_TOKEN=abcd1234"], "Cmd": ["run", "--token", "abcd1234"]}, "Id": "x"})
    assert doc == {"Config": {"Env": [f"API_TOKEN={MASK}"], "Cmd": ["run", "--token", MASK]}, "Id": "x"}


def test_code_block_escapes_and_defuses_fences() -> None:
    assert render.code_block("a < b & c ```") == "```\na &lt; b &amp; c `\u200b``\n```"


def test_inline_reply_fits_block_kit() -> None:
    msg = render.inline_reply(render.Reply("ps", "x" * 2000, share_id="abc"))
    assert msg["response_type"] == "ephemeral"
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in msg["blocks"])
    assert not render.fits_inline("x" * 13000, 12000)


def test_long_output_is_split_between_lines_into_sections() -> None:
    text = "\n".join(f"row {i} " + "<>" * 20 for i in range(200))
    sections = render.output_sections(text)
    assert len(sections) > 1
    assert all(len(s) <= render.SECTION_LIMIT for s in sections)
    bodies = [s.removeprefix("```\n").removesuffix("\n```") for s in sections]
    assert "\n".join(bodies) == render.escape(text)
    one_long_line = "z" * 7000
    assert "".join(s.removeprefix("```\n").removesuffix("\n```") for s in render.output_sections(one_long_line)) == (
        one_long_line
    )


def test_file_reply_preview_is_bounded() -> None:
    output = "\n".join("y" * 500 for _ in range(100))
    msg = render.file_reply(render.Reply("logs x", output), filename="x.log", where="your DM", preview_lines=15)
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in msg["blocks"])
    assert "100 lines" in msg["blocks"][1]["text"]["text"]


def test_config_validation_names_the_key() -> None:
    assert parse_config({"output": {"share_ttl": "10m"}}).output.share_ttl_seconds == 600
    with pytest.raises(ConfigError, match="unknown key 'colour'"):
        parse_config({"colour": 1})
    with pytest.raises(ConfigError, match=r"output\.max_inline_chars"):
        parse_config({"output": {"max_inline_chars": 99999}})
    with pytest.raises(ConfigError, match=r"output\.share_ttl"):
        parse_config({"output": {"share_ttl": "soon"}})


def test_metrics_exposition() -> None:
    m = Metrics()
    m.commands.labels(command="ps", outcome="ok").inc()
    m.command_seconds.labels(command="ps").observe(0.02)
    m.commands.labels(command='evil"\nname', outcome="ok").inc()
    text = m.expose().decode()
    assert 'dockbell_commands_total{command="ps",outcome="ok"} 1.0' in text
    assert 'dockbell_command_seconds_bucket{command="ps",le="0.025"} 1.0' in text
    assert 'dockbell_command_seconds_count{command="ps"} 1.0' in text
    # Label values are escaped: a newline cannot start a forged sample line.
    assert 'command="evil\\"\\nname"' in text


def test_host_tls_settings_follow_docker_s_cert_folder(tmp_path: Path) -> None:
    from bot.engine.gateway import _tls_config
    from bot.engine.hosts import DockerHosts, UnknownHost

    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("x")
    assert _tls_config(False, None) is False
    tls = _tls_config(True, str(tmp_path))
    assert not isinstance(tls, bool)
    assert tls.cert == (str(tmp_path / "cert.pem"), str(tmp_path / "key.pem"))
    assert tls.verify is True and tls.ca_cert == str(tmp_path / "ca.pem")
    config = parse_config({"hosts": {"local": {}, "build": {"url": "tcp://b:2376", "tls_verify": True}}})
    hosts = DockerHosts(config, "unix:///tmp/x.sock")
    assert hosts.url("local") == "unix:///tmp/x.sock" and hosts.url("build") == "tcp://b:2376"
    with pytest.raises(UnknownHost, match="Did you mean `build`"):
        hosts.check("buidl", operator=True)
    # A user's -H names no host, not even a close one (issue 8).
    with pytest.raises(UnknownHost) as unknown:
        hosts.check("buidl")
    assert "build" not in unknown.value.message and "local" not in unknown.value.message
