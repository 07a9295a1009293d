"""Go's ``strconv`` as pflag's integer flags reach it: ``ParseInt``/``ParseUint`` in base 0, ``Quote``.

pflag reads ``--last 010`` with ``strconv.ParseInt(s, 0, 64)``: a ``0x``, ``0o`` or ``0b``
prefix picks the base, a bare leading ``0`` means octal, and underscores may separate
digits.  The error text is Go's ``NumError`` (``strconv.ParseInt: parsing "x": invalid
syntax``), which quotes the input with ``strconv.Quote``; both are reproduced here so a
flag's error reads as docker's does.  Pure, and kept in bot.core because the flag parser
(below bot.policy and beside bot.cli_output) needs it.
"""

from __future__ import annotations

# pflag's integer flag types -> (strconv function, bit size).
GO_INT_TYPES: dict[str, tuple[str, int]] = {
    "int": ("ParseInt", 64),
    "int64": ("ParseInt", 64),
    "int32": ("ParseInt", 32),
    "int16": ("ParseInt", 16),
    "int8": ("ParseInt", 8),
    "uint": ("ParseUint", 64),
    "uint64": ("ParseUint", 64),
    "uint32": ("ParseUint", 32),
    "uint16": ("ParseUint", 16),
    "uint8": ("ParseUint", 8),
}


class NumError(ValueError):
    """Go's ``*strconv.NumError``: ``strconv.<Func>: parsing <quoted input>: <reason>``."""

    def __init__(self, func: str, text: str, reason: str) -> None:
        super().__init__(f"strconv.{func}: parsing {quote(text)}: {reason}")
        self.reason = reason


_SIMPLE = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _quote_char(ch: str, delim: str) -> str:
    if ch in (delim, "\\"):
        return "\\" + ch
    # Go's unicode.IsPrint and Python's isprintable() agree: both exclude the Other and
    # Separator categories except the ASCII space.
    if ch.isprintable():
        return ch
    if ch in _SIMPLE:
        return _SIMPLE[ch]
    cp = ord(ch)
    if cp < 0x20 or cp == 0x7F:
        return f"\\x{cp:02x}"
    if 0xD800 <= cp <= 0xDFFF:
        return "\\ufffd"  # not valid UTF-8: Go sees the replacement rune
    return f"\\u{cp:04x}" if cp < 0x10000 else f"\\U{cp:08x}"


def quote(text: str) -> str:
    """``strconv.Quote`` (what ``%q`` prints for a string)."""
    return '"' + "".join(_quote_char(ch, '"') for ch in text) + '"'


def quote_byte(byte: int) -> str:
    """``%q`` of a single byte taken as a rune, as pflag names a shorthand (``'z'``)."""
    return "'" + _quote_char(chr(byte), "'") + "'"


def _underscore_ok(text: str) -> bool:
    """Go's underscoreOK: ``_`` only between digits, or between a base prefix and a digit."""
    body = text[1:] if text[:1] in "+-" else text
    saw, i, hexa = "^", 0, False
    if len(body) >= 2 and body[0] == "0" and body[1].lower() in "box":
        i, saw, hexa = 2, "0", body[1].lower() == "x"
    for ch in body[i:]:
        if "0" <= ch <= "9" or (hexa and ch.isascii() and "a" <= ch.lower() <= "f"):
            saw = "0"
        elif ch == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
    return saw != "_"


def parse_uint(text: str, bits: int = 64, *, func: str = "ParseUint", shown: str | None = None) -> int:
    """``strconv.ParseUint(text, 0, bits)``; raises :class:`NumError` with Go's words.

    The digits are read one by one as Go reads them, so which error wins on a bad long
    input (``value out of range`` before a later ``invalid syntax``) is Go's too.
    """
    shown = text if shown is None else shown
    if not text:
        raise NumError(func, shown, "invalid syntax")
    base, digits = 10, text
    if text[0] == "0":
        prefix = text[1:2].lower()
        if len(text) >= 3 and prefix in ("b", "o", "x"):
            base, digits = {"b": 2, "o": 8, "x": 16}[prefix], text[2:]
        else:
            base, digits = 8, text[1:]
    limit = (1 << bits) - 1
    value, underscores = 0, False
    for ch in digits:
        if ch == "_":
            underscores = True
            continue
        if "0" <= ch <= "9":
            digit = ord(ch) - ord("0")
        elif ch.isascii() and "a" <= ch.lower() <= "z":
            digit = ord(ch.lower()) - ord("a") + 10
        else:
            raise NumError(func, shown, "invalid syntax")
        if digit >= base:
            raise NumError(func, shown, "invalid syntax")
        value = value * base + digit
        if value > limit:
            raise NumError(func, shown, "value out of range")
    if underscores and not _underscore_ok(text):
        raise NumError(func, shown, "invalid syntax")
    return value


def parse_int(text: str, bits: int = 64) -> int:
    """``strconv.ParseInt(text, 0, bits)``: ``010`` is 8, ``0x10`` 16, ``-0b11`` -3, ``1_000`` 1000."""
    if not text:
        raise NumError("ParseInt", text, "invalid syntax")
    negative = text[0] == "-"
    body = text[1:] if text[0] in "+-" else text
    try:
        magnitude = parse_uint(body, 64, func="ParseInt", shown=text)
    except NumError as err:
        if err.reason != "value out of range":
            raise
        magnitude = 1 << 64  # Go carries on with the clamped value: a range error below
    cutoff = 1 << (bits - 1)
    if (not negative and magnitude >= cutoff) or (negative and magnitude > cutoff):
        raise NumError("ParseInt", text, "value out of range")
    return -magnitude if negative else magnitude


def parse_go_int(text: str, go_type: str = "int") -> int:
    """The integer a pflag flag of ``go_type`` (``int``, ``int64``, ``uint16``...) reads from ``text``."""
    func, bits = GO_INT_TYPES[go_type]
    return parse_int(text, bits) if func == "ParseInt" else parse_uint(text, bits)
