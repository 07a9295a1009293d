"""docker's `--since` / `--until` values: durations, RFC 3339 times, dates, Unix timestamps.

The Engine API takes only Unix timestamps, so the CLI converts client-side
(docker/cli's timetypes.GetTimestamp); dockbell does the same, with the bot's
clock as the reference and UTC where the value names no zone.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.errors import ParseError

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"^[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$")
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_NUMERIC = re.compile(r"^\d+(?:\.\d{1,9})?$")
_LAYOUTS = (
    "%Y-%m-%dT%H:%M:%S.%f%z",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M%z",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H%z",
    "%Y-%m-%dT%H",
    "%Y-%m-%d",
)


def parse_go_duration(value: str) -> float | None:
    """Seconds in a Go duration such as ``1h30m`` or ``250ms``; None if it is not one."""
    if not _DURATION.match(value):
        return None
    sign = -1.0 if value.startswith("-") else 1.0
    total = sum(float(num) * _UNITS[unit] for num, unit in _PART.findall(value))
    return sign * total


def _parse_datetime(value: str) -> float | None:
    text = value.replace("Z", "+0000").replace("z", "+0000")
    text = re.sub(r"([+-]\d\d):(\d\d)$", r"\1\2", text)
    # Python's %f takes at most 6 digits; docker prints nanoseconds.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    for layout in _LAYOUTS:
        try:
            parsed = datetime.strptime(text, layout)
        except ValueError:
            continue
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    return None


def parse_timestamp(value: str, now: float) -> float:
    """Unix time for a `--since`/`--until` value, relative durations counted back from ``now``."""
    value = value.strip()
    if value != "0" and (seconds := parse_go_duration(value)) is not None:
        return now - seconds
    if _NUMERIC.match(value):
        return float(value)
    if (ts := _parse_datetime(value)) is not None:
        return ts
    raise ParseError(f'failed to parse value as time or duration: "{value}"')
