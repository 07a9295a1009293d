"""docker's `--since` / `--until` values: durations, RFC 3339 times, dates, Unix timestamps.

The Engine API takes only Unix timestamps, so the client converts first (GetTimestamp in
docker's api/types/time, which the CLI's client calls); dockbell does the same, step by
step as docker does, with the bot's clock as the reference and UTC where the value names no
zone (docker would use the CLI machine's zone; the bot has no user's zone to use).

* A Go duration counts back from now: ``10m``, ``1h30m``, ``-0`` and ``+0`` (now); ``0``
  alone is the Unix time 0.  Past Go's int64 nanoseconds (``2562048h``) it is no duration.
* Otherwise the value's look picks a Go layout: a ``.`` means fractional seconds, a ``T`` a
  time whose colons say how much of it, a ``Z``, ``z``, ``+`` or three dashes a zone
  (``2006-01-02Z``, ``2006-01-02+00:00``, ``2006-01-02-00:01``).  Go's time.Parse errors
  are docker's errors for anything with a dash (``cannot parse "0Z" as "05"``).
* Else it must be a Unix timestamp, ``SECONDS[.NANOS]``.
"""

from __future__ import annotations

import math
from fractions import Fraction

from bot.core import gotime
from bot.core.gostrconv import NumError, quote
from bot.errors import ParseError

_RFC3339 = "2006-01-02T15:04:05Z07:00"
_RFC3339_NANO = "2006-01-02T15:04:05.999999999Z07:00"
_RFC3339_LOCAL = "2006-01-02T15:04:05"
_RFC3339_NANO_LOCAL = "2006-01-02T15:04:05.999999999"
_DATE_WITH_ZONE = "2006-01-02Z07:00"
_DATE_LOCAL = "2006-01-02"


def parse_go_duration(value: str) -> float | None:
    """Seconds in a Go duration such as ``1h30m`` or ``250ms``; None if Go would refuse it."""
    try:
        return gotime.parse_duration(value) / 1e9
    except ValueError:
        return None


def _layout(value: str) -> tuple[str, bool]:
    """The Go layout GetTimestamp picks for ``value``, and whether it has no zone in it."""
    local = not any(c in value for c in "zZ+") and value.count("-") != 3
    if "." in value:
        return (_RFC3339_NANO_LOCAL if local else _RFC3339_NANO), local
    if "T" in value:
        colons = value.count(":")
        if not local and not any(c in value for c in "zZ") and colons > 0:
            colons -= 1  # the zone offset's own colon
        if local:
            return ("2006-01-02T15", "2006-01-02T15:04", _RFC3339_LOCAL)[min(colons, 2)], local
        return ("2006-01-02T15Z07:00", "2006-01-02T15:04Z07:00", _RFC3339)[min(colons, 2)], local
    return (_DATE_LOCAL if local else _DATE_WITH_ZONE), local


def _unix_timestamp(value: str) -> float:
    """docker's parseTimestamp: ``SECONDS[.NANOS]`` with strconv.ParseInt (base 10) for each part."""
    seconds, dot, nanos = value.partition(".")
    try:
        sec = parse_int10(seconds)
        if not dot:
            return float(sec)
        nsec = parse_int10(nanos)
    except NumError:
        raise ParseError(f"failed to parse value as time or duration: {quote(value)}") from None
    # docker scales by the digits typed, in float64, and truncates (a 10th digit is dropped)
    return sec + int(float(nsec) * 10.0 ** (9 - len(nanos))) / 1e9


def parse_int10(text: str) -> int:
    """``strconv.ParseInt(text, 10, 64)``: decimal digits with an optional sign, nothing else."""
    body = text[1:] if text[:1] in "+-" else text
    if not body.isascii() or not body.isdigit():
        raise NumError("ParseInt", text, "invalid syntax")
    value = int(text)
    if not gotime.INT64_MIN <= value <= gotime.INT64_MAX:
        raise NumError("ParseInt", text, "value out of range")
    return value


def parse_timestamp(value: str, now: float, *, flag: str | None = None) -> float:
    """Unix time for a `--since`/`--until` value, relative durations counted back from ``now``.

    ``flag`` ("since", "until") words an error as the docker CLI does:
    ``invalid value for "since": ...``.
    """
    try:
        return _get_timestamp(value, now)
    except ParseError as err:
        if flag is None:
            raise
        raise ParseError(f'invalid value for "{flag}": {err.message}') from None


def _get_timestamp(value: str, now: float) -> float:
    try:
        duration = gotime.parse_duration(value)
    except ValueError:
        duration = None
    if duration is not None and value != "0":
        back = -duration
        if back > gotime.INT64_MAX:  # Go's -d wraps for the most negative duration
            back = gotime.INT64_MIN
        now_ns = math.floor(Fraction(now) * 1_000_000_000)  # exact: now * 1e9 in floats drifts by ~100 ns
        return float((now_ns + back) // 1_000_000_000)  # Go's Unix(): whole seconds, rounded down
    layout, _ = _layout(value)
    try:
        nanos = gotime.parse(layout, value)
    except gotime.GoParseError as err:
        if "-" in value:  # it looked like a date: Go's own words
            raise ParseError(str(err)) from None
        return _unix_timestamp(value)
    return nanos / 1e9
