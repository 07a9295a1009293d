"""Go's ``fmt``: ``Sprint``, ``Sprintln`` and ``Sprintf`` with the verbs templates use.

Wrong verbs and operands give Go's own diagnostics (``%!d(string=x)``, ``%!(EXTRA ...)``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.cli_output.gotemplate.budget import CHAR, ELEMENT, PY_CHAR, charge
from bot.cli_output.gotemplate.strconv import go_float, go_quote, is_print, nonfinite, quote_rune
from bot.cli_output.gotemplate.values import (
    MISSING,
    GoNil,
    GoPtr,
    GoStructValue,
    TemplateContext,
    sorted_items,
    type_name,
)


def go_U(ch: str) -> str:
    """``%#U``: ``U+007D '}'``."""
    text = f"U+{ord(ch):04X}"
    return f"{text} '{ch}'" if is_print(ch) else text


def stringer(value: object) -> str | None:
    """What a value's ``String()`` method returns, for the types that have one; else None."""
    method = getattr(value, "go_string", None)
    if not callable(method):
        return None
    text = method()
    return text if isinstance(text, str) else None


def address(ptr: GoPtr) -> str:
    return f"0x{ptr.address:x}"


def sprint_value(value: object, depth: int = 0) -> str:
    """``fmt.Sprint(value)`` (the ``%v`` verb); ``depth`` > 0 inside a struct, map or slice."""
    if value is None or isinstance(value, GoNil):
        return "<nil>"
    if value is MISSING:
        return "<no value>"
    text = stringer(value)
    if text is not None:  # fmt's handleMethods: a Stringer prints itself, at any depth
        return text
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
    return _sprint_composite(value, depth)


def _sprint_composite(value: object, depth: int) -> str:
    if isinstance(value, GoPtr):
        # a pointer to a composite shows it behind "&" at the top; inside, just its address
        if depth == 0 and isinstance(value.target, GoStructValue | Mapping | list | tuple):
            return "&" + sprint_value(value.target, depth + 1)
        return address(value)
    if isinstance(value, GoStructValue):
        charge(len(value.go_type.fields), ELEMENT)
        return "{" + " ".join(sprint_value(value.fields[f.name], depth + 1) for f in value.go_type.fields) + "}"
    if isinstance(value, Mapping):
        charge(len(value), ELEMENT)
        inner = " ".join(f"{sprint_value(k, depth + 1)}:{sprint_value(v, depth + 1)}" for k, v in sorted_items(value))
        return "map[" + inner + "]"
    if isinstance(value, list | tuple):
        charge(len(value), ELEMENT)
        return "[" + " ".join(sprint_value(v, depth + 1) for v in value) + "]"
    if isinstance(value, TemplateContext):
        return "&{" + value.template_type() + "}"
    return str(value)


def printable(value: object) -> object:
    """text/template's printableValue: an action prints what a pointer points to."""
    return value.target if isinstance(value, GoPtr) else value


def _signed(text: str) -> str:
    return text if text.startswith(("-", "+")) else "+" + text


def go_sprint(*args: object) -> str:
    """``fmt.Sprint``: a space between operands when neither is a string."""
    charge(len(args), ELEMENT)
    out: list[str] = []
    prev_string = False
    for i, arg in enumerate(args):
        is_string = isinstance(arg, str)
        if i > 0 and not is_string and not prev_string:
            out.append(" ")
        out.append(sprint_value(arg))
        prev_string = is_string
    return _charged("".join(out))


def go_sprintln(*args: object) -> str:
    charge(len(args), ELEMENT)
    return _charged(" ".join(sprint_value(a) for a in args) + "\n")


def _charged(text: str) -> str:
    charge(len(text), CHAR)
    return text


@dataclass
class _Spec:
    minus: bool = False
    plus: bool = False
    sharp: bool = False
    space: bool = False
    zero: bool = False
    width: int | None = None
    prec: int | None = None
    plus_v: bool = False  # %+v: struct fields by name (Go clears plus for %v and sets this)


def _pad(text: str, spec: _Spec, *, numeric: bool = False) -> str:
    if spec.width is None or len(text) >= spec.width:
        return text
    fill = spec.width - len(text)
    charge(spec.width, CHAR)  # before the padding is built
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
        return _pad(quote_rune(value), spec)
    if verb == "U":
        text = f"U+{value:04X}"
        if spec.sharp and 0 <= value <= 0x10FFFF and is_print(chr(value)):
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
    text = nonfinite(value, spec.plus) or go_float(value, go_verb, prec)
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
        charge(len(value), PY_CHAR)  # go_quote is a Python loop
        if spec.sharp and "`" not in value and all(is_print(c) or c == "\t" for c in value):
            return _pad("`" + value + "`", spec)
        return _pad(go_quote(value, ascii_only=spec.plus), spec)
    if verb in "xX":
        text = value.encode("utf-8", "replace").hex()
        return _pad(text.upper() if verb == "X" else text, spec)
    return None


def _fmt_arg(arg: object, verb: str, spec: _Spec, depth: int = 0) -> str:
    """``fmt``'s printArg for one operand; wrong verbs give Go's ``%!d(string=x)``.

    Inside a map, slice or struct every element is formatted with the same flags and width
    (``%5v`` of ``[a b]`` is ``[    a     b]``), as Go's printValue does.
    """
    if depth == 0 and verb == "v" and spec.plus:
        spec = dataclasses.replace(spec, plus=False, plus_v=True)
    if verb == "T":
        return _pad("<nil>" if arg is None or arg is MISSING else type_name(arg), spec)
    if arg is None or arg is MISSING:
        return _pad("<nil>", spec) if verb == "v" else f"%!{verb}(<nil>)"
    if isinstance(arg, GoNil):
        return _fmt_pointer(0, arg.go_type, verb, spec)
    text: str | None = stringer(arg) if verb in "vsxXq" else None
    if text is not None:
        return _fmt_str(text, verb, spec) or text
    if isinstance(arg, GoPtr | GoStructValue):
        return _fmt_typed(arg, verb, spec, depth)
    if isinstance(arg, bool):
        text = _pad("true" if arg else "false", spec) if verb in "vt" else None
    elif isinstance(arg, int):
        text = _fmt_int(arg, verb, spec)
    elif isinstance(arg, float):
        text = _fmt_float(arg, verb, spec)
    elif isinstance(arg, str):
        text = _fmt_str(arg, verb, spec)
    elif isinstance(arg, Mapping):
        charge(len(arg), 3 * ELEMENT)  # each entry formatted with a spec of its own: ~3x printing it
        inner = " ".join(
            f"{_fmt_arg(k, verb, spec, depth + 1)}:{_fmt_arg(v, verb, spec, depth + 1)}" for k, v in sorted_items(arg)
        )
        text = f"map[{inner}]"
    elif isinstance(arg, list | tuple):
        charge(len(arg), 3 * ELEMENT)
        text = "[" + " ".join(_fmt_arg(v, verb, spec, depth + 1) for v in arg) + "]"
    else:
        text = _pad(sprint_value(arg), spec) if verb in "vs" else None
    if text is None:
        return f"%!{verb}({type_name(arg)}={sprint_value(arg)})"
    return text


def _fmt_pointer(addr: int, go_type: str, verb: str, spec: _Spec) -> str:
    """fmt's fmtPointer: ``<nil>`` or ``0xc000...`` for %v, the number itself for %d and %x."""
    if verb == "v":
        return _pad(f"0x{addr:x}" if addr else "<nil>", spec)
    if verb == "p":
        return _pad(f"0x{addr:x}", spec)
    if verb in "bodxX":
        return _fmt_int(addr, verb, spec) or ""
    return f"%!{verb}({go_type}={f'0x{addr:x}' if addr else '<nil>'})"


def _fmt_typed(arg: GoPtr | GoStructValue, verb: str, spec: _Spec, depth: int) -> str:
    """A struct (``{a b}``, ``%+v``: ``{A:a B:b}``) or a pointer (``&{...}`` on top, else its address)."""
    if isinstance(arg, GoPtr):
        if depth == 0 and isinstance(arg.target, GoStructValue | Mapping | list | tuple):
            return "&" + _fmt_arg(arg.target, verb, spec, depth + 1)
        return _fmt_pointer(arg.address, arg.go_type.name, verb, spec)
    fields = arg.go_type.fields
    charge(len(fields), 3 * ELEMENT)
    parts = []
    for f in fields:
        name = f"{f.name}:" if spec.plus_v else ""
        parts.append(name + _fmt_arg(arg.fields[f.name], verb, spec, depth + 1))
    return "{" + " ".join(parts) + "}"


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
            out.append(_charged(_fmt_arg(args[argnum], verb, spec)))
            argnum += 1
    if argnum < len(args):
        extra = ", ".join("<nil>" if a is None else f"{type_name(a)}={sprint_value(a)}" for a in args[argnum:])
        out.append(f"%!(EXTRA {extra})")
    return _charged("".join(out))
