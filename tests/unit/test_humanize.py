"""bot.cli_output.units against docker/go-units' own expectations (duration_test.go, size_test.go)."""

from __future__ import annotations

import pytest

from bot.cli_output.units import bytes_size, human_duration, human_size, time_ago

SECOND = 1
MINUTE = 60
HOUR = 3600
DAY = 24 * HOUR
WEEK = 7 * DAY
MONTH = 30 * DAY
YEAR = 365 * DAY


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0.45, "Less than a second"),
        (-5, "Less than a second"),
        (1 * SECOND, "1 second"),
        (45 * SECOND, "45 seconds"),
        (46 * SECOND, "46 seconds"),
        (59 * SECOND, "59 seconds"),
        (60 * SECOND, "About a minute"),
        (1 * MINUTE, "About a minute"),
        (3 * MINUTE, "3 minutes"),
        (35 * MINUTE, "35 minutes"),
        (35 * MINUTE + 40 * SECOND, "35 minutes"),
        (45 * MINUTE, "45 minutes"),
        (45 * MINUTE + 40 * SECOND, "45 minutes"),
        (46 * MINUTE, "46 minutes"),
        (59 * MINUTE, "59 minutes"),
        (1 * HOUR, "About an hour"),
        (1 * HOUR + 29 * MINUTE, "About an hour"),
        (1 * HOUR + 31 * MINUTE, "2 hours"),
        (1 * HOUR + 59 * MINUTE, "2 hours"),
        (3 * HOUR, "3 hours"),
        (3 * HOUR + 29 * MINUTE, "3 hours"),
        (3 * HOUR + 31 * MINUTE, "4 hours"),
        (3 * HOUR + 59 * MINUTE, "4 hours"),
        (3 * HOUR + 60 * MINUTE, "4 hours"),
        (24 * HOUR, "24 hours"),
        (1 * DAY + 12 * HOUR, "36 hours"),
        (2 * DAY, "2 days"),
        (7 * DAY, "7 days"),
        (13 * DAY + 5 * HOUR, "13 days"),
        (2 * WEEK, "2 weeks"),
        (2 * WEEK + 4 * DAY, "2 weeks"),
        (3 * WEEK, "3 weeks"),
        (4 * WEEK, "4 weeks"),
        (4 * WEEK + 3 * DAY, "4 weeks"),
        (1 * MONTH, "4 weeks"),
        (1 * MONTH + 2 * WEEK, "6 weeks"),
        (2 * MONTH, "2 months"),
        (2 * MONTH + 2 * WEEK, "2 months"),
        (3 * MONTH, "3 months"),
        (3 * MONTH + 1 * WEEK, "3 months"),
        (5 * MONTH + 2 * WEEK, "5 months"),
        (13 * MONTH, "13 months"),
        (23 * MONTH, "23 months"),
        (24 * MONTH, "24 months"),
        (24 * MONTH + 2 * WEEK, "2 years"),
        (3 * YEAR + 2 * MONTH, "3 years"),
    ],
)
def test_human_duration(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


def test_time_ago_is_the_created_column() -> None:
    assert time_ago(1_000, 1_000 + 3 * MINUTE) == "3 minutes ago"
    assert time_ago(1_000, 999) == "Less than a second ago"  # clock skew, as the CLI shows it


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (1000, "1kB"),
        (1024, "1.024kB"),
        (1000000, "1MB"),
        (1048576, "1.049MB"),
        (2 * 1000**2, "2MB"),
        (3.42 * 1000**3, "3.42GB"),
        (5.372 * 1000**4, "5.372TB"),
        (2.22 * 1000**5, "2.22PB"),
        (10000000000000 * 1000**5, "1e+04YB"),
    ],
)
def test_human_size_4_digits(size: float, expected: str) -> None:
    # go-units HumanSize == HumanSizeWithPrecision(size, 4)
    assert human_size(size, 4) == expected


@pytest.mark.parametrize(
    ("size", "expected"),
    [(0, "0B"), (999, "999B"), (1982298, "1.98MB"), (5120, "5.12kB"), (1049, "1.05kB"), (123456789, "123MB")],
)
def test_human_size_as_docker_columns(size: float, expected: str) -> None:
    assert human_size(size) == expected


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (1024, "1KiB"),
        (1024 * 1024, "1MiB"),
        (1048576, "1MiB"),
        (2 * 1024**2, "2MiB"),
        (3.42 * 1024**3, "3.42GiB"),
        (5.372 * 1024**4, "5.372TiB"),
        (2.22 * 1024**5, "2.22PiB"),
        (1024**5 * 1024**5, "1.049e+06YiB"),
        (25276063744, "23.54GiB"),
        (0, "0B"),
    ],
)
def test_bytes_size(size: float, expected: str) -> None:
    assert bytes_size(size) == expected
