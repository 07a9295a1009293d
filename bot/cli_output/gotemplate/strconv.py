"""Go's ``strconv``, as far as templates reach it: quoting, float formatting, literal parsing."""

from __future__ import annotations

import math
import re


def is_print(ch: str) -> bool:
    # Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and ASCII space;
    # Python's isprintable() excludes exactly the other categories (Other, Separator).
    return ch.isprintable()


def _quote_rune_body(ch: str, quote: str, ascii_only: bool = False) -> str:
    cp = ord(ch)
    if ch == quote or ch == "\\":
        return "\\" + ch
    if (cp < 0x80 or not ascii_only) and is_print(ch):
        return ch
    simple = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
    if ch in simple:
        return simple[ch]
    if cp < 0x20 or cp == 0x7F:
        return f"\\x{cp:02x}"
    if 0xD800 <= cp <= 0xDFFF:
        return "\\ufffd"  # a lone surrogate cannot be UTF-8; Go would see the replacement rune
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def go_quote(text: str, *, ascii_only: bool = False) -> str:
    """Go's ``strconv.Quote`` (``%q``): double quotes, Go escapes, printable Unicode kept."""
    return '"' + "".join(_quote_rune_body(ch, '"', ascii_only) for ch in text) + '"'


def quote_rune(cp: int) -> str:
    ch = chr(cp) if 0 <= cp <= 0x10FFFF and not 0xD800 <= cp <= 0xDFFF else "\ufffd"
    return "'" + _quote_rune_body(ch, "'") + "'"


def _shortest_digits(value: float) -> tuple[str, int]:
    """Shortest round-trip digits of abs(value) and its decimal point position (Go's decimalSlice).

    ``value == 0.d1d2...dn * 10**point``; Python's repr and Go's strconv both produce the
    shortest digits that read back as the same float, so the digits agree.
    """
    if value == 0:
        return "", 0
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = whole + frac
    point = len(whole) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    return stripped.rstrip("0"), point


def _fmt_e_digits(digits: str, point: int, neg: bool, upper: bool = False) -> str:
    digits = digits or "0"
    exp = point - 1 if digits != "0" else 0
    body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    sign = "-" if exp < 0 else "+"
    e = "E" if upper else "e"
    return ("-" if neg else "") + f"{body}{e}{sign}{abs(exp):02d}"


def _fmt_f_digits(digits: str, point: int, neg: bool) -> str:
    digits = digits or "0"
    if digits == "0":
        body = "0"
    elif point <= 0:
        body = "0." + "0" * -point + digits
    elif point >= len(digits):
        body = digits + "0" * (point - len(digits))
    else:
        body = digits[:point] + "." + digits[point:]
    return ("-" if neg else "") + body


def nonfinite(value: float, plus: bool) -> str | None:
    if math.isnan(value):
        return "+NaN" if plus else "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return None


def go_float(value: float, verb: str = "g", prec: int = -1) -> str:
    """``strconv.FormatFloat(value, verb, prec, 64)`` for verbs e E f F g G (prec -1 = shortest)."""
    special = nonfinite(value, False)
    if special is not None:
        return special
    neg = math.copysign(1.0, value) < 0
    if prec >= 0:
        if verb in "gG" and prec == 0:
            prec = 1
        return f"{value:.{prec}{verb}}"
    digits, point = _shortest_digits(value)
    if verb in "eE":
        return _fmt_e_digits(digits, point, neg, verb == "E")
    if verb in "fF":
        return _fmt_f_digits(digits, point, neg)
    exp = point - 1 if digits else 0
    if exp < -4 or exp >= 6:  # Go's %v/%g: shortest digits, exponent from 1e+06 on
        return _fmt_e_digits(digits, point, neg, verb == "G")
    return _fmt_f_digits(digits, point, neg)


class ErrSyntax(Exception):
    """Go's ``strconv.ErrSyntax``: not a valid literal (the parser says "invalid syntax")."""


_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


def unquote_char(s: str, quote: str) -> tuple[str, str]:
    """``strconv.UnquoteChar``: the first (possibly escaped) character of s and the rest."""
    if not s or (s[0] == quote and quote in "'\""):
        raise ErrSyntax
    if s[0] != "\\":
        return s[0], s[1:]
    if len(s) < 2:
        raise ErrSyntax
    c, rest = s[1], s[2:]
    if c in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[c], rest
    if c in "xuU":
        n = {"x": 2, "u": 4, "U": 8}[c]
        if len(rest) < n or not all(h in "0123456789abcdefABCDEF" for h in rest[:n]):
            raise ErrSyntax
        value = int(rest[:n], 16)
        if c != "x" and (value > 0x10FFFF or 0xD800 <= value <= 0xDFFF):
            raise ErrSyntax
        return chr(value), rest[n:]
    if "0" <= c <= "7":
        if len(rest) < 2 or not all("0" <= o <= "7" for o in rest[:2]):
            raise ErrSyntax
        value = int(c + rest[:2], 8)
        if value > 255:
            raise ErrSyntax
        return chr(value), rest[2:]
    if c in "'\"" and c == quote:
        return c, rest
    raise ErrSyntax


def unquote(text: str) -> str:
    """``strconv.Unquote`` for "interpreted" and `raw` string literals."""
    if len(text) < 2 or text[0] != text[-1] or text[0] not in '"`':
        raise ErrSyntax
    body = text[1:-1]
    if text[0] == "`":
        if "`" in body:
            raise ErrSyntax
        return body.replace("\r", "")
    if "\n" in body:
        raise ErrSyntax
    out: list[str] = []
    while body:
        ch, body = unquote_char(body, '"')
        out.append(ch)
    return "".join(out)


_DECIMAL_FLOAT = re.compile(r"([0-9]+(_[0-9]+)*)?\.?([0-9]+(_[0-9]+)*)?([eE][+-]?[0-9]+(_[0-9]+)*)?")
_HEX_FLOAT = re.compile(r"0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*[pP][+-]?[0-9]+")
_OCTAL_LEGACY = re.compile(r"[+-]?0[0-7_]+")
_UNDERSCORES_OK = re.compile(r"[+-]?(0[xXoObB]_?)?[0-9a-fA-F]+(_[0-9a-fA-F]+)*")


def parse_int(text: str) -> int | None:
    """``strconv.ParseInt(text, 0, 64)`` without the range check (done by the caller)."""
    if "_" in text and not _UNDERSCORES_OK.fullmatch(text):
        return None
    try:
        if _OCTAL_LEGACY.fullmatch(text):
            return int(text.replace("_", ""), 8)
        return int(text, 0)
    except ValueError:
        return None


def parse_float(text: str) -> float | None:
    """``strconv.ParseFloat(text, 64)``: decimal and hex (``0x1p-2``) forms, finite results only."""
    body = text.lstrip("+-")
    try:
        if body[:2] in ("0x", "0X"):
            if not _HEX_FLOAT.fullmatch(body):
                return None
            value = float.fromhex(text)
        elif _DECIMAL_FLOAT.fullmatch(body) and any("0" <= c <= "9" for c in body):
            value = float(text)
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None
