"""A Go ``text/template`` interpreter for docker's ``--format`` flag.

Users paste the templates they use with the docker CLI, so this follows Go 1.24's
``text/template`` (lexer, parser and executor ported function by function) with the
functions docker/cli adds (``json split join title lower upper pad truncate``), and
words its errors like Go so people recognise them::

    template: :1:2: executing "" at <.Foo>: can't evaluate field Foo in type *formatter.ContainerContext

**Data model.** Values are plain Python data, read with Go's rules:

* ``dict`` - a Go map decoded from JSON (``map[string]interface {}``): ``{{.Key}}`` looks a
  key up, a missing key prints ``<no value>``, ``range`` visits keys in sorted order;
* ``list``/``tuple`` - a slice; ``str``, ``int``, ``float``, ``bool``, ``complex`` - the basic kinds;
* ``None`` - a JSON ``null`` (a nil ``interface {}``); :data:`GoNil` - a typed nil pointer
  (prints ``<nil>``);
* a **context object** - anything implementing :class:`TemplateContext`, the equivalent of the
  Go structs docker/cli formats (``ContainerContext`` ...).  :class:`GoStruct` implements the
  protocol by reflection: every public method whose name starts with an upper-case letter is a
  template field (``ID()``) or a method with arguments (``Label(name: str)``), exactly as Go's
  reflection exposes exported methods.  ``{{json .}}`` on a context marshals all its zero-argument
  methods, keys sorted, HTML-escaped (docker's ``MarshalJSON``).

``json`` on plain data keeps the dict's key order: the Engine API already sends maps sorted
and structs in declaration order, which is the order Go would print.

**Errors.** Every failure raises :class:`GoTemplateError` (a :class:`bot.errors.TemplateError`);
``parse`` errors read ``template parsing error: template: :1: ...`` like docker's,
execution errors read like Go's (callers add docker's prefix for their command).
Nothing else escapes :func:`parse` or :meth:`Template.execute`, whatever the input.

**Limits.** A chat bot cannot let ``{{range 1000000000}}`` run: output and work are capped
(:data:`MAX_OUTPUT`, :data:`MAX_STEPS`); Go has no such limits.

Known differences: printing a whole context (``{{.}}``) shows its type, not Go's struct dump;
``truncate`` cutting a multi-byte character yields U+FFFD where Go writes the broken bytes;
``printf`` supports flags, width, precision and ``*``, but not explicit argument indexes.
"""

from __future__ import annotations

import enum
import math
import re
import typing
import unicodedata
import urllib.parse
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, NamedTuple, NoReturn, Protocol, runtime_checkable

from bot.errors import TemplateError

__all__ = [
    "DOCKER_FUNCS",
    "HEADER_FUNCS",
    "MAX_OUTPUT",
    "MAX_STEPS",
    "MISSING",
    "GoFunc",
    "GoNil",
    "GoStruct",
    "GoTemplateError",
    "Template",
    "TemplateContext",
    "go_json",
    "go_quote",
    "go_sprint",
    "parse",
]

MAX_OUTPUT = 4_000_000  # characters one execution may produce
MAX_STEPS = 2_000_000  # nodes one execution may evaluate
MAX_DEPTH = 100  # nesting of parentheses, control blocks and {{template}} calls

GoParam = Literal["any", "value", "string", "int", "bool", "[]string"]
"""Parameter types a :class:`GoFunc` may declare (what Go's reflection would check).

``any`` is ``interface {}`` (a missing value arrives as ``None``); ``value`` is a
``reflect.Value`` parameter (a missing value arrives as :data:`MISSING`).
"""


class GoTemplateError(TemplateError):
    """A template that cannot be parsed or executed; ``go_message`` is Go's own error text."""

    def __init__(self, go_message: str, *, parse_error: bool) -> None:
        message = f"template parsing error: {go_message}" if parse_error else go_message
        super().__init__(message)
        self.go_message = go_message
        self.parse_error = parse_error


class _Missing:
    """Go's invalid ``reflect.Value``: a missing map key or a nil interface; prints ``<no value>``."""

    _instance: ClassVar[_Missing | None] = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class GoNil:
    """A typed nil pointer such as docker's ``*formatter.Platform`` when there is none.

    ``fields`` are the struct's field names: reading one is Go's "nil pointer evaluating"
    error, any other name "can't evaluate field".
    """

    go_type: str = "*struct {}"
    fields: frozenset[str] = frozenset()


@dataclass(frozen=True)
class GoFunc:
    """A function (or context method) callable from a template, with its Go signature."""

    impl: Callable[..., object]
    params: tuple[GoParam, ...] = ()
    variadic: GoParam | None = None  # type of the trailing ``...`` parameter, if any


@runtime_checkable
class TemplateContext(Protocol):
    """An object templates see as a Go struct pointer (docker's formatter contexts)."""

    def template_type(self) -> str:
        """The Go type name used in error messages, e.g. ``*formatter.ContainerContext``."""
        ...

    def template_method(self, name: str) -> GoFunc | None:
        """The exported method ``name`` (a field when it takes no argument), or ``None``."""
        ...

    def template_json(self) -> Mapping[str, object]:
        """What ``{{json .}}`` marshals: docker marshals every zero-argument method."""
        ...


_PY_PARAMS: dict[object, GoParam] = {str: "string", int: "int", bool: "bool", object: "any", Any: "any"}


class GoStruct:
    """Base class exposing upper-case public methods as template fields, like Go's reflection.

    Subclasses set ``go_type`` and define methods such as ``def ID(self) -> str`` or
    ``def Label(self, name: str) -> str``; parameter annotations give the Go types.
    """

    go_type: ClassVar[str] = "*struct {}"
    _method_cache: ClassVar[dict[type, dict[str, tuple[GoParam, ...]]]] = {}

    @classmethod
    def _exported(cls) -> dict[str, tuple[GoParam, ...]]:
        cached = GoStruct._method_cache.get(cls)
        if cached is None:
            cached = {}
            for name in dir(cls):
                attr = getattr(cls, name)
                if name[:1].isupper() and callable(attr):
                    hints = typing.get_type_hints(attr)
                    hints.pop("return", None)
                    cached[name] = tuple(_PY_PARAMS.get(t, "any") for t in hints.values())
            GoStruct._method_cache[cls] = cached
        return cached

    def template_type(self) -> str:
        return self.go_type

    def template_method(self, name: str) -> GoFunc | None:
        params = self._exported().get(name)
        if params is None:
            return None
        return GoFunc(getattr(self, name), params)

    def template_json(self) -> Mapping[str, object]:
        methods = self._exported()
        return {name: getattr(self, name)() for name in sorted(methods) if not methods[name]}


# =====================================================================================
# Go's fmt and strconv, as far as templates can reach them
# =====================================================================================


def _is_print(ch: str) -> bool:
    # Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and ASCII space;
    # Python's isprintable() excludes exactly the other categories (Other, Separator).
    return ch.isprintable()


def _quote_rune_body(ch: str, quote: str, ascii_only: bool = False) -> str:
    cp = ord(ch)
    if ch == quote or ch == "\\":
        return "\\" + ch
    if (cp < 0x80 or not ascii_only) and _is_print(ch):
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


def _quote_rune(cp: int) -> str:
    ch = chr(cp) if 0 <= cp <= 0x10FFFF and not 0xD800 <= cp <= 0xDFFF else "\ufffd"
    return "'" + _quote_rune_body(ch, "'") + "'"


def _go_U(ch: str) -> str:
    """``%#U``: ``U+007D '}'``."""
    text = f"U+{ord(ch):04X}"
    return f"{text} '{ch}'" if _is_print(ch) else text


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


def _nonfinite(value: float, plus: bool) -> str | None:
    if math.isnan(value):
        return "+NaN" if plus else "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return None


def go_float(value: float, verb: str = "g", prec: int = -1) -> str:
    """``strconv.FormatFloat(value, verb, prec, 64)`` for verbs e E f F g G (prec -1 = shortest)."""
    special = _nonfinite(value, False)
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


def _type_name(value: object) -> str:
    """The Go type of a value, as Go's error messages and ``%T`` spell it."""
    if value is None or value is MISSING:
        return "interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, complex):
        return "complex128"
    if isinstance(value, str):
        return "string"
    if isinstance(value, GoNil):
        return value.go_type
    if isinstance(value, TemplateContext):
        return value.template_type()
    if isinstance(value, Mapping):
        if all(isinstance(v, str) for v in value.values()) and value:
            return "map[string]string"
        return "map[string]interface {}"
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, str) for v in value):
            return "[]string"
        return "[]interface {}"
    return type(value).__name__


def _sorted_items(mapping: Mapping[Any, object]) -> list[tuple[Any, object]]:
    # Go's fmt and range sort map keys (fmtsort); our keys are strings, but never crash.
    return sorted(mapping.items(), key=lambda kv: (type(kv[0]).__name__, str(kv[0])))


def _sprint_value(value: object) -> str:
    """``fmt.Sprint(value)`` (the ``%v`` verb)."""
    if value is None or isinstance(value, GoNil):
        return "<nil>"
    if value is MISSING:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, complex):
        return f"({go_float(value.real)}{_signed(go_float(value.imag))}i)"
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{_sprint_value(k)}:{_sprint_value(v)}" for k, v in _sorted_items(value)) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(_sprint_value(v) for v in value) + "]"
    if isinstance(value, TemplateContext):
        return "&{" + value.template_type() + "}"
    return str(value)


def _signed(text: str) -> str:
    return text if text.startswith(("-", "+")) else "+" + text


def go_sprint(*args: object) -> str:
    """``fmt.Sprint``: a space between operands when neither is a string."""
    out: list[str] = []
    prev_string = False
    for i, arg in enumerate(args):
        is_string = isinstance(arg, str)
        if i > 0 and not is_string and not prev_string:
            out.append(" ")
        out.append(_sprint_value(arg))
        prev_string = is_string
    return "".join(out)


def go_sprintln(*args: object) -> str:
    return " ".join(_sprint_value(a) for a in args) + "\n"


@dataclass
class _Spec:
    minus: bool = False
    plus: bool = False
    sharp: bool = False
    space: bool = False
    zero: bool = False
    width: int | None = None
    prec: int | None = None


def _pad(text: str, spec: _Spec, *, numeric: bool = False) -> str:
    if spec.width is None or len(text) >= spec.width:
        return text
    fill = spec.width - len(text)
    if spec.minus:
        return text + " " * fill
    if spec.zero and numeric:
        sign = text[0] if text[:1] in ("-", "+", " ") else ""
        return sign + "0" * fill + text[len(sign) :]
    if spec.zero and not numeric:
        return "0" * fill + text
    return " " * fill + text


def _fmt_int(value: int, verb: str, spec: _Spec) -> str | None:
    bases = {"d": 10, "v": 10, "b": 2, "o": 8, "O": 8, "x": 16, "X": 16}
    if verb == "c":
        return _pad(chr(value) if 0 <= value <= 0x10FFFF else "\ufffd", spec)
    if verb == "q":
        return _pad(_quote_rune(value), spec)
    if verb == "U":
        text = f"U+{value:04X}"
        if spec.sharp and 0 <= value <= 0x10FFFF and _is_print(chr(value)):
            text += f" '{chr(value)}'"
        return _pad(text, spec)
    if verb not in bases:
        return None
    digits = format(abs(value), {2: "b", 8: "o", 10: "d", 16: "x"}[bases[verb]])
    if verb == "X":
        digits = digits.upper()
    if spec.prec is not None:
        digits = digits.rjust(spec.prec, "0") if spec.prec else ("" if value == 0 else digits)
    prefix = ""
    if verb == "O" or (spec.sharp and verb == "o" and not digits.startswith("0")):
        prefix = "0o" if verb == "O" else "0"
    elif spec.sharp and verb in "xX":
        prefix = "0" + verb
    elif spec.sharp and verb == "b":
        prefix = "0b"
    sign = "-" if value < 0 else "+" if spec.plus else " " if spec.space else ""
    return _pad(sign + prefix + digits, spec, numeric=spec.prec is None)


def _fmt_float(value: float, verb: str, spec: _Spec) -> str | None:
    if verb not in "vbeEfFgGxX" or verb in "bxX":
        return None
    go_verb = "g" if verb == "v" else verb
    prec = -1 if spec.prec is None and go_verb in "gG" else 6 if spec.prec is None else spec.prec
    text = _nonfinite(value, spec.plus) or go_float(value, go_verb, prec)
    if spec.plus and not text.startswith(("-", "+")):
        text = "+" + text
    elif spec.space and not text.startswith(("-", "+")):
        text = " " + text
    numeric = not math.isinf(value) and not math.isnan(value)
    return _pad(text, spec, numeric=numeric)


def _fmt_str(value: str, verb: str, spec: _Spec) -> str | None:
    if spec.prec is not None:
        value = value[: spec.prec]
    if verb in "vs":
        return _pad(value, spec)
    if verb == "q":
        if spec.sharp and "`" not in value and all(_is_print(c) or c == "\t" for c in value):
            return _pad("`" + value + "`", spec)
        return _pad(go_quote(value, ascii_only=spec.plus), spec)
    if verb in "xX":
        text = value.encode("utf-8", "replace").hex()
        return _pad(text.upper() if verb == "X" else text, spec)
    return None


def _fmt_arg(arg: object, verb: str, spec: _Spec) -> str:
    """``fmt``'s printArg for one operand; wrong verbs give Go's ``%!d(string=x)``."""
    if verb == "T":
        return _pad("<nil>" if arg is None or arg is MISSING else _type_name(arg), spec)
    if arg is None or arg is MISSING:
        return _pad("<nil>", spec) if verb == "v" else f"%!{verb}(<nil>)"
    text: str | None
    if isinstance(arg, bool):
        text = _pad("true" if arg else "false", spec) if verb in "vt" else None
    elif isinstance(arg, int):
        text = _fmt_int(arg, verb, spec)
    elif isinstance(arg, float):
        text = _fmt_float(arg, verb, spec)
    elif isinstance(arg, str):
        text = _fmt_str(arg, verb, spec)
    elif isinstance(arg, Mapping):
        inner = " ".join(f"{_fmt_arg(k, verb, _Spec())}:{_fmt_arg(v, verb, _Spec())}" for k, v in _sorted_items(arg))
        text = _pad(f"map[{inner}]", spec)
    elif isinstance(arg, list | tuple):
        text = _pad("[" + " ".join(_fmt_arg(v, verb, _Spec()) for v in arg) + "]", spec)
    else:
        text = _pad(_sprint_value(arg), spec) if verb in "vs" else None
    if text is None:
        return f"%!{verb}({_type_name(arg)}={_sprint_value(arg)})"
    return text


_FLAG_FIELDS = {"-": "minus", "+": "plus", "#": "sharp", " ": "space", "0": "zero"}


def _parse_number(fmt: str, i: int) -> tuple[int | None, int]:
    start = i
    while i < len(fmt) and fmt[i].isascii() and fmt[i].isdigit():
        i += 1
    return (int(fmt[start:i]) if i > start else None), i


def _star_arg(args: Sequence[object], argnum: int) -> tuple[int | None, int]:
    """A ``*`` width or precision: the next argument, which must be a (reasonable) int."""
    value = args[argnum] if argnum < len(args) else None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) <= 1_000_000:
        return value, argnum + 1
    return None, argnum + 1


def _parse_spec(fmt: str, i: int, args: Sequence[object], argnum: int, out: list[str]) -> tuple[_Spec, int, int]:
    """Flags, width and precision after a ``%``; bad ones are reported in ``out`` like Go."""
    spec = _Spec()
    while i < len(fmt) and fmt[i] in _FLAG_FIELDS:
        setattr(spec, _FLAG_FIELDS[fmt[i]], True)
        i += 1
    if fmt[i : i + 1] == "*":
        spec.width, argnum = _star_arg(args, argnum)
        i += 1
        if spec.width is None:
            out.append("%!(BADWIDTH)")
        elif spec.width < 0:
            spec.minus, spec.width = True, -spec.width
    else:
        spec.width, i = _parse_number(fmt, i)
    if fmt[i : i + 1] == ".":
        i += 1
        if fmt[i : i + 1] == "*":
            spec.prec, argnum = _star_arg(args, argnum)
            i += 1
            if spec.prec is None:
                out.append("%!(BADPREC)")
            elif spec.prec < 0:
                spec.prec = None
        else:
            spec.prec, i = _parse_number(fmt, i)
            spec.prec = spec.prec or 0
    if (spec.width or 0) > 1_000_000 or (spec.prec or 0) > 1_000_000:
        out.append("%!(BADWIDTH)")  # Go refuses sizes over 1e6 as well
        spec.width = spec.prec = None
    return spec, i, argnum


def go_sprintf(fmt: str, *args: object) -> str:
    """``fmt.Sprintf`` for the verbs templates use, with Go's ``%!verb(...)`` diagnostics."""
    out: list[str] = []
    argnum = 0
    i = 0
    while i < len(fmt):
        pct = fmt.find("%", i)
        if pct < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:pct])
        spec, i, argnum = _parse_spec(fmt, pct + 1, args, argnum, out)
        if i >= len(fmt):
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
        elif argnum >= len(args):
            out.append(f"%!{verb}(MISSING)")
        else:
            out.append(_fmt_arg(args[argnum], verb, spec))
            argnum += 1
    if argnum < len(args):
        extra = ", ".join("<nil>" if a is None else f"{_type_name(a)}={_sprint_value(a)}" for a in args[argnum:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


# =====================================================================================
# encoding/json, as docker's {{json}} function calls it
# =====================================================================================


class _JSONError(Exception):
    pass


def _json_string(text: str, escape_html: bool) -> str:
    out = ['"']
    for ch in text:
        cp = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\b\f\n\r\t":
            out.append({"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif cp < 0x20 or (escape_html and ch in "<>&") or cp in (0x2028, 0x2029):
            out.append(f"\\u{cp:04x}")
        elif 0xD800 <= cp <= 0xDFFF:
            out.append("\\ufffd")  # invalid UTF-8 becomes the replacement character in Go
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _json_float(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        raise _JSONError(f"json: unsupported value: {go_float(value)}")
    if value != 0 and (abs(value) < 1e-6 or abs(value) >= 1e21):
        text = go_float(value, "e")
        # Go's encoder writes e-7, not e-07 (ES6 number formatting).
        return re.sub(r"e-0(\d)$", r"e-\1", text)
    return go_float(value, "f")


def _json(value: object, escape_html: bool) -> str:
    if value is None or value is MISSING or isinstance(value, GoNil):
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _json_float(value)
    if isinstance(value, str):
        return _json_string(value, escape_html)
    if isinstance(value, TemplateContext) and not isinstance(value, Mapping):
        # docker's contexts implement MarshalJSON with json.Marshal, which escapes HTML.
        return _json(dict(sorted(value.template_json().items())), True)
    if isinstance(value, Mapping):
        items = [f"{_json_string(str(k), escape_html)}:{_json(v, escape_html)}" for k, v in value.items()]
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_json(v, escape_html) for v in value) + "]"
    raise _JSONError(f"json: unsupported type: {_type_name(value)}")


def go_json(value: object, *, escape_html: bool = False) -> str:
    """docker's ``json`` template function: compact JSON, ``""`` when Go's encoder would fail."""
    try:
        return _json(value, escape_html)
    except _JSONError:
        return ""


# =====================================================================================
# Lexer (text/template/parse/lex.go)
# =====================================================================================


class _T(enum.IntEnum):
    ERROR = enum.auto()
    BOOL = enum.auto()
    CHAR = enum.auto()
    CHAR_CONSTANT = enum.auto()
    COMPLEX = enum.auto()
    ASSIGN = enum.auto()
    DECLARE = enum.auto()
    EOF = enum.auto()
    FIELD = enum.auto()
    IDENTIFIER = enum.auto()
    LEFT_DELIM = enum.auto()
    LEFT_PAREN = enum.auto()
    NUMBER = enum.auto()
    PIPE = enum.auto()
    RAW_STRING = enum.auto()
    RIGHT_DELIM = enum.auto()
    RIGHT_PAREN = enum.auto()
    SPACE = enum.auto()
    STRING = enum.auto()
    TEXT = enum.auto()
    VARIABLE = enum.auto()
    KEYWORD = enum.auto()  # keywords sort after this one
    BLOCK = enum.auto()
    BREAK = enum.auto()
    CONTINUE = enum.auto()
    DOT = enum.auto()
    DEFINE = enum.auto()
    ELSE = enum.auto()
    END = enum.auto()
    IF = enum.auto()
    NIL = enum.auto()
    RANGE = enum.auto()
    TEMPLATE = enum.auto()
    WITH = enum.auto()


_KEYWORDS = {
    ".": _T.DOT,
    "block": _T.BLOCK,
    "break": _T.BREAK,
    "continue": _T.CONTINUE,
    "define": _T.DEFINE,
    "else": _T.ELSE,
    "end": _T.END,
    "if": _T.IF,
    "range": _T.RANGE,
    "nil": _T.NIL,
    "template": _T.TEMPLATE,
    "with": _T.WITH,
}

_SPACE_CHARS = " \t\r\n"
_EOF = ""


class _Item(NamedTuple):
    typ: _T
    pos: int  # character offset in the template
    val: str
    line: int

    def __str__(self) -> str:
        if self.typ == _T.EOF:
            return "EOF"
        if self.typ == _T.ERROR:
            return self.val
        if self.typ > _T.KEYWORD:
            return f"<{self.val}>"
        if len(self.val) > 10:
            return go_quote(self.val[:10]) + "..."
        return go_quote(self.val)


def _is_space(ch: str) -> bool:
    return ch != _EOF and ch in _SPACE_CHARS


def _is_alnum(ch: str) -> bool:
    return ch == "_" or ch.isalpha() or (ch != _EOF and unicodedata.category(ch) == "Nd")


def _has_left_trim(text: str, pos: int) -> bool:
    return text[pos : pos + 1] == "-" and _is_space(text[pos + 1 : pos + 2])


def _has_right_trim(text: str, pos: int) -> bool:
    return _is_space(text[pos : pos + 1]) and text[pos + 1 : pos + 2] == "-"


_LexState = Callable[[], "_LexState | None"]


class _Lexer:
    """Go's state-function lexer; runs to completion and returns the item list."""

    def __init__(self, text: str) -> None:
        self.input = text
        self.pos = 0
        self.start = 0
        self.paren_depth = 0
        self.items: list[_Item] = []
        self._newlines = [i for i, ch in enumerate(text) if ch == "\n"]

    def run(self) -> list[_Item]:
        state: _LexState | None = self.lex_text
        while state is not None:
            state = state()
        return self.items

    # -- primitives ------------------------------------------------------------------------

    def line_at(self, pos: int) -> int:
        return 1 + bisect_right(self._newlines, pos - 1)

    def next(self) -> str:
        if self.pos >= len(self.input):
            self.pos = len(self.input) + 1  # remember that EOF was read, for backup()
            return _EOF
        ch = self.input[self.pos]
        self.pos += 1
        return ch

    def backup(self) -> None:
        self.pos -= 1

    def peek(self) -> str:
        ch = self.next()
        self.backup()
        return ch

    def accept(self, valid: str) -> bool:
        ch = self.next()
        if ch != _EOF and ch in valid:
            return True
        self.backup()
        return False

    def accept_run(self, valid: str) -> None:
        while self.accept(valid):
            pass

    def item(self, typ: _T) -> _Item:
        it = _Item(typ, self.start, self.input[self.start : self.pos], self.line_at(self.start))
        self.start = self.pos
        return it

    def emit(self, typ: _T) -> _LexState:
        self.items.append(self.item(typ))
        return self.lex_inside_action

    def ignore(self) -> None:
        self.start = self.pos

    def errorf(self, message: str) -> _LexState | None:
        """Emit an error item and stop lexing (the parser reports it when it gets there)."""
        self.items.append(_Item(_T.ERROR, self.start, message, self.line_at(self.start)))
        return None

    def at_right_delim(self) -> tuple[bool, bool]:
        if _has_right_trim(self.input, self.pos) and self.input.startswith("}}", self.pos + 2):
            return True, True
        return self.input.startswith("}}", self.pos), False

    def at_terminator(self) -> bool:
        ch = self.peek()
        if _is_space(ch) or ch == _EOF or ch in ".,|:)(":
            return True
        return self.input.startswith("}}", self.pos)

    # -- states ----------------------------------------------------------------------------

    def lex_text(self) -> _LexState | None:
        x = self.input.find("{{", self.pos)
        if x >= 0:
            if x > self.pos:
                self.pos = x
                trim = 0
                if _has_left_trim(self.input, x + 2):
                    text = self.input[self.start : self.pos]
                    trim = len(text) - len(text.rstrip(_SPACE_CHARS))
                self.pos -= trim
                it = self.item(_T.TEXT)
                self.pos += trim
                self.ignore()
                if it.val:
                    self.items.append(it)
            return self.lex_left_delim
        self.pos = len(self.input)
        if self.pos > self.start:
            self.items.append(self.item(_T.TEXT))
        self.items.append(self.item(_T.EOF))
        return None

    def lex_left_delim(self) -> _LexState | None:
        self.pos += 2
        after = 2 if _has_left_trim(self.input, self.pos) else 0
        if self.input.startswith("/*", self.pos + after):
            self.pos += after
            self.ignore()
            return self.lex_comment
        it = self.item(_T.LEFT_DELIM)
        self.pos += after
        self.ignore()
        self.paren_depth = 0
        self.items.append(it)
        return self.lex_inside_action

    def lex_comment(self) -> _LexState | None:
        self.pos += 2
        x = self.input.find("*/", self.pos)
        if x < 0:
            return self.errorf("unclosed comment")
        self.pos = x + 2
        delim, trim = self.at_right_delim()
        if not delim:
            return self.errorf("comment ends before closing delimiter")
        self.pos += 4 if trim else 2
        if trim:
            rest = self.input[self.pos :]
            self.pos += len(rest) - len(rest.lstrip(_SPACE_CHARS))
        self.ignore()
        return self.lex_text

    def lex_right_delim(self) -> _LexState | None:
        _, trim = self.at_right_delim()
        if trim:
            self.pos += 2
            self.ignore()
        self.pos += 2
        it = self.item(_T.RIGHT_DELIM)
        if trim:
            rest = self.input[self.pos :]
            self.pos += len(rest) - len(rest.lstrip(_SPACE_CHARS))
            self.ignore()
        self.items.append(it)
        return self.lex_text

    def lex_inside_action(self) -> _LexState | None:  # noqa: C901 - Go's big switch, kept whole
        delim, _ = self.at_right_delim()
        if delim:
            if self.paren_depth == 0:
                return self.lex_right_delim
            return self.errorf("unclosed left paren")
        ch = self.next()
        if ch == _EOF:
            return self.errorf("unclosed action")
        if _is_space(ch):
            self.backup()  # the space may start " -}}"
            return self.lex_space
        simple = {"=": _T.ASSIGN, "|": _T.PIPE}
        if ch in simple:
            return self.emit(simple[ch])
        if ch == ":":
            if self.next() != "=":
                return self.errorf("expected :=")
            return self.emit(_T.DECLARE)
        states: dict[str, _LexState] = {
            '"': self.lex_quote,
            "`": self.lex_raw_quote,
            "$": self.lex_variable,
            "'": self.lex_char,
        }
        if ch in states:
            return states[ch]
        if ch == "." and self.pos < len(self.input) and not "0" <= self.input[self.pos] <= "9":
            return self.lex_field
        if ch in ".+-" or "0" <= ch <= "9":
            self.backup()
            return self.lex_number
        if _is_alnum(ch):
            self.backup()
            return self.lex_identifier
        if ch == "(":
            self.paren_depth += 1
            return self.emit(_T.LEFT_PAREN)
        if ch == ")":
            self.paren_depth -= 1
            if self.paren_depth < 0:
                return self.errorf("unexpected right paren")
            return self.emit(_T.RIGHT_PAREN)
        if ord(ch) < 0x80 and _is_print(ch):
            return self.emit(_T.CHAR)
        return self.errorf(f"unrecognized character in action: {_go_U(ch)}")

    def lex_space(self) -> _LexState | None:
        count = 0
        while _is_space(self.peek()):
            self.next()
            count += 1
        # " -}}" is a trim-marked right delimiter, not a space followed by "-".
        if _has_right_trim(self.input, self.pos - 1) and self.input.startswith("}}", self.pos + 1):
            self.backup()
            if count == 1:
                return self.lex_right_delim
        return self.emit(_T.SPACE)

    def lex_identifier(self) -> _LexState | None:
        while True:
            ch = self.next()
            if _is_alnum(ch):
                continue
            self.backup()
            word = self.input[self.start : self.pos]
            if not self.at_terminator():
                return self.errorf(f"bad character {_go_U(ch)}")
            if word in _KEYWORDS:
                return self.emit(_KEYWORDS[word])
            if word in ("true", "false"):
                return self.emit(_T.BOOL)
            return self.emit(_T.IDENTIFIER)

    def lex_field(self) -> _LexState | None:
        return self.lex_field_or_variable(_T.FIELD)

    def lex_variable(self) -> _LexState | None:
        if self.at_terminator():
            return self.emit(_T.VARIABLE)
        return self.lex_field_or_variable(_T.VARIABLE)

    def lex_field_or_variable(self, typ: _T) -> _LexState | None:
        if self.at_terminator():
            return self.emit(_T.VARIABLE if typ == _T.VARIABLE else _T.DOT)
        while True:
            ch = self.next()
            if not _is_alnum(ch):
                self.backup()
                break
        if not self.at_terminator():
            return self.errorf(f"bad character {_go_U(ch)}")
        return self.emit(typ)

    def _lex_quoted(self, quote: str, typ: _T, what: str) -> _LexState | None:
        while True:
            ch = self.next()
            if ch == "\\":
                ch = self.next()
                if ch not in (_EOF, "\n"):
                    continue
            if ch in (_EOF, "\n"):
                return self.errorf(f"unterminated {what}")
            if ch == quote:
                return self.emit(typ)

    def lex_char(self) -> _LexState | None:
        return self._lex_quoted("'", _T.CHAR_CONSTANT, "character constant")

    def lex_quote(self) -> _LexState | None:
        return self._lex_quoted('"', _T.STRING, "quoted string")

    def lex_raw_quote(self) -> _LexState | None:
        end = self.input.find("`", self.pos)
        if end < 0:
            self.pos = len(self.input)
            return self.errorf("unterminated raw quoted string")
        self.pos = end + 1
        return self.emit(_T.RAW_STRING)

    def scan_number(self) -> bool:
        self.accept("+-")
        digits = "0123456789_"
        if self.accept("0"):
            if self.accept("xX"):
                digits = "0123456789abcdefABCDEF_"
            elif self.accept("oO"):
                digits = "01234567_"
            elif self.accept("bB"):
                digits = "01_"
        self.accept_run(digits)
        if self.accept("."):
            self.accept_run(digits)
        if len(digits) == 11 and self.accept("eE"):
            self.accept("+-")
            self.accept_run("0123456789_")
        if len(digits) == 23 and self.accept("pP"):
            self.accept("+-")
            self.accept_run("0123456789_")
        self.accept("i")
        if _is_alnum(self.peek()):
            self.next()
            return False
        return True

    def lex_number(self) -> _LexState | None:
        if not self.scan_number():
            return self.errorf(f"bad number syntax: {go_quote(self.input[self.start : self.pos])}")
        if self.peek() in ("+", "-"):
            if not self.scan_number() or self.input[self.pos - 1] != "i":
                return self.errorf(f"bad number syntax: {go_quote(self.input[self.start : self.pos])}")
            return self.emit(_T.COMPLEX)
        return self.emit(_T.NUMBER)


# =====================================================================================
# strconv parsing of literals
# =====================================================================================


class _SyntaxError(Exception):
    pass


_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


def _unquote_char(s: str, quote: str) -> tuple[str, str]:
    """``strconv.UnquoteChar``: the first (possibly escaped) character of s and the rest."""
    if not s or (s[0] == quote and quote in "'\""):
        raise _SyntaxError
    if s[0] != "\\":
        return s[0], s[1:]
    if len(s) < 2:
        raise _SyntaxError
    c, rest = s[1], s[2:]
    if c in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[c], rest
    if c in "xuU":
        n = {"x": 2, "u": 4, "U": 8}[c]
        if len(rest) < n or not all(h in "0123456789abcdefABCDEF" for h in rest[:n]):
            raise _SyntaxError
        value = int(rest[:n], 16)
        if c != "x" and (value > 0x10FFFF or 0xD800 <= value <= 0xDFFF):
            raise _SyntaxError
        return chr(value), rest[n:]
    if "0" <= c <= "7":
        if len(rest) < 2 or not all("0" <= o <= "7" for o in rest[:2]):
            raise _SyntaxError
        value = int(c + rest[:2], 8)
        if value > 255:
            raise _SyntaxError
        return chr(value), rest[2:]
    if c in "'\"" and c == quote:
        return c, rest
    raise _SyntaxError


def _unquote(text: str) -> str:
    """``strconv.Unquote`` for "interpreted" and `raw` string literals."""
    if len(text) < 2 or text[0] != text[-1] or text[0] not in '"`':
        raise _SyntaxError
    body = text[1:-1]
    if text[0] == "`":
        if "`" in body:
            raise _SyntaxError
        return body.replace("\r", "")
    if "\n" in body:
        raise _SyntaxError
    out: list[str] = []
    while body:
        ch, body = _unquote_char(body, '"')
        out.append(ch)
    return "".join(out)


_DECIMAL_FLOAT = re.compile(r"([0-9]+(_[0-9]+)*)?\.?([0-9]+(_[0-9]+)*)?([eE][+-]?[0-9]+(_[0-9]+)*)?")
_HEX_FLOAT = re.compile(r"0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*[pP][+-]?[0-9]+")
_OCTAL_LEGACY = re.compile(r"[+-]?0[0-7_]+")
_UNDERSCORES_OK = re.compile(r"[+-]?(0[xXoObB]_?)?[0-9a-fA-F]+(_[0-9a-fA-F]+)*")


def _parse_int(text: str) -> int | None:
    """``strconv.ParseInt(text, 0, 64)`` without the range check (done by the caller)."""
    if "_" in text and not _UNDERSCORES_OK.fullmatch(text):
        return None
    try:
        if _OCTAL_LEGACY.fullmatch(text):
            return int(text.replace("_", ""), 8)
        return int(text, 0)
    except ValueError:
        return None


def _parse_float(text: str) -> float | None:
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


# =====================================================================================
# Parse tree (text/template/parse/node.go)
# =====================================================================================


@dataclass
class _Node:
    pos: int

    def __str__(self) -> str:
        raise NotImplementedError


@dataclass
class _ListNode(_Node):
    nodes: list[_Node] = field(default_factory=list)

    def __str__(self) -> str:
        return "".join(str(n) for n in self.nodes)


@dataclass
class _TextNode(_Node):
    text: str = ""

    def __str__(self) -> str:
        return self.text


@dataclass
class _CommandNode(_Node):
    args: list[_Node] = field(default_factory=list)

    def __str__(self) -> str:
        return " ".join(f"({a})" if isinstance(a, _PipeNode) else str(a) for a in self.args)


@dataclass
class _VariableNode(_Node):
    ident: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return ".".join(self.ident)


@dataclass
class _PipeNode(_Node):
    line: int = 0
    is_assign: bool = False
    decl: list[_VariableNode] = field(default_factory=list)
    cmds: list[_CommandNode] = field(default_factory=list)

    def __str__(self) -> str:
        head = ""
        if self.decl:
            head = ", ".join(str(v) for v in self.decl) + (" = " if self.is_assign else " := ")
        return head + " | ".join(str(c) for c in self.cmds)


@dataclass
class _ActionNode(_Node):
    pipe: _PipeNode = field(default_factory=lambda: _PipeNode(0))

    def __str__(self) -> str:
        return "{{" + str(self.pipe) + "}}"


@dataclass
class _IdentifierNode(_Node):
    ident: str = ""

    def __str__(self) -> str:
        return self.ident


@dataclass
class _DotNode(_Node):
    def __str__(self) -> str:
        return "."


@dataclass
class _NilNode(_Node):
    def __str__(self) -> str:
        return "nil"


@dataclass
class _FieldNode(_Node):
    ident: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "".join("." + i for i in self.ident)


@dataclass
class _ChainNode(_Node):
    node: _Node = field(default_factory=lambda: _DotNode(0))
    fields: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        head = f"({self.node})" if isinstance(self.node, _PipeNode) else str(self.node)
        return head + "".join("." + f for f in self.fields)


@dataclass
class _BoolNode(_Node):
    value: bool = False

    def __str__(self) -> str:
        return "true" if self.value else "false"


@dataclass
class _NumberNode(_Node):
    text: str = ""
    is_int: bool = False
    is_uint: bool = False
    is_float: bool = False
    is_complex: bool = False
    int64: int = 0
    float64: float = 0.0
    complex128: complex = 0j

    def __str__(self) -> str:
        return self.text


@dataclass
class _StringNode(_Node):
    quoted: str = ""
    text: str = ""

    def __str__(self) -> str:
        return self.quoted


@dataclass
class _BranchNode(_Node):
    keyword: str = "if"
    pipe: _PipeNode = field(default_factory=lambda: _PipeNode(0))
    body: _ListNode = field(default_factory=lambda: _ListNode(0))
    else_body: _ListNode | None = None

    def __str__(self) -> str:
        text = f"{{{{{self.keyword} {self.pipe}}}}}{self.body}"
        if self.else_body is not None:
            text += f"{{{{else}}}}{self.else_body}"
        return text + "{{end}}"


@dataclass
class _TemplateNode(_Node):
    name: str = ""
    pipe: _PipeNode | None = None

    def __str__(self) -> str:
        if self.pipe is None:
            return f"{{{{template {go_quote(self.name)}}}}}"
        return f"{{{{template {go_quote(self.name)} {self.pipe}}}}}"


@dataclass
class _BreakNode(_Node):
    def __str__(self) -> str:
        return "{{break}}"


@dataclass
class _ContinueNode(_Node):
    def __str__(self) -> str:
        return "{{continue}}"


@dataclass
class _EndNode(_Node):
    def __str__(self) -> str:
        return "{{end}}"


@dataclass
class _ElseNode(_Node):
    def __str__(self) -> str:
        return "{{else}}"


# =====================================================================================
# Parser (text/template/parse/parse.go)
# =====================================================================================


class _ParseFailure(Exception):
    pass


def _is_empty_tree(node: _Node | None) -> bool:
    if node is None:
        return True
    if isinstance(node, _ListNode):
        return all(_is_empty_tree(n) for n in node.nodes)
    if isinstance(node, _TextNode):
        return not node.text.strip(" \t\r\n\v\f")
    return False


class _Parser:
    """One parse of a template text; named sub-templates (define/block) land in ``trees``."""

    def __init__(self, text: str, funcs: Mapping[str, GoFunc], name: str) -> None:
        self.items = _Lexer(text).run()
        self.funcs = funcs
        self.name = name
        self.idx = 0
        self.furthest = 0
        self.vars: list[str] = ["$"]
        self.range_depth = 0
        self.depth = 0
        self.action_line = 0
        self.trees: dict[str, _ListNode] = {}

    # -- token stream ----------------------------------------------------------------------

    def next(self) -> _Item:
        item = self.items[min(self.idx, len(self.items) - 1)]
        self.idx += 1
        self.furthest = max(self.furthest, self.idx - 1)
        return item

    def backup(self) -> None:
        self.idx -= 1

    def peek(self) -> _Item:
        item = self.next()
        self.backup()
        return item

    def next_non_space(self) -> _Item:
        while True:
            item = self.next()
            if item.typ != _T.SPACE:
                return item

    def peek_non_space(self) -> _Item:
        item = self.next_non_space()
        self.backup()
        return item

    def errorf(self, message: str) -> NoReturn:
        # Go reports the line of the most recently lexed token.
        line = self.items[min(self.furthest, len(self.items) - 1)].line
        raise _ParseFailure(f"template: {self.name}:{line}: {message}")

    def expect(self, expected: _T, context: str) -> _Item:
        token = self.next_non_space()
        if token.typ != expected:
            self.unexpected(token, context)
        return token

    def unexpected(self, token: _Item, context: str) -> NoReturn:
        if token.typ == _T.ERROR:
            extra = ""
            if self.action_line and self.action_line != token.line:
                extra = f" in action started at {self.name}:{self.action_line}"
                if token.val.endswith(" action"):
                    extra = extra[len(" in action") :]
            self.errorf(f"{token.val}{extra}")
        self.errorf(f"unexpected {token} in {context}")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.errorf("max expression depth exceeded")

    # -- top level -------------------------------------------------------------------------

    def parse(self) -> dict[str, _ListNode]:
        root = _ListNode(self.peek().pos)
        while self.peek().typ != _T.EOF:
            if self.peek().typ == _T.LEFT_DELIM:
                mark = self.idx
                self.next()
                if self.next_non_space().typ == _T.DEFINE:
                    self.parse_definition()
                    continue
                self.idx = mark
            node = self.text_or_action()
            if isinstance(node, _EndNode | _ElseNode):
                self.errorf(f"unexpected {node}")
            root.nodes.append(node)
        self.add(self.name, root)
        return self.trees

    def add(self, name: str, root: _ListNode) -> None:
        existing = self.trees.get(name)
        if existing is None or _is_empty_tree(existing):
            self.trees[name] = root
        elif not _is_empty_tree(root):
            self.errorf(f"template: multiple definition of template {go_quote(name)}")

    def _sub_tree(self) -> tuple[_ListNode, _Node]:
        saved = (self.vars, self.range_depth)
        self.vars, self.range_depth = ["$"], 0
        try:
            return self.item_list()
        finally:
            self.vars, self.range_depth = saved

    def parse_definition(self) -> None:
        context = "define clause"
        token = self.next_non_space()
        if token.typ not in (_T.STRING, _T.RAW_STRING):
            self.unexpected(token, context)
        name = self.unquote(token)
        self.expect(_T.RIGHT_DELIM, context)
        body, end = self._sub_tree()
        if not isinstance(end, _EndNode):
            self.errorf(f"unexpected {end} in {context}")
        self.add(name, body)

    def unquote(self, token: _Item) -> str:
        try:
            return _unquote(token.val)
        except _SyntaxError:
            self.errorf("invalid syntax")

    def item_list(self) -> tuple[_ListNode, _Node]:
        body = _ListNode(self.peek_non_space().pos)
        while self.peek_non_space().typ != _T.EOF:
            node = self.text_or_action()
            if isinstance(node, _EndNode | _ElseNode):
                return body, node
            body.nodes.append(node)
        self.errorf("unexpected EOF")

    def text_or_action(self) -> _Node:
        token = self.next_non_space()
        if token.typ == _T.TEXT:
            return _TextNode(token.pos, token.val)
        if token.typ == _T.LEFT_DELIM:
            self.action_line = token.line
            try:
                return self.action()
            finally:
                self.action_line = 0
        self.unexpected(token, "input")

    def action(self) -> _Node:
        token = self.next_non_space()
        controls: dict[_T, Callable[[], _Node]] = {
            _T.BLOCK: self.block_control,
            _T.ELSE: self.else_control,
            _T.END: self.end_control,
            _T.IF: lambda: self.branch_control("if"),
            _T.RANGE: lambda: self.branch_control("range"),
            _T.TEMPLATE: self.template_control,
            _T.WITH: lambda: self.branch_control("with"),
        }
        if token.typ in controls:
            return controls[token.typ]()
        if token.typ in (_T.BREAK, _T.CONTINUE):
            return self.loop_control(token)
        self.backup()
        token = self.peek()
        return _ActionNode(token.pos, self.pipeline("command", _T.RIGHT_DELIM))

    def loop_control(self, keyword: _Item) -> _Node:
        word = "{{" + keyword.val + "}}"
        token = self.next_non_space()
        if token.typ != _T.RIGHT_DELIM:
            self.unexpected(token, word)
        if self.range_depth == 0:
            self.errorf(f"{word} outside {{{{range}}}}")
        return _BreakNode(keyword.pos) if keyword.typ == _T.BREAK else _ContinueNode(keyword.pos)

    # -- pipelines and operands ------------------------------------------------------------

    def pipeline(self, context: str, end: _T) -> _PipeNode:
        token = self.peek_non_space()
        pipe = _PipeNode(token.pos, token.line)
        self.declarations(pipe, context)
        while True:
            token = self.next_non_space()
            if token.typ == end:
                self.check_pipeline(pipe, context)
                return pipe
            if token.typ in (
                _T.BOOL, _T.CHAR_CONSTANT, _T.COMPLEX, _T.DOT, _T.FIELD, _T.IDENTIFIER,
                _T.NUMBER, _T.NIL, _T.RAW_STRING, _T.STRING, _T.VARIABLE, _T.LEFT_PAREN,
            ):  # fmt: skip
                self.backup()
                pipe.cmds.append(self.command())
            else:
                self.unexpected(token, context)

    def declarations(self, pipe: _PipeNode, context: str) -> None:
        while True:
            variable = self.peek_non_space()
            if variable.typ != _T.VARIABLE:
                return
            mark = self.idx
            self.next()
            following = self.peek_non_space()
            if following.typ in (_T.ASSIGN, _T.DECLARE):
                pipe.is_assign = following.typ == _T.ASSIGN
                self.next_non_space()
                pipe.decl.append(_VariableNode(variable.pos, [variable.val]))
                self.vars.append(variable.val)
                return
            if following.typ == _T.CHAR and following.val == ",":
                self.next_non_space()
                pipe.decl.append(_VariableNode(variable.pos, [variable.val]))
                self.vars.append(variable.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().typ in (_T.VARIABLE, _T.RIGHT_DELIM, _T.RIGHT_PAREN):
                        continue  # the second variable of "range $i, $e :="
                    self.errorf("range can only initialize variables")
                self.errorf(f"too many declarations in {context}")
            self.idx = mark  # "$x" is an operand, not a declaration
            return

    def check_pipeline(self, pipe: _PipeNode, context: str) -> None:
        if not pipe.cmds:
            self.errorf(f"missing value for {context}")
        for i, cmd in enumerate(pipe.cmds[1:]):
            if isinstance(cmd.args[0], _BoolNode | _DotNode | _NilNode | _NumberNode | _StringNode):
                self.errorf(f"non executable command in pipeline stage {i + 2}")

    def command(self) -> _CommandNode:
        cmd = _CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            token = self.next()
            if token.typ == _T.SPACE:
                continue
            if token.typ in (_T.RIGHT_DELIM, _T.RIGHT_PAREN):
                self.backup()
            elif token.typ != _T.PIPE:
                self.unexpected(token, "operand")
            break
        if not cmd.args:
            self.errorf("empty command")
        return cmd

    def operand(self) -> _Node | None:
        node = self.term()
        if node is None or self.peek().typ != _T.FIELD:
            return node
        chain = _ChainNode(self.peek().pos, node)
        while self.peek().typ == _T.FIELD:
            chain.fields.append(self.next().val[1:])
        # Like Go: extend fields and variables in place (taking the chain's position).
        if isinstance(node, _FieldNode):
            return _FieldNode(chain.pos, node.ident + chain.fields)
        if isinstance(node, _VariableNode):
            return _VariableNode(chain.pos, node.ident + chain.fields)
        if isinstance(node, _BoolNode | _StringNode | _NumberNode | _NilNode | _DotNode):
            self.errorf(f"unexpected . after term {go_quote(str(node))}")
        return chain

    def term(self) -> _Node | None:
        token = self.next_non_space()
        typ = token.typ
        if typ == _T.IDENTIFIER:
            if token.val not in self.funcs:
                self.errorf(f"function {go_quote(token.val)} not defined")
            return _IdentifierNode(token.pos, token.val)
        if typ == _T.DOT:
            return _DotNode(token.pos)
        if typ == _T.NIL:
            return _NilNode(token.pos)
        if typ == _T.VARIABLE:
            if token.val not in self.vars:
                self.errorf(f"undefined variable {go_quote(token.val)}")
            return _VariableNode(token.pos, [token.val])
        if typ == _T.FIELD:
            return _FieldNode(token.pos, [token.val[1:]])
        if typ == _T.BOOL:
            return _BoolNode(token.pos, token.val == "true")
        if typ in (_T.CHAR_CONSTANT, _T.COMPLEX, _T.NUMBER):
            return self.number(token)
        if typ == _T.LEFT_PAREN:
            self.enter()
            try:
                return self.pipeline("parenthesized pipeline", _T.RIGHT_PAREN)
            finally:
                self.depth -= 1
        if typ in (_T.STRING, _T.RAW_STRING):
            return _StringNode(token.pos, token.val, self.unquote(token))
        self.backup()
        return None

    def number(self, token: _Item) -> _NumberNode:
        try:
            return _new_number(token)
        except _NumberError as exc:
            self.errorf(str(exc))

    # -- control structures ----------------------------------------------------------------

    def branch_control(self, keyword: str) -> _Node:
        saved_vars = len(self.vars)
        self.enter()
        try:
            pipe = self.pipeline(keyword, _T.RIGHT_DELIM)
            if keyword == "range":
                self.range_depth += 1
            body, nxt = self.item_list()
            if keyword == "range":
                self.range_depth -= 1
            else_body: _ListNode | None = None
            if isinstance(nxt, _ElseNode):
                else_body = self.else_branch(keyword, nxt)
            return _BranchNode(pipe.pos, keyword, pipe, body, else_body)
        finally:
            del self.vars[saved_vars:]
            self.depth -= 1

    def else_branch(self, keyword: str, else_node: _Node) -> _ListNode:
        # "{{else if ...}}" / "{{else with ...}}" nest a new branch that owns the final {{end}}.
        follow = {"if": _T.IF, "with": _T.WITH}.get(keyword)
        if follow is not None and self.peek().typ == follow:
            self.next()
            return _ListNode(else_node.pos, [self.branch_control(keyword)])
        else_body, nxt = self.item_list()
        if not isinstance(nxt, _EndNode):
            self.errorf(f"expected end; found {nxt}")
        return else_body

    def else_control(self) -> _Node:
        peeked = self.peek_non_space()
        if peeked.typ in (_T.IF, _T.WITH):
            return _ElseNode(peeked.pos)
        return _ElseNode(self.expect(_T.RIGHT_DELIM, "else").pos)

    def end_control(self) -> _Node:
        return _EndNode(self.expect(_T.RIGHT_DELIM, "end").pos)

    def template_name(self, token: _Item, context: str) -> str:
        if token.typ not in (_T.STRING, _T.RAW_STRING):
            self.unexpected(token, context)
        return self.unquote(token)

    def template_control(self) -> _Node:
        context = "template clause"
        token = self.next_non_space()
        name = self.template_name(token, context)
        pipe = None
        if self.next_non_space().typ != _T.RIGHT_DELIM:
            self.backup()
            pipe = self.pipeline(context, _T.RIGHT_DELIM)
        return _TemplateNode(token.pos, name, pipe)

    def block_control(self) -> _Node:
        context = "block clause"
        token = self.next_non_space()
        name = self.template_name(token, context)
        pipe = self.pipeline(context, _T.RIGHT_DELIM)
        body, end = self._sub_tree()
        if not isinstance(end, _EndNode):
            self.errorf(f"unexpected {end} in {context}")
        self.add(name, body)
        return _TemplateNode(token.pos, name, pipe)


class _NumberError(Exception):
    pass


def _new_number(token: _Item) -> _NumberNode:  # noqa: C901 - parse.newNumber, step by step
    text = token.val
    node = _NumberNode(token.pos, text)
    if token.typ == _T.CHAR_CONSTANT:
        try:
            ch, tail = _unquote_char(text[1:], "'")
        except _SyntaxError:
            raise _NumberError("invalid syntax") from None
        if tail != "'":
            raise _NumberError(f"malformed character constant: {text}")
        node.is_int = node.is_uint = node.is_float = True
        node.int64, node.float64 = ord(ch), float(ord(ch))
        return node
    if token.typ == _T.COMPLEX:
        match = re.fullmatch(r"([+-]?[^+-]+(?:[eEpP][+-]\d+)?)([+-].+)i", text)
        real = _parse_float(match.group(1)) if match else None
        imag = _parse_float(match.group(2)) if match else None
        if real is None or imag is None:
            raise _NumberError(f"illegal number syntax: {go_quote(text)}")
        return _simplify_complex(node, complex(real, imag))
    if text.endswith("i"):
        imag = _parse_float(text[:-1])
        if imag is not None:
            return _simplify_complex(node, complex(0, imag))
    value = _parse_int(text)
    if value is not None and 0 <= value < 1 << 64:
        node.is_uint = True
    if value is not None and -(1 << 63) <= value < 1 << 63:
        node.is_int, node.int64 = True, value
    if node.is_int or node.is_uint:
        node.is_float = True
        node.float64 = float(value) if value is not None else 0.0
        if not node.is_int:
            node.int64 = value if value is not None else 0  # kept for the "overflows int" message
        return node
    fvalue = _parse_float(text)
    if fvalue is not None:
        if not any(c in text for c in ".eEpP"):
            raise _NumberError(f"integer overflow: {go_quote(text)}")
        node.is_float, node.float64 = True, fvalue
        if fvalue.is_integer() and -(2**63) <= fvalue < 2**63:
            node.is_int, node.int64 = True, int(fvalue)
        if fvalue.is_integer() and 0 <= fvalue < 2**64:
            node.is_uint = True
        return node
    raise _NumberError(f"illegal number syntax: {go_quote(text)}")


def _simplify_complex(node: _NumberNode, value: complex) -> _NumberNode:
    node.is_complex, node.complex128 = True, value
    if value.imag == 0:
        node.is_float, node.float64 = True, value.real
        if value.real.is_integer() and -(2**63) <= value.real < 2**63:
            node.is_int, node.int64 = True, int(value.real)
        node.is_uint = value.real.is_integer() and 0 <= value.real < 2**64
    return node


# =====================================================================================
# Execution (text/template/exec.go)
# =====================================================================================


class _ExecFailure(Exception):
    pass


class _FuncError(Exception):
    """Raised by a template function: reported as ``error calling NAME: message``."""


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


_NO_FINAL: Any = object()  # "no value piped in" (Go's missingVal)


def _truth(value: object) -> bool:
    if value is None or value is MISSING or isinstance(value, GoNil):
        return False
    if isinstance(value, bool | int | float | complex):
        return value != 0
    if isinstance(value, str | list | tuple | Mapping):
        return len(value) > 0
    return True  # structs and non-nil pointers


def _dig(value: object) -> object:
    # Go's indirectInterface: a nil interface{} is no value at all.
    return MISSING if value is None else value


@dataclass
class _Budget:
    chars: int = MAX_OUTPUT
    steps: int = MAX_STEPS


def _assignable(value: object, typ: GoParam) -> bool:
    """Would Go accept this value for a parameter of this (non-interface) type?"""
    if typ == "string":
        return isinstance(value, str)
    if typ == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if typ == "bool":
        return isinstance(value, bool)
    return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)  # []string


class _State:
    """One execution: variable stack, current node (for errors), output and budget."""

    def __init__(
        self, text: str, trees: Mapping[str, _ListNode], funcs: Mapping[str, GoFunc], name: str, budget: _Budget
    ) -> None:
        self.text = text
        self.trees = trees
        self.funcs = funcs
        self.parse_name = name  # locations always name the top-level template, as in Go
        self.name = name  # the template executing now ({{template "x"}} changes it)
        self.budget = budget
        self.vars: list[list[Any]] = []
        self.node: _Node | None = None
        self.depth = 0
        self.out: list[str] = []

    # -- bookkeeping -----------------------------------------------------------------------

    def at(self, node: _Node) -> None:
        self.node = node
        self.budget.steps -= 1
        if self.budget.steps < 0:
            self.errorf(f"template too expensive: more than {MAX_STEPS} steps (dockbell's limit)")

    def write(self, text: str) -> None:
        self.budget.chars -= len(text)
        if self.budget.chars < 0:
            self.errorf(f"output longer than {MAX_OUTPUT} characters (dockbell's limit)")
        self.out.append(text)

    def errorf(self, message: str) -> NoReturn:
        if self.node is None:
            raise _ExecFailure(f"template: {self.parse_name}: {message}")
        prefix = self.text[: self.node.pos]
        line = prefix.count("\n") + 1
        column = len(prefix[prefix.rfind("\n") + 1 :].encode("utf-8", "surrogatepass"))
        where = f"{self.parse_name}:{line}:{column}"
        raise _ExecFailure(f'template: {where}: executing "{self.name}" at <{self.node}>: {message}')

    def push(self, name: str, value: object) -> None:
        self.vars.append([name, value])

    def mark(self) -> int:
        return len(self.vars)

    def pop(self, mark: int) -> None:
        del self.vars[mark:]

    def set_var(self, name: str, value: object) -> None:
        for entry in reversed(self.vars):
            if entry[0] == name:
                entry[1] = value
                return
        self.errorf(f"undefined variable: {name}")

    def var_value(self, name: str) -> object:
        for entry in reversed(self.vars):
            if entry[0] == name:
                return entry[1]
        self.errorf(f"undefined variable: {name}")

    # -- walking ---------------------------------------------------------------------------

    def walk(self, dot: object, node: _Node) -> None:
        self.at(node)
        if isinstance(node, _ActionNode):
            value = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:  # declarations print nothing
                self.at(node)
                self.write(_sprint_value(value))
        elif isinstance(node, _ListNode):
            for child in node.nodes:
                self.walk(dot, child)
        elif isinstance(node, _TextNode):
            self.write(node.text)
        elif isinstance(node, _BranchNode):
            if node.keyword == "range":
                self.walk_range(dot, node)
            else:
                self.walk_if_or_with(dot, node)
        elif isinstance(node, _TemplateNode):
            self.walk_template(dot, node)
        elif isinstance(node, _BreakNode):
            raise _Break
        elif isinstance(node, _ContinueNode):
            raise _Continue
        else:
            self.errorf(f"unknown node: {node}")

    def walk_if_or_with(self, dot: object, node: _BranchNode) -> None:
        mark = self.mark()
        try:
            value = self.eval_pipeline(dot, node.pipe)
            if _truth(value):
                self.walk(value if node.keyword == "with" else dot, node.body)
            elif node.else_body is not None:
                self.walk(dot, node.else_body)
        finally:
            self.pop(mark)

    def walk_range(self, dot: object, node: _BranchNode) -> None:
        self.at(node)
        outer = self.mark()
        try:
            value = self.eval_pipeline(dot, node.pipe)
            if not self.range_over(value, node) and node.else_body is not None:
                self.walk(dot, node.else_body)
        except _Break:
            pass
        finally:
            self.pop(outer)

    def _iterations(self, value: object, node: _BranchNode) -> Iterator[tuple[object, object]] | None:
        if isinstance(value, list | tuple):
            return iter(enumerate(value))
        if isinstance(value, Mapping):
            return iter(_sorted_items(value))
        if isinstance(value, int) and not isinstance(value, bool):
            if len(node.pipe.decl) > 1:
                self.errorf(f"can't use {value} to iterate over more than one variable")
            return ((i, i) for i in range(value))
        if value is MISSING or value is None:
            return iter(())
        self.errorf(f"range can't iterate over {_sprint_value(value)}")

    def range_over(self, value: object, node: _BranchNode) -> bool:
        """Run the body once per element; False when there was no element (for {{else}})."""
        iterations = self._iterations(value, node)
        assert iterations is not None
        mark = self.mark()
        ran = False
        decl = node.pipe.decl
        for index, elem in iterations:
            ran = True
            if decl:
                self.vars[-1][1] = elem  # the last declared variable gets the element
            if len(decl) > 1:
                self.vars[-2][1] = index
            try:
                self.walk(elem, node.body)
            except _Continue:
                pass
            finally:
                self.pop(mark)
        return ran

    def walk_template(self, dot: object, node: _TemplateNode) -> None:
        self.at(node)
        tree = self.trees.get(node.name)
        if tree is None:
            self.errorf(f"template {go_quote(node.name)} not defined")
        if self.depth >= MAX_DEPTH:
            self.errorf(f"exceeded maximum template depth ({MAX_DEPTH})")
        new_dot = self.eval_pipeline(dot, node.pipe) if node.pipe is not None else MISSING
        saved = (self.vars, self.name)
        # No dynamic scoping: the called template sees only "$".
        self.vars, self.name = [["$", new_dot]], node.name
        self.depth += 1
        try:
            self.walk(new_dot, tree)
        finally:
            self.vars, self.name = saved
            self.depth -= 1

    # -- evaluation ------------------------------------------------------------------------

    def eval_pipeline(self, dot: object, pipe: _PipeNode) -> object:
        self.at(pipe)
        value: object = _NO_FINAL
        for cmd in pipe.cmds:
            value = _dig(self.eval_command(dot, cmd, value))
        for variable in pipe.decl:
            if pipe.is_assign:
                self.set_var(variable.ident[0], value)
            else:
                self.push(variable.ident[0], value)
        return value

    def not_a_function(self, args: Sequence[_Node], final: object) -> None:
        if len(args) > 1 or final is not _NO_FINAL:
            self.errorf(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot: object, cmd: _CommandNode, final: object) -> object:
        first = cmd.args[0]
        if isinstance(first, _FieldNode):
            self.at(first)
            return self.eval_field_chain(dot, dot, first, first.ident, cmd.args, final)
        if isinstance(first, _ChainNode):
            return self.eval_chain(dot, first, cmd.args, final)
        if isinstance(first, _IdentifierNode):
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if isinstance(first, _PipeNode):
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if isinstance(first, _VariableNode):
            return self.eval_variable(dot, first, cmd.args, final)
        self.at(first)
        self.not_a_function(cmd.args, final)
        if isinstance(first, _BoolNode):
            return first.value
        if isinstance(first, _DotNode):
            return dot
        if isinstance(first, _NilNode):
            self.errorf("nil is not a command")
        if isinstance(first, _NumberNode):
            return self.ideal_constant(first)
        if isinstance(first, _StringNode):
            return first.text
        self.errorf(f"can't evaluate command {go_quote(str(first))}")

    def ideal_constant(self, node: _NumberNode) -> object:
        self.at(node)
        text = node.text
        hex_int = text.lower().lstrip("+-").startswith("0x") and not any(c in text for c in "pP")
        if node.is_complex:
            return node.complex128
        if node.is_float and not hex_int and not text.startswith("'") and any(c in text for c in ".eEpP"):
            return node.float64
        if node.is_int:
            return node.int64
        if node.is_uint:
            self.errorf(f"{text} overflows int")
        return MISSING

    def eval_chain(self, dot: object, chain: _ChainNode, args: Sequence[_Node], final: object) -> object:
        self.at(chain)
        if isinstance(chain.node, _NilNode):
            self.errorf(f"indirection through explicit nil in {chain}")
        receiver = self.eval_arg(dot, "value", chain.node)
        return self.eval_field_chain(dot, receiver, chain, chain.fields, args, final)

    def eval_variable(self, dot: object, node: _VariableNode, args: Sequence[_Node], final: object) -> object:
        self.at(node)
        value = self.var_value(node.ident[0])
        if len(node.ident) == 1:
            self.not_a_function(args, final)
            return value
        return self.eval_field_chain(dot, value, node, node.ident[1:], args, final)

    def eval_field_chain(
        self, dot: object, receiver: object, node: _Node, idents: Sequence[str], args: Sequence[_Node] | None,
        final: object,
    ) -> object:  # fmt: skip
        for name in idents[:-1]:
            receiver = self.eval_field(dot, name, node, None, _NO_FINAL, receiver)
        return self.eval_field(dot, idents[-1], node, args, final, receiver)

    def eval_field(
        self, dot: object, name: str, node: _Node, args: Sequence[_Node] | None, final: object, receiver: object
    ) -> object:
        if receiver is MISSING:
            return MISSING
        if receiver is None:
            self.errorf(f"nil pointer evaluating interface {{}}.{name}")
        if isinstance(receiver, GoNil):
            if name in receiver.fields:
                self.errorf(f"nil pointer evaluating {receiver.go_type}.{name}")
            self.errorf(f"can't evaluate field {name} in type {receiver.go_type}")
        if isinstance(receiver, TemplateContext):
            method = receiver.template_method(name)
            if method is not None:
                return self.eval_call(dot, method, node, name, args, final)
        has_args = (args is not None and len(args) > 1) or final is not _NO_FINAL
        if isinstance(receiver, Mapping):
            if has_args:
                self.errorf(f"{name} is not a method but has arguments")
            return receiver.get(name, MISSING)
        self.errorf(f"can't evaluate field {name} in type {_type_name(receiver)}")

    def eval_function(
        self, dot: object, node: _IdentifierNode, cmd: _Node, args: Sequence[_Node], final: object
    ) -> object:
        self.at(node)
        function = self.funcs.get(node.ident)
        if function is None:
            self.errorf(f"{go_quote(node.ident)} is not a defined function")
        if function.impl is _and_or:
            return self.eval_and_or(dot, node.ident, args, final)
        if function.impl is _call:
            return self.eval_call(dot, function, cmd, node.ident, args, final, callee=True)
        return self.eval_call(dot, function, cmd, node.ident, args, final)

    def _check_arity(self, function: GoFunc, name: str, nargs: int, final: object) -> None:
        num_in = nargs + (final is not _NO_FINAL)
        want = len(function.params)
        if function.variadic is not None:
            if num_in < want:
                self.errorf(f"wrong number of args for {name}: want at least {want} got {nargs}")
        elif num_in != want:
            self.errorf(f"wrong number of args for {name}: want {want} got {num_in}")

    def eval_and_or(self, dot: object, name: str, args: Sequence[_Node], final: object) -> object:
        arguments = list(args[1:])
        self._check_arity(_AND_OR, name, len(arguments), final)
        value: object = MISSING
        for arg in arguments:
            value = self.eval_arg(dot, "value", arg)
            if _truth(value) == (name == "or"):
                return value  # short-circuit: the rest is never evaluated
        if final is not _NO_FINAL:
            value = final
        return value

    def eval_call(
        self, dot: object, function: GoFunc, node: _Node, name: str, args: Sequence[_Node] | None,
        final: object, *, callee: bool = False,
    ) -> object:  # fmt: skip
        arg_nodes = list(args[1:]) if args is not None else []
        self._check_arity(function, name, len(arg_nodes), final)
        params = function.params
        argv: list[object] = []
        for i, arg in enumerate(arg_nodes):
            argv.append(self.eval_arg(dot, params[i] if i < len(params) else function.variadic or "any", arg))
        if final is not _NO_FINAL:
            last = params[len(arg_nodes)] if len(arg_nodes) < len(params) else function.variadic or "any"
            argv.append(self.validate(final, last))
        if callee:
            argv.insert(0, str(arg_nodes[0]) if arg_nodes else _sprint_value(final))
        try:
            return function.impl(*argv)
        except _FuncError as exc:
            self.at(node)
            self.errorf(f"error calling {name}: {exc}")

    def validate(self, value: object, typ: GoParam) -> object:
        """Go's validateType: may the value be passed as a parameter of this type?"""
        if typ == "value":
            return value
        if value is MISSING:
            if typ == "any":
                return None
            if typ == "[]string":
                return []
            self.errorf(f"invalid value; expected {typ}")
        if typ == "any":
            return value
        if not _assignable(value, typ):
            self.errorf(f"wrong type for value; expected {typ}; got {_type_name(value)}")
        return value

    def eval_arg(self, dot: object, typ: GoParam, node: _Node) -> object:
        self.at(node)
        if isinstance(node, _DotNode):
            return self.validate(dot, typ)
        if isinstance(node, _NilNode):
            if typ in ("any", "value", "[]string"):
                return None if typ != "[]string" else []
            self.errorf(f"cannot assign nil to {typ}")
        if isinstance(node, _FieldNode):
            return self.validate(self.eval_field_chain(dot, dot, node, node.ident, [node], _NO_FINAL), typ)
        if isinstance(node, _VariableNode):
            return self.validate(self.eval_variable(dot, node, [], _NO_FINAL), typ)
        if isinstance(node, _PipeNode):
            return self.validate(self.eval_pipeline(dot, node), typ)
        if isinstance(node, _IdentifierNode):
            return self.validate(self.eval_function(dot, node, node, [node], _NO_FINAL), typ)
        if isinstance(node, _ChainNode):
            return self.validate(self.eval_chain(dot, node, [], _NO_FINAL), typ)
        return self.eval_literal(typ, node)

    def eval_literal(self, typ: GoParam, node: _Node) -> object:
        if typ in ("any", "value"):
            if isinstance(node, _BoolNode):
                return node.value
            if isinstance(node, _NumberNode):
                return self.ideal_constant(node)
            if isinstance(node, _StringNode):
                return node.text
        elif typ == "string" and isinstance(node, _StringNode):
            return node.text
        elif typ == "int" and isinstance(node, _NumberNode) and node.is_int:
            return node.int64
        elif typ == "bool" and isinstance(node, _BoolNode):
            return node.value
        expected = {"string": "string", "int": "integer", "bool": "bool"}.get(typ)
        if expected is None:
            self.errorf(f"can't handle {node} for arg of type {typ}")
        self.errorf(f"expected {expected}; found {node}")


# =====================================================================================
# Built-in functions (text/template/funcs.go) and docker's (cli/templates/templates.go)
# =====================================================================================


def _and_or(*_args: object) -> object:  # placeholder: and/or are evaluated lazily by _State
    raise _FuncError("unreachable")


_AND_OR = GoFunc(_and_or, ("value",), "value")


def _call(name: object, fn: object = MISSING, *_args: object) -> object:
    fn = _dig(fn)
    if fn is MISSING:
        raise _FuncError("call of nil")
    raise _FuncError(f"non-function {name} of type {_type_name(fn)}")


def _index_arg(index: object, size: int) -> int:
    index = _dig(index)
    if index is MISSING:
        raise _FuncError("cannot index slice/array with nil")
    if not isinstance(index, int) or isinstance(index, bool):
        raise _FuncError(f"cannot index slice/array with type {_type_name(index)}")
    if index < 0 or index > size:
        raise _FuncError(f"index out of range: {index}")
    return index


def _map_key(index: object) -> str:
    index = _dig(index)
    if index is MISSING:
        raise _FuncError("value is nil; should be of type string")
    if not isinstance(index, str):
        raise _FuncError(f"value has type {_type_name(index)}; should be string")
    return index


def _index(item: object, *indexes: object) -> object:
    item = _dig(item)
    if item is MISSING:
        raise _FuncError("index of untyped nil")
    for index in indexes:
        if item is MISSING or item is None or isinstance(item, GoNil):
            raise _FuncError("index of nil pointer")
        if isinstance(item, str):
            data = item.encode("utf-8", "surrogatepass")
            x = _index_arg(index, len(data))
            if x == len(data):
                raise _FuncError("reflect: string index out of range")
            item = data[x]
        elif isinstance(item, list | tuple):
            x = _index_arg(index, len(item))
            if x == len(item):
                raise _FuncError("reflect: slice index out of range")
            item = item[x]
        elif isinstance(item, Mapping):
            key = _map_key(index)
            if key in item:
                item = item[key]
            else:
                # The element type's zero value: "" for string maps (labels), nil otherwise.
                strings = all(isinstance(v, str) for v in item.values())
                item = "" if strings else None
        else:
            raise _FuncError(f"can't index item of type {_type_name(item)}")
    return item


def _slice(item: object, *indexes: object) -> object:
    item = _dig(item)
    if item is MISSING:
        raise _FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise _FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise _FuncError("cannot 3-index slice a string")
        data = item.encode("utf-8", "surrogatepass")
        length: int = len(data)
    elif isinstance(item, list | tuple):
        length = len(item)
    else:
        raise _FuncError(f"can't slice item of type {_type_name(item)}")
    idx = [0, length, length]
    for i, index in enumerate(indexes):
        idx[i] = _index_arg(index, length)
    if idx[0] > idx[1]:
        raise _FuncError(f"invalid slice index: {idx[0]} > {idx[1]}")
    if len(indexes) == 3 and idx[1] > idx[2]:
        raise _FuncError(f"invalid slice index: {idx[1]} > {idx[2]}")
    if isinstance(item, str):
        return data[idx[0] : idx[1]].decode("utf-8", "replace")
    return list(item[idx[0] : idx[1]])


def _len(item: object) -> int:
    if item is MISSING:
        raise _FuncError("reflect: call of reflect.Value.Type on zero Value")
    if item is None or isinstance(item, GoNil):
        raise _FuncError("len of nil pointer")
    if isinstance(item, str):
        return len(item.encode("utf-8", "surrogatepass"))
    if isinstance(item, list | tuple | Mapping):
        return len(item)
    raise _FuncError(f"len of type {_type_name(item)}")


_BASIC_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "bool"), (int, "int"), (float, "float"), (complex, "complex"), (str, "string"),
)  # fmt: skip


def _basic_kind(value: object) -> str | None:
    for typ, kind in _BASIC_KINDS:
        if isinstance(value, typ):
            return kind
    return None


def _is_nil(value: object) -> bool:
    return value is MISSING or value is None or isinstance(value, GoNil)


def _eq(arg1: object, *args: object) -> bool:
    arg1 = _dig(arg1)
    if not args:
        raise _FuncError("missing argument for comparison")
    k1 = _basic_kind(arg1)
    for arg in args:
        arg = _dig(arg)
        k2 = _basic_kind(arg)
        if k1 != k2:
            if arg1 is not MISSING and arg is not MISSING:
                raise _FuncError("incompatible types for comparison")
            continue
        if k1 is not None:
            if arg1 == arg:
                return True
            continue
        if _is_nil(arg1) or _is_nil(arg):
            if _is_nil(arg1) == _is_nil(arg):
                return True
            continue
        if isinstance(arg, list | tuple | Mapping):
            raise _FuncError(f"non-comparable type {_sprint_value(arg)}: {_type_name(arg)}")
        if arg1 is arg:
            return True
    return False


def _ne(arg1: object, arg2: object) -> bool:
    return not _eq(arg1, arg2)


def _lt(arg1: object, arg2: object) -> bool:
    arg1, arg2 = _dig(arg1), _dig(arg2)
    k1, k2 = _basic_kind(arg1), _basic_kind(arg2)
    if k1 is None or k2 is None:
        raise _FuncError("invalid type for comparison")
    if k1 != k2:
        raise _FuncError("incompatible types for comparison")
    if k1 in ("bool", "complex"):
        raise _FuncError("invalid type for comparison")
    less: bool = arg1 < arg2  # type: ignore[operator]
    return less


def _le(arg1: object, arg2: object) -> bool:
    return _lt(arg1, arg2) or _eq(arg1, arg2)


def _gt(arg1: object, arg2: object) -> bool:
    return not _le(arg1, arg2)


def _ge(arg1: object, arg2: object) -> bool:
    return not _lt(arg1, arg2)


def _eval_args(args: Sequence[object]) -> str:
    # html/js/urlquery print their arguments; a missing one is "<no value>" here.
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return go_sprint(*("<no value>" if a is None or a is MISSING else a for a in args))


def _html(*args: object) -> str:
    text = _eval_args(args)
    table = {'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;", "\0": "\ufffd"}
    return "".join(table.get(ch, ch) for ch in text)


def _js(*args: object) -> str:
    out: list[str] = []
    for ch in _eval_args(args):
        cp = ord(ch)
        if ch in "\\'\"":
            out.append("\\" + ch)
        elif ch in "<>&=" or cp < 0x20:
            out.append(f"\\u{cp:04X}")
        elif cp < 0x80 or _is_print(ch):
            out.append(ch)
        else:
            out.append(f"\\u{cp:04X}")
    return "".join(out)


def _urlquery(*args: object) -> str:
    return urllib.parse.quote_plus(_eval_args(args), safe="-_.~")


def _not(arg: object) -> bool:
    return not _truth(arg)


def _go_title(text: str) -> str:
    """strings.Title: upper-case the first letter of each word (separators as Go defines them)."""

    def separator(ch: str) -> bool:
        if ord(ch) < 0x80:
            return not (ch.isalnum() or ch == "_")
        if ch.isalpha() or unicodedata.category(ch) == "Nd":
            return False
        return ch.isspace()

    out: list[str] = []
    prev = " "
    for ch in text:
        out.append(_simple_case(ch, "title") if separator(prev) else ch)
        prev = ch
    return "".join(out)


def _simple_case(ch: str, how: str) -> str:
    # Go maps rune by rune (unicode.ToUpper...); Python's full mappings may change the length.
    mapped = getattr(ch, how)()
    if len(mapped) != 1 and how == "title":
        mapped = ch.upper()
    return mapped if len(mapped) == 1 else ch


def _pad_with_space(source: str, prefix: int, suffix: int) -> str:
    if not source:
        return source
    if prefix < 0 or suffix < 0:
        raise _FuncError("strings: negative Repeat count")
    if prefix + suffix > MAX_OUTPUT:
        raise _FuncError(f"padding beyond {MAX_OUTPUT} characters (dockbell's limit)")
    return " " * prefix + source + " " * suffix


def _truncate(source: str, length: int) -> str:
    data = source.encode("utf-8", "surrogatepass")
    if len(data) < length:
        return source
    if length < 0:
        raise _FuncError(f"runtime error: slice bounds out of range [:{length}]")
    return data[:length].decode("utf-8", "replace")


def _split(text: str, sep: str) -> list[str]:
    if sep == "":
        return list(text)
    return text.split(sep)


def _identity(value: str, *_ignored: object) -> str:
    return value


BUILTIN_FUNCS: dict[str, GoFunc] = {
    "and": _AND_OR,
    "or": _AND_OR,
    "call": GoFunc(_call, ("value",), "value"),
    "html": GoFunc(_html, (), "any"),
    "index": GoFunc(_index, ("value",), "value"),
    "slice": GoFunc(_slice, ("value",), "value"),
    "js": GoFunc(_js, (), "any"),
    "len": GoFunc(_len, ("value",)),
    "not": GoFunc(_not, ("value",)),
    "print": GoFunc(go_sprint, (), "any"),
    "printf": GoFunc(go_sprintf, ("string",), "any"),
    "println": GoFunc(go_sprintln, (), "any"),
    "urlquery": GoFunc(_urlquery, (), "any"),
    "eq": GoFunc(_eq, ("value",), "value"),
    "ge": GoFunc(_ge, ("value", "value")),
    "gt": GoFunc(_gt, ("value", "value")),
    "le": GoFunc(_le, ("value", "value")),
    "lt": GoFunc(_lt, ("value", "value")),
    "ne": GoFunc(_ne, ("value", "value")),
}
"""Go's predefined template functions."""

DOCKER_FUNCS: dict[str, GoFunc] = {
    "json": GoFunc(go_json, ("any",)),
    "split": GoFunc(_split, ("string", "string")),
    "join": GoFunc(lambda items, sep: sep.join(items), ("[]string", "string")),
    "title": GoFunc(_go_title, ("string",)),
    "lower": GoFunc(lambda s: "".join(_simple_case(c, "lower") for c in s), ("string",)),
    "upper": GoFunc(lambda s: "".join(_simple_case(c, "upper") for c in s), ("string",)),
    "pad": GoFunc(_pad_with_space, ("string", "int", "int")),
    "truncate": GoFunc(_truncate, ("string", "int")),
}
"""docker/cli's ``templates.basicFunctions``, available to every template."""

HEADER_FUNCS: dict[str, GoFunc] = {
    "json": GoFunc(_identity, ("string",)),
    "split": GoFunc(_identity, ("string", "string")),
    "join": GoFunc(_identity, ("string", "string")),
    "title": GoFunc(_identity, ("string",)),
    "lower": GoFunc(_identity, ("string",)),
    "upper": GoFunc(_identity, ("string",)),
    "truncate": GoFunc(_identity, ("string", "int")),
}
"""docker/cli's ``templates.HeaderFunctions``: table headers are rendered with these stubs."""


# =====================================================================================
# Public API
# =====================================================================================


def _guard(action: Callable[[], str], *, parse_error: bool) -> str:
    try:
        return action()
    except (_ParseFailure, _ExecFailure) as exc:
        raise GoTemplateError(str(exc), parse_error=parse_error) from None
    except RecursionError:
        raise GoTemplateError("template: nested too deeply", parse_error=parse_error) from None
    except TemplateError:
        raise
    except Exception as exc:  # a bug of ours must still reach the user as a template error
        raise GoTemplateError(f"template: internal error: {exc!r}", parse_error=parse_error) from exc


@dataclass(frozen=True)
class Template:
    """A parsed template; :meth:`execute` may be called any number of times."""

    text: str
    name: str
    trees: Mapping[str, _ListNode]
    funcs: Mapping[str, GoFunc]

    def execute(self, data: object, *, funcs: Mapping[str, GoFunc] | None = None) -> str:
        """Run the template on ``data``; ``funcs`` replaces functions (docker's header stubs)."""
        return _guard(lambda: self._run(data, funcs, partial=False), parse_error=False)

    def execute_partial(self, data: object, *, funcs: Mapping[str, GoFunc] | None = None) -> str:
        """Like :meth:`execute`, but an error just stops the output (docker ignores header errors)."""
        return _guard(lambda: self._run(data, funcs, partial=True), parse_error=False)

    def _run(self, data: object, funcs: Mapping[str, GoFunc] | None, *, partial: bool) -> str:
        state = _State(self.text, self.trees, {**self.funcs, **(funcs or {})}, self.name, _Budget())
        state.push("$", data)
        try:
            state.walk(data, self.trees[self.name])
        except (_ExecFailure, _FuncError):
            if not partial:
                raise
        except (_Break, _Continue):
            pass  # unreachable: the parser only allows them inside range
        return "".join(state.out)


def parse(text: str, *, funcs: Mapping[str, GoFunc] | None = None, name: str = "") -> Template:
    """Parse a docker ``--format`` template (Go's and docker's functions, plus ``funcs``)."""
    all_funcs = {**BUILTIN_FUNCS, **DOCKER_FUNCS, **(funcs or {})}
    holder: list[Template] = []

    def run() -> str:
        trees = _Parser(text, all_funcs, name).parse()
        holder.append(Template(text, name, trees, all_funcs))
        return ""

    _guard(run, parse_error=True)
    return holder[0]
