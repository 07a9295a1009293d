"""``--since``/``--until`` as docker reads them (GetTimestamp), from moby's own tables and the docker CLI.

The tables are moby's api/types/time timestamp_test.go (TestGetTimestamp, TestParseTimestamps)
and rows of Go's time.ParseDuration tests; ``test_matches_the_docker_cli`` asks the real CLI
(``docker logs --since``) which values it takes and how it words a refusal.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from bot.core import gotime
from bot.core.timeparse import parse_go_duration, parse_timestamp
from bot.errors import ParseError

NOW = 1_767_360_217.25  # a UTC clock with a fraction, as a real "now" has

# moby TestGetTimestamp: (value, Unix time, or None for an error); values without a zone in UTC.
GET_TIMESTAMP: list[tuple[str, float | None]] = [
    ("2006-01-02T15:04:05.999999999+07:00", 1136189045.999999999),
    ("2006-01-02T15:04:05.999999999Z", 1136214245.999999999),
    ("2006-01-02T15:04:05.999999999", 1136214245.999999999),
    ("2006-01-02T15:04:05Z", 1136214245.0),
    ("2006-01-02T15:04:05", 1136214245.0),
    ("2006-01-02T15:04:0Z", None),
    ("2006-01-02T15:04:0", None),
    ("2006-01-02T15:04Z", 1136214240.0),
    ("2006-01-02T15:04+00:00", 1136214240.0),
    ("2006-01-02T15:04-00:00", 1136214240.0),
    ("2006-01-02T15:04", 1136214240.0),
    ("2006-01-02T15:0Z", None),
    ("2006-01-02T15:0", None),
    ("2006-01-02T15Z", 1136214000.0),
    ("2006-01-02T15+00:00", 1136214000.0),
    ("2006-01-02T15-00:00", 1136214000.0),
    ("2006-01-02T15", 1136214000.0),
    ("2006-01-02T1Z", 1136163600.0),
    ("2006-01-02T1", 1136163600.0),
    ("2006-01-02TZ", None),
    ("2006-01-02T", None),
    ("2006-01-02+00:00", 1136160000.0),
    ("2006-01-02-00:00", 1136160000.0),
    ("2006-01-02-00:01", 1136160060.0),
    ("2006-01-02Z", 1136160000.0),
    ("2006-01-02", 1136160000.0),
    ("2015-05-13T20:39:09Z", 1431549549.0),
    ("1136073600", 1136073600.0),
    ("1136073600.000000001", 1136073600.000000001),
    ("1m", float(int(NOW) - 60)),
    ("1.5h", float(int(NOW) - 5400)),
    ("1h30m", float(int(NOW) - 5400)),
    ("invalid", None),
    ("", None),
    # beyond moby's table: now, Go's duration range, a comma fraction, year 0
    ("-0", float(int(NOW))),
    ("+0", float(int(NOW))),
    ("0s", float(int(NOW))),
    ("0", 0.0),  # no duration: the Unix time 0
    ("250ms", float(int(NOW))),  # whole seconds, rounded down
    ("-1m", float(int(NOW) + 60)),
    ("2562047h", float(int(NOW) - 2562047 * 3600)),
    ("2562048h", None),
    ("9223372036854775808ns", None),
    ("-9223372036854775808ns", float((int(NOW * 4) * 250_000_000 - 2**63) // 10**9)),  # Go's -d wraps
    ("2006-01-02T15:04:05,5Z", 1136214245.5),
    ("2006-01-02T15:04:05.1234567891Z", 1136214245.123456789),
    ("0000-01-01", -62167219200.0),
    ("2024-02-29", 1709164800.0),
    ("1136073600.5", 1136073600.5),
    ("1136073600.0000000001", 1136073600.0),  # a 10th digit is scaled away
    ("+5", 5.0),
]


@pytest.mark.parametrize(("value", "expected"), GET_TIMESTAMP)
def test_get_timestamp(value: str, expected: float | None) -> None:
    if expected is None:
        with pytest.raises(ParseError):
            parse_timestamp(value, NOW)
    else:
        assert parse_timestamp(value, NOW) == pytest.approx(expected, abs=1e-6)


# docker's words (the CLI wraps them in 'invalid value for "since": ')
ERRORS = [
    ("2006-01-02T15:04:0Z", 'parsing time "2006-01-02T15:04:0Z" as "2006-01-02T15:04:05Z07:00": '
     'cannot parse "0Z" as "05"'),
    ("2006-01-02T15:0", 'parsing time "2006-01-02T15:0" as "2006-01-02T15:04": cannot parse "0" as "04"'),
    ("2006-01-02TZ", 'parsing time "2006-01-02TZ" as "2006-01-02T15Z07:00": cannot parse "Z" as "15"'),
    ("2006-01-02T", 'parsing time "2006-01-02T" as "2006-01-02T15": cannot parse "" as "15"'),
    ("invalid", 'failed to parse value as time or duration: "invalid"'),
    ("2562048h", 'failed to parse value as time or duration: "2562048h"'),
    ("-9999999999h", 'parsing time "-9999999999h" as "2006-01-02": cannot parse "-9999999999h" as "2006"'),
    ("1136073600.bar", 'failed to parse value as time or duration: "1136073600.bar"'),
    ("2006-13-02", 'parsing time "2006-13-02": month out of range'),
    ("2006-02-30", 'parsing time "2006-02-30": day out of range'),
    ("2023-02-29", 'parsing time "2023-02-29": day out of range'),
    ("2006-01-02T25", 'parsing time "2006-01-02T25": hour out of range'),
    ("2006-01-02T15:04:60Z", 'parsing time "2006-01-02T15:04:60Z": second out of range'),
    ("2006-01-02T15:04:05+25:00", 'parsing time "2006-01-02T15:04:05+25:00": time zone offset hour out of range'),
    ("2006-01-02T15:04:05+05:61", 'parsing time "2006-01-02T15:04:05+05:61": time zone offset minute out of range'),
    ("2006-1-02", 'parsing time "2006-1-02" as "2006-01-02": cannot parse "1-02" as "01"'),
    ("2006-01-02T15:04:05.Z", 'parsing time "2006-01-02T15:04:05.Z" as "2006-01-02T15:04:05.999999999Z07:00": '
     'cannot parse ".Z" as "Z07:00"'),
    ("2006-01-02T15:04:05+0700", 'parsing time "2006-01-02T15:04:05+0700" as "2006-01-02T15:04Z07:00": '
     'cannot parse ":05+0700" as "Z07:00"'),
    ("2006-01-02T15:04:05 ", 'parsing time "2006-01-02T15:04:05 ": extra text: " "'),
    ("2006-01-02T15:04:05é", r'parsing time "2006-01-02T15:04:05\xc3\xa9": extra text: "\xc3\xa9"'),
    (" 5m", 'failed to parse value as time or duration: " 5m"'),
    ("1e3", 'failed to parse value as time or duration: "1e3"'),
]  # fmt: skip


@pytest.mark.parametrize(("value", "message"), ERRORS)
def test_errors(value: str, message: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_timestamp(value, NOW)
    assert err.value.message == message
    with pytest.raises(ParseError) as err:
        parse_timestamp(value, NOW, flag="until")
    assert err.value.message == f'invalid value for "until": {message}'


# Go's time_test.go parseDurationTests / parseDurationErrorTests rows
DURATIONS: list[tuple[str, int | None]] = [
    ("0", 0), ("5s", 5 * 10**9), ("30s", 30 * 10**9), ("1478s", 1478 * 10**9), ("-5s", -5 * 10**9),
    ("+5s", 5 * 10**9), ("-0", 0), ("+0", 0), ("5.0s", 5 * 10**9), ("5.6s", 5_600_000_000),
    ("5.s", 5 * 10**9), (".5s", 500_000_000), ("1.0s", 10**9), ("1.00s", 10**9), ("1.004s", 1_004_000_000),
    ("1.0040s", 1_004_000_000), ("100.00100s", 100_001_000_000), ("10ns", 10), ("11us", 11_000),
    ("12µs", 12_000), ("12μs", 12_000), ("13ms", 13_000_000), ("14s", 14 * 10**9), ("15m", 15 * 60 * 10**9),
    ("16h", 16 * 3600 * 10**9), ("3h30m", 12600 * 10**9), ("10.5s4m", 250_500_000_000),
    ("-2m3.4s", -123_400_000_000), ("1h2m3s4ms5us6ns", 3_723_004_005_006), ("39h9m14.425s", 140_954_425_000_000),
    ("52763797000ns", 52_763_797_000), ("0.3333333333333333333h", 20 * 60 * 10**9),
    ("9007199254740993ns", 2**53 + 1), ("9223372036854775807ns", 2**63 - 1), ("9223372036854775.807us", 2**63 - 1),
    ("9223372036s854ms775us807ns", 2**63 - 1), ("-9223372036854775808ns", -(2**63)),
    ("-9223372036854775.808us", -(2**63)), ("-9223372036s854ms775us808ns", -(2**63)),
    ("-2562047h47m16.854775808s", -(2**63)), ("0.100000000000000000000h", 6 * 60 * 10**9),
    ("0.830103483285477580700h", 49 * 60 * 10**9 + 48_372_539_827),
    ("", None), ("3", None), ("-", None), ("s", None), (".", None), ("-.", None), (".s", None), ("+.s", None),
    ("1d", None), ("\x85\x85", None), ("\xffff", None), ("hello \xffff world", None),
    ("9223372036854775810ns", None), ("9223372036854775808ns", None), ("-9223372036854775809ns", None),
    ("9223372036854776us", None), ("3000000h", None), ("9223372036854775.808us", None),
    ("9223372036854ms775us808ns", None),
]  # fmt: skip


@pytest.mark.parametrize(("text", "ns"), DURATIONS)
def test_go_duration(text: str, ns: int | None) -> None:
    if ns is None:
        with pytest.raises(ValueError, match=r"^time: "):
            gotime.parse_duration(text)
        assert parse_go_duration(text) is None
    else:
        assert gotime.parse_duration(text) == ns


def test_duration_error_words() -> None:
    for text, message in [
        ("3", 'time: missing unit in duration "3"'),
        ("1d", 'time: unknown unit "d" in duration "1d"'),
        ("\x85\x85", r'time: invalid duration "\xc2\x85\xc2\x85"'),
        ("3000000h", 'time: invalid duration "3000000h"'),
    ]:
        with pytest.raises(ValueError) as err:
            gotime.parse_duration(text)
        assert str(err.value) == message


CLI_VALUES = [value for value, _ in GET_TIMESTAMP if value] + [value for value, _ in ERRORS]


@pytest.fixture(scope="module")
def probe(docker_api: Any) -> Iterator[str]:
    name = "dockbell-time-probe"
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    create = ["docker", "create", "--name", name, "--label", "dockbell.test=1", "dockbell-test/busybox:latest", "true"]
    made = subprocess.run(create, capture_output=True, text=True, check=False)
    assert made.returncode == 0, made.stderr
    try:
        yield name
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


@pytest.mark.parametrize("value", CLI_VALUES)
def test_matches_the_docker_cli(value: str, probe: str) -> None:
    real = subprocess.run(["docker", "logs", "--since", value, probe], capture_output=True, text=True, timeout=30,
                          check=False)  # fmt: skip
    try:
        parse_timestamp(value, NOW, flag="since")
    except ParseError as err:
        assert real.returncode != 0
        assert real.stderr.splitlines()[0] == err.message
    else:
        assert real.returncode == 0, real.stderr
