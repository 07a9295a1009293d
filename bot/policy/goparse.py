"""Values as the docker CLI reads them from flags: sizes, CPUs, durations, IP addresses, domains.

Each function follows the Go code docker runs (go-units ``RAMInBytes``, ``opts.ParseCPUs``,
``time.ParseDuration``, ``net.ParseIP``, ``opts.ValidateDNSSearch``) and raises
:class:`ValueError` with the same words, so that a flag's error reads as docker's does
(``invalid argument "1x" for "-m, --memory" flag: invalid suffix: 'x'``).  Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
import re
from fractions import Fraction

_BINARY = {"k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}
# strconv.ParseFloat's decimal syntax (no underscores without a base prefix, no spaces).
_GO_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
INT64_MAX = 2**63 - 1


def ram_in_bytes(text: str) -> int:
    """go-units RAMInBytes: ``512m``, ``1.5g``, ``64 KiB``; powers of 1024, bytes truncated."""
    sep = max(text.rfind(c) for c in "01234567890. ")
    if sep < 0:
        raise ValueError(f"invalid size: '{text}'")
    if text[sep] != " ":
        num, suffix = text[: sep + 1], text[sep + 1 :]
    else:
        num, suffix = text[:sep], text[sep + 1 :]
    if not _GO_FLOAT.fullmatch(num):
        raise ValueError(f'strconv.ParseFloat: parsing "{num}": invalid syntax')
    size = float(num)
    if size < 0:
        raise ValueError(f"invalid size: '{text}'")
    if not suffix:
        return int(size)
    lower = suffix.lower()
    if len(suffix) > 3 or (lower[0] == "b" and len(lower) > 1):
        raise ValueError(f"invalid suffix: '{lower if len(suffix) <= 3 else suffix}'")
    if lower[0] == "b":
        return int(size)
    if lower[0] not in _BINARY:
        raise ValueError(f"invalid suffix: '{lower}'")
    if (len(lower) == 2 and lower[1] != "b") or (len(lower) == 3 and lower[1:] != "ib"):
        raise ValueError(f"invalid suffix: '{lower}'")
    return int(size * _BINARY[lower[0]])


_RATIONAL = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|\d+/\d+)")


def parse_cpus(text: str) -> int:
    """opts.ParseCPUs: a rational number of CPUs (``1.5``, ``3/2``) as nano-CPUs."""
    if not _RATIONAL.fullmatch(text):
        raise ValueError(f"failed to parse {text} as a rational number")
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"failed to parse {text} as a rational number") from None
    nano = value * 1_000_000_000
    if nano.denominator != 1:
        raise ValueError("value is too precise")
    return int(nano)


_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def go_duration_ns(text: str) -> int:
    """time.ParseDuration, exactly, in nanoseconds: ``1m30s``, ``1.5s``, ``-2h``, ``0``."""
    bad = ValueError(f'time: invalid duration "{text}"')
    body = text
    sign = 1
    if body[:1] in "+-" and body:
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if body == "0":
        return 0
    if not body:
        raise bad
    total = Fraction(0)
    at = 0
    while at < len(body):
        part = _DURATION_PART.match(body, at)
        if part is None:
            if re.match(r"(\d+\.?\d*|\.\d+)", body[at:]):
                raise ValueError(f'time: missing unit in duration "{text}"')
            raise bad
        total += Fraction(part[1]) * _DURATION_UNITS[part[2]]
        at = part.end()
    ns = int(total)  # Go truncates fractions of a nanosecond
    if ns > INT64_MAX:
        raise bad
    return sign * ns


def go_int(text: str, bits: int = 64, *, unsigned: bool = False) -> int:
    """strconv.ParseInt/ParseUint with base 0, as pflag reads int flags: ``010`` is 8, ``0x10`` 16."""
    name = "ParseUint" if unsigned else "ParseInt"
    body = text[1:] if text[:1] in "+-" and not unsigned else text
    negative = text.startswith("-") and not unsigned
    syntax = ValueError(f'strconv.{name}: parsing "{text}": invalid syntax')
    base, digits = 10, body.replace("_", "")
    lowered = body[:2].lower()
    if lowered in ("0x", "0o", "0b"):
        base, digits = {"0x": 16, "0o": 8, "0b": 2}[lowered], body[2:].replace("_", "")
    elif len(body) > 1 and body[0] == "0":
        base, digits = 8, body[1:].replace("_", "")
    if "_" in body and base == 10:
        raise syntax  # underscores only with a base prefix
    if not digits or not digits.isascii() or not digits.isalnum():
        raise syntax
    try:
        value = int(digits, base)
    except ValueError:
        raise syntax from None
    value = -value if negative else value
    low, high = (0, 2**bits - 1) if unsigned else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    if not low <= value <= high:
        raise ValueError(f'strconv.{name}: parsing "{text}": value out of range')
    return value


def go_ip(text: str) -> str | None:
    """net.ParseIP(...).String(): the canonical spelling, or None if it is not an address."""
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address):
        if "%" in text:
            return None  # Go's ParseIP takes no zone
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
    return str(addr)


def validate_ip(text: str) -> str:
    """opts.ValidateIPAddress (used by --dns)."""
    found = go_ip(text.strip())
    if found is None:
        raise ValueError(f"IP address is not correctly formatted: {text}")
    return found


_ALPHA = re.compile(r"[a-zA-Z]")
_DOMAIN = re.compile(
    r"^(:?(:?[a-zA-Z0-9]|(:?[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9]))(:?\.(:?[a-zA-Z0-9]|"
    r"(:?[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])))*)\.?\s*$"
)


def validate_dns_search(text: str) -> str:
    """opts.ValidateDNSSearch: a domain name, or ``.``."""
    value = text.strip(" ")
    if value == ".":
        return value
    found = _DOMAIN.search(value)
    if not _ALPHA.search(value) or found is None or len(found[1]) >= 255:
        raise ValueError(f"{value} is not a valid domain")
    return found[1]


def go_mac(text: str) -> bool:
    """net.ParseMAC for the usual spellings (EUI-48/64 with ``:`` or ``-``, or dotted groups)."""
    value = text.strip()
    six = r"[0-9A-Fa-f]{2}"
    for sep in (":", "-"):
        for count in (6, 8, 20):
            if re.fullmatch(sep.join([six] * count), value):
                return True
    return any(re.fullmatch(r"\.".join([r"[0-9A-Fa-f]{4}"] * count), value) for count in (3, 4, 10))


def go_atoi(text: str) -> int:
    """strconv.Atoi: decimal, optional sign (``010`` is 10, unlike an int flag's base 0)."""
    body = text[1:] if text[:1] in "+-" else text
    if not body or not body.isascii() or not body.isdigit():
        raise ValueError(f'strconv.Atoi: parsing "{text}": invalid syntax')
    value = int(text)
    if not -(2**63) <= value <= INT64_MAX:
        raise ValueError(f'strconv.Atoi: parsing "{text}": value out of range')
    return value
