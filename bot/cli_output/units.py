"""Human-readable durations and sizes, exactly as docker/go-units prints them.

The docker CLI renders CREATED, SIZE, MEM USAGE... with go-units; users compare
our output with theirs character for character, so the rules below follow
go-units' ``duration.go`` and ``size.go`` literally (truncation, the ``+ 0.5``
rounding of hours, Go's ``%.*g`` formatting) instead of "looking similar".
"""

from __future__ import annotations

import math

_DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
_BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def human_duration(seconds: float) -> str:
    """go-units ``HumanDuration``: "Less than a second", "3 minutes", "About an hour"...

    Each step truncates (Go's ``int(d.Seconds())``) except hours, which go-units
    rounds with ``int(d.Hours() + 0.5)``; 1 h 29 min is still "About an hour".
    """
    # Go's time.Duration is whole nanoseconds; rounding first keeps 59.9999999999 s from
    # becoming "59 seconds" because of float noise in the caller's subtraction.
    nanos = round(seconds * 1e9)
    secs = int(nanos / 1e9)
    if secs < 1:
        return "Less than a second"
    if secs == 1:
        return "1 second"
    if secs < 60:
        return f"{secs} seconds"
    minutes = int(nanos / 6e10)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(nanos / 3.6e12 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(nanos / 3.6e12) // 24 // 365} years"


def time_ago(epoch: float, now: float) -> str:
    """The CLI's CREATED column: ``HumanDuration(now - created) + " ago"`` (client clock)."""
    return human_duration(now - epoch) + " ago"


def _scale(size: float, base: float, units: tuple[str, ...]) -> tuple[float, str]:
    # go-units getSizeAndUnit: divide while >= base, stopping at the last unit.
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return size, units[i]


def go_g(value: float, precision: int) -> str:
    """Go's ``fmt.Sprintf("%.*g", precision, value)``.

    For finite values Python's ``%g`` applies the same rules (exponent when
    exp < -4 or exp >= precision, trailing zeros dropped, two-digit exponent)
    with the same correctly rounded digits; only the non-finite spellings differ.
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.{max(precision, 1)}g}"


def human_size(n: float, precision: int = 3) -> str:
    """go-units ``HumanSizeWithPrecision``: decimal units, "1.98MB", "5.12kB", "0B"."""
    size, unit = _scale(float(n), 1000.0, _DECIMAL_UNITS)
    return go_g(size, precision) + unit


def bytes_size(n: float) -> str:
    """go-units ``BytesSize``: binary units with 4 significant digits, "1.5MiB", "23.54GiB"."""
    size, unit = _scale(float(n), 1024.0, _BINARY_UNITS)
    return go_g(size, 4) + unit


def elapsed(seconds: float) -> str:
    """A running time for people: 42s, 3m 07s, 1h 05m."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"
