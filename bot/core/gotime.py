"""Go's ``time.ParseDuration`` and ``time.Parse``, for the layouts docker's ``--since``/``--until`` use.

docker's GetTimestamp picks one Go layout from the look of the value and hands it to
``time.Parse``; what it accepts (``2006-01-02T1Z``, a ``,5`` fraction after the seconds)
and how it refuses (``cannot parse "0Z" as "05"``, ``month out of range``, ``extra text``)
is Go's.  This module walks a layout chunk by chunk as Go's parser does, for the chunks
those layouts contain, and keeps Go's error text.  Times come back as Unix nanoseconds
(integers: Go's range, not Python's datetime range, e.g. year 0000 is a date).
"""

from __future__ import annotations

from dataclasses import dataclass

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_UNITS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # U+00B5 micro sign
    "\u03bcs": 1_000,  # U+03BC Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}


def time_quote(text: str) -> str:
    """The time package's own quote: ASCII kept (``"`` and ``\\`` escaped), every other byte as ``\\xNN``."""
    out = ['"']
    for ch in text:
        if ch < " " or ord(ch) >= 0x80:
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
        else:
            out.append("\\" + ch if ch in '"\\' else ch)
    out.append('"')
    return "".join(out)


def _digits(s: str, at: int) -> int:
    """Index past the ASCII digits of ``s`` starting at ``at``."""
    while at < len(s) and "0" <= s[at] <= "9":
        at += 1
    return at


def _duration_part(s: str, invalid: ValueError, text: str) -> tuple[int, str]:
    """One ``<number><unit>`` of a duration, in nanoseconds, and what follows it."""
    if not (s[0] == "." or "0" <= s[0] <= "9"):
        raise invalid
    end = _digits(s, 0)
    whole_text, s = s[:end], s[end:]
    whole = int(whole_text) if whole_text else 0
    if whole > 2**63:  # leadingInt's overflow
        raise invalid
    frac, scale, has_frac = 0, 1, False
    if s[:1] == ".":
        end = _digits(s, 1)
        digits, s = s[1:end], s[end:]
        has_frac = bool(digits)
        for ch in digits:  # leadingFraction: stops adding digits where uint64 would overflow
            if frac > (2**63 - 1) // 10 or frac * 10 + int(ch) > 2**63:
                break
            frac, scale = frac * 10 + int(ch), scale * 10
    if not whole_text and not has_frac:
        raise invalid  # ".s", "-.s"
    end = 0
    while end < len(s) and not (s[end] == "." or "0" <= s[end] <= "9"):
        end += 1
    if end == 0:
        raise ValueError(f"time: missing unit in duration {time_quote(text)}")
    unit = _UNITS.get(s[:end])
    if unit is None:
        raise ValueError(f"time: unknown unit {time_quote(s[:end])} in duration {time_quote(text)}")
    if whole > 2**63 // unit:
        raise invalid
    value = whole * unit
    if frac:
        value += int(float(frac) * (float(unit) / float(scale)))  # Go's float64 step, kept
        if value > 2**63:
            raise invalid
    return value, s[end:]


def parse_duration(text: str) -> int:
    """``time.ParseDuration`` in nanoseconds; raises ValueError with Go's words.

    ``+0``/``-0`` and ``0`` are zero; otherwise every number needs a unit; the sum must fit
    Go's int64 nanoseconds (about 292 years), the negative side one further.
    """
    invalid = ValueError(f"time: invalid duration {time_quote(text)}")
    s = text
    negative = False
    if s[:1] in ("-", "+"):
        negative, s = s[0] == "-", s[1:]
    if s == "0":
        return 0
    if not s:
        raise invalid
    total = 0
    while s:
        value, s = _duration_part(s, invalid, text)
        total += value
        if total > 2**63:
            raise invalid
    if negative:
        return -total
    if total > INT64_MAX:
        raise invalid
    return total


class GoParseError(ValueError):
    """``*time.ParseError``: ``parsing time "v" as "layout": cannot parse "x" as "y"`` or a message."""

    def __init__(self, layout: str, value: str, layout_elem: str, value_elem: str, message: str = "") -> None:
        if message:
            text = f"parsing time {time_quote(value)}{message}"
        else:
            text = (
                f"parsing time {time_quote(value)} as {time_quote(layout)}: "
                f"cannot parse {time_quote(value_elem)} as {time_quote(layout_elem)}"
            )
        super().__init__(text)


# The chunks of the layouts docker uses, as Go's nextStdChunk splits them.
_STD = ("2006", "01", "02", "15", "04", "05", ".999999999", "Z07:00")


def _chunks(layout: str) -> list[tuple[str, str]]:
    """``[(literal prefix, std chunk)]``; the last has an empty std chunk."""
    out: list[tuple[str, str]] = []
    prefix = ""
    i = 0
    while i < len(layout):
        for std in _STD:
            if layout.startswith(std, i):
                out.append((prefix, std))
                prefix = ""
                i += len(std)
                break
        else:
            prefix += layout[i]
            i += 1
    out.append((prefix, ""))
    return out


@dataclass
class _Fields:
    year: int = 0
    month: int = 1
    day: int = 1
    hour: int = 0
    minute: int = 0
    second: int = 0
    nsec: int = 0
    offset: int | None = None  # seconds east of UTC; None: the layout has no zone


def _getnum(s: str, fixed: bool) -> tuple[int, str] | None:
    if not s or not ("0" <= s[0] <= "9"):
        return None
    if len(s) < 2 or not ("0" <= s[1] <= "9"):
        return None if fixed else (int(s[0]), s[1:])
    return int(s[:2]), s[2:]


def _nanoseconds(value: str, nbytes: int) -> int:
    """Go's parseNanoseconds: the digits after ``.``/``,``, at most 9 kept, scaled to ns."""
    return int(value[1 : min(nbytes, 10)].ljust(9, "0"))


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_in(month: int, year: int) -> int:
    if month == 2:
        return 29 if _is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar (any year, as Go's Date)."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


_RANGES = {"01": (1, 12, "month"), "04": (0, 59, "minute"), "05": (0, 59, "second"), "15": (0, 23, "hour")}
_FIELD = {"2006": "year", "01": "month", "02": "day", "15": "hour", "04": "minute", "05": "second"}


class _Parser:
    """One time.Parse run: the value left to read, and the fields read so far."""

    def __init__(self, layout: str, value: str) -> None:
        self.layout, self.value, self.rest = layout, value, value
        self.fields = _Fields()

    def fail(self, layout_elem: str, value_elem: str, message: str = "") -> GoParseError:
        return GoParseError(self.layout, self.value, layout_elem, value_elem, message)

    def literal(self, prefix: str) -> None:
        rest = self.rest
        matched = 0
        while matched < len(prefix) and matched < len(rest) and rest[matched] == prefix[matched]:
            matched += 1
        if matched < len(prefix):
            raise self.fail(prefix, rest[matched:])
        self.rest = rest[len(prefix) :]

    def year(self) -> None:
        p = self.rest[:4]
        if len(p) < 4 or not p.isascii() or not p.isdigit():
            raise self.fail("2006", self.rest)
        self.fields.year, self.rest = int(p), self.rest[4:]

    def number(self, std: str, fraction_follows: bool) -> None:
        got = _getnum(self.rest, fixed=std != "15")
        if got is None:
            raise self.fail(std, self.rest)
        num, self.rest = got
        low, high, what = _RANGES.get(std, (0, 99, ""))
        if not low <= num <= high:
            raise self.fail(std, self.rest, f": {what} out of range")
        setattr(self.fields, _FIELD[std], num)
        rest = self.rest
        # a fraction in the value after the seconds is read even where the layout spells none
        if std == "05" and not fraction_follows and len(rest) >= 2 and rest[0] in ".," and "0" <= rest[1] <= "9":
            end = _digits(rest, 2)
            self.fields.nsec, self.rest = _nanoseconds(rest, end), rest[end:]

    def fraction(self) -> None:
        rest = self.rest
        if len(rest) >= 2 and rest[0] in ".," and "0" <= rest[1] <= "9":  # else: omitted, as Go allows
            end = _digits(rest, 1)
            self.fields.nsec, self.rest = _nanoseconds(rest, end), rest[end:]

    def zone(self) -> None:
        rest = self.rest
        if rest[:1] == "Z":
            self.fields.offset, self.rest = 0, rest[1:]
            return
        if len(rest) < 6 or rest[3] != ":":
            raise self.fail("Z07:00", rest)
        hh = _getnum(rest[1:3], True)
        mm = _getnum(rest[4:6], True) if hh is not None else None
        hours, minutes = hh[0] if hh else 0, mm[0] if mm else 0
        # Go checks the ranges before the digits' and the sign's errors, minutes last
        if minutes > 60 or hours > 24:
            what = "time zone offset minute" if minutes > 60 else "time zone offset hour"
            raise self.fail("Z07:00", rest[6:], f": {what} out of range")
        if hh is None or mm is None or rest[0] not in "+-":
            raise self.fail("Z07:00", rest)
        sign = -1 if rest[0] == "-" else 1
        self.fields.offset, self.rest = sign * (hours * 3600 + minutes * 60), rest[6:]

    def run(self) -> _Fields:
        chunks = _chunks(self.layout)
        for n, (prefix, std) in enumerate(chunks):
            self.literal(prefix)
            if std == "2006":
                self.year()
            elif std == ".999999999":
                self.fraction()
            elif std == "Z07:00":
                self.zone()
            elif std:
                # Go looks at the next chunk past any literal in between
                self.number(std, fraction_follows=n + 1 < len(chunks) and chunks[n + 1][1] == ".999999999")
            elif self.rest:
                raise self.fail("", self.rest, f": extra text: {time_quote(self.rest)}")
        f = self.fields
        if not 1 <= f.day <= _days_in(f.month, f.year):
            raise self.fail("", self.rest, ": day out of range")
        return f


def parse(layout: str, value: str, default_offset: int = 0) -> int:
    """``time.Parse(layout, value)`` (or ParseInLocation with a fixed zone of ``default_offset``
    seconds, for layouts without a zone) as Unix nanoseconds; raises :class:`GoParseError`."""
    f = _Parser(layout, value).run()
    offset = default_offset if f.offset is None else f.offset
    seconds = _days_from_civil(f.year, f.month, f.day) * 86400 + f.hour * 3600 + f.minute * 60 + f.second
    return (seconds - offset) * 1_000_000_000 + f.nsec
