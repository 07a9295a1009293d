"""Go types described in a few lines each, and JSON decoded into them as encoding/json would.

The docker CLI executes ``inspect -f`` on its Go structs, not on the JSON: ``{{.State}}``
prints ``{running true ...}``, ``{{json .State}}`` writes the struct's fields in order and
drops empty ``omitempty`` ones, a nil pointer prints ``<nil>``.  To do the same, each docker
type is written as a small declaration (field name, type, JSON name, tags)::

    "container.State": '''
        Status string
        Health *container.Health omitempty
    '''

and :func:`decode` turns an Engine document into typed values (:mod:`.gotemplate.values`):
every field of the type present (zero values for what the JSON lacks, as Go's Unmarshal
leaves them), JSON keys the type does not know dropped.  Named types (``nat.PortMap``,
``container.RestartPolicyMode``) keep their names for ``%T``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from bot.cli_output.gotemplate.values import (
    MISSING,
    GoDuration,
    GoField,
    GoInt,
    GoList,
    GoMap,
    GoNil,
    GoPtr,
    GoStr,
    GoStructValue,
    GoType,
)

_BASIC = {
    "string": "string",
    "bool": "bool",
    "float64": "float64",
    "time.Duration": "duration",
    "time.Time": "time",
    "os.FileMode": "filemode",
    **{
        name: "int"
        for name in ("int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64")
    },
}


class Schema:
    """A set of Go type declarations: ``structs`` (name -> field lines) and ``named`` types
    (name -> underlying type expression, e.g. ``"nat.PortMap": "map[nat.Port][]nat.PortBinding"``)."""

    def __init__(
        self,
        structs: Mapping[str, str],
        named: Mapping[str, str],
        stringers: Mapping[str, Callable[[GoStructValue], str]] | None = None,
    ) -> None:
        self._structs = structs
        self._named = named
        self.stringers = dict(stringers or {})  # struct type -> its String() method
        self._done: dict[str, GoType] = {}

    def type(self, expr: str) -> GoType:
        """The :class:`GoType` a type expression (``*container.State``, ``[]string``) denotes."""
        expr = expr.strip()
        if expr in self._done:
            return self._done[expr]
        made = self._make(expr)
        self._done[expr] = made
        return made

    def _make(self, expr: str) -> GoType:
        name = expr.replace("struct{}", "struct {}")  # declarations write it without the space
        if expr.startswith("*"):
            return GoType("ptr", name, elem=self.type(expr[1:]))
        if expr.startswith("[]"):
            return GoType("slice", name, elem=self.type(expr[2:]))
        if expr.startswith("["):
            size, _, rest = expr[1:].partition("]")
            return GoType("array", name, elem=self.type(rest), length=int(size))
        if expr.startswith("map["):
            key, rest = _split_map(expr)
            return GoType("map", name, key=self.type(key), elem=self.type(rest))
        if expr in ("struct {}", "struct{}"):
            return GoType("empty", "struct {}")
        if expr in _BASIC:
            return GoType("basic", expr, base=_BASIC[expr])
        if expr in self._named:
            under = self.type(self._named[expr])
            return GoType(under.kind, expr, base=under.base, elem=under.elem, key=under.key, length=under.length)
        if expr in self._structs:
            return GoType("struct", expr, fields=tuple(self._fields(self._structs[expr])))
        raise KeyError(f"unknown Go type {expr!r}")

    def _fields(self, text: str) -> Iterator[GoField]:
        for line in text.strip().splitlines():
            words = line.split()
            if not words:
                continue
            if len(words) == 1 or words[1] in ("omitempty",) or words[1].startswith("json="):
                # an embedded field: its name is the type's own (ContainerJSONBase)
                typ = words[0]
                name = typ.lstrip("*").rpartition(".")[2]
                yield GoField(name, name, self.type(typ), embedded=True)
                continue
            name, typ, tags = words[0], words[1], words[2:]
            json_name = next((t.removeprefix("json=") for t in tags if t.startswith("json=")), name)
            yield GoField(name, json_name, self.type(typ), omitempty="omitempty" in tags)


def _split_map(expr: str) -> tuple[str, str]:
    depth = 0
    for i, ch in enumerate(expr[4:], start=4):
        if ch == "[":
            depth += 1
        elif ch == "]":
            if depth == 0:
                return expr[4:i], expr[i + 1 :]
            depth -= 1
    raise KeyError(f"bad map type {expr!r}")


@dataclass
class _Decoder:
    """One document's decoding: pointers get made-up addresses, distinct and stable within it."""

    schema: Schema
    next_address: int = 0xC000100000

    def address(self) -> int:
        self.next_address += 0x60
        return self.next_address

    def decode(self, t: GoType, raw: object) -> object:
        kind = t.kind
        if kind == "basic":
            return _basic(t, raw)
        if kind == "ptr":
            assert t.elem is not None
            if raw is None or raw is MISSING:
                names = frozenset(f.name for f in t.elem.fields) if t.elem.kind == "struct" else frozenset()
                return GoNil(t.name, names)
            return GoPtr(self.decode(t.elem, raw), t, self.address())
        if kind in ("slice", "array"):
            assert t.elem is not None
            items = raw if isinstance(raw, list) else []
            values = [self.decode(t.elem, item) for item in items]
            if kind == "array":
                values = (values + [self.decode(t.elem, MISSING) for _ in range(t.length)])[: t.length]
            return GoList(values, t, nil=kind == "slice" and not isinstance(raw, list))
        if kind == "map":
            assert t.elem is not None
            entries = raw if isinstance(raw, Mapping) else {}
            decoded = {str(k): self.decode(t.elem, v) for k, v in entries.items()}
            return GoMap(decoded, t, self.decode(t.elem, MISSING), nil=not isinstance(raw, Mapping))
        if kind == "empty":
            return GoStructValue(t, {})
        return self.decode_struct(t, raw if isinstance(raw, Mapping) else {})

    def decode_struct(self, t: GoType, raw: Mapping[str, object]) -> GoStructValue:
        fields: dict[str, object] = {}
        folded = {str(k).lower(): v for k, v in raw.items()}  # encoding/json also takes a key in another case
        for f in t.fields:
            if f.embedded:  # its fields sit in the same JSON object
                fields[f.name] = self.decode(f.type, raw if _has_any(f.type, raw) else MISSING)
            else:
                value = raw[f.json] if f.json in raw else folded.get(f.json.lower(), MISSING)
                fields[f.name] = self.decode(f.type, value)
        value = GoStructValue(t, fields)
        method = self.schema.stringers.get(t.name)
        if method is not None:
            value.stringer = method(value)
        return value


def _has_any(t: GoType, raw: Mapping[str, object]) -> bool:
    """Would Unmarshal allocate this embedded pointer: does the JSON set any of its fields?"""
    inner = t.elem if t.kind == "ptr" else t
    if inner is None or inner.kind != "struct":
        return False
    return t.kind != "ptr" or any(f.json in raw or (f.embedded and _has_any(f.type, raw)) for f in inner.fields)


def _basic(t: GoType, raw: object) -> object:
    base = t.base
    named = t.name not in ("string", "int", "bool", "float64")
    if base == "string":
        text = raw if isinstance(raw, str) else ""
        return GoStr(text, t.name) if named else text
    if base == "bool":
        return raw if isinstance(raw, bool) else False
    if base == "float64":
        return float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else 0.0
    number = int(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else 0
    if base == "duration":
        return GoDuration(number)
    if base == "time":
        return go_time(t, raw if isinstance(raw, str) else "")
    if base == "filemode":
        return GoFileMode(number)
    return GoInt(number, t.name) if named else number


class GoFileMode(GoInt):
    """An ``os.FileMode``: prints as Go's ``String()`` (``-rwxr-xr-x``, ``drwx------``)."""

    def __new__(cls, number: int) -> GoFileMode:
        return super().__new__(cls, number, "os.FileMode")  # type: ignore[return-value]

    def go_string(self) -> str:
        out = [c for i, c in enumerate("dalTLDpSugct?") if self & (1 << (31 - i))]
        out = out or ["-"]
        out.extend(c if self & (1 << (8 - i)) else "-" for i, c in enumerate("rwxrwxrwx"))
        return "".join(out)


_ZERO_TIME = "0001-01-01T00:00:00Z"


def go_time(t: GoType, text: str) -> GoStructValue:
    """A ``time.Time`` from its JSON (RFC 3339): prints as Go's ``String()``, marshals back as it came."""
    text = text or _ZERO_TIME
    return GoStructValue(t, {}, stringer=go_time_text(text), json=text)


def go_time_text(rfc3339: str) -> str:
    """``time.Time.String()`` of an RFC 3339 time: ``2026-12-01 18:33:01.75381783 +0000 UTC``.

    A UTC time keeps the CLI's local zone name when that is UTC; any other offset prints the
    way Go prints a zone it made up for the offset (``+0200 +0200``).
    """
    date, _, rest = rfc3339.partition("T")
    clock = rest
    zone = "+0000 UTC"
    if rest.endswith(("Z", "z")):
        clock = rest[:-1]
    elif len(rest) > 6 and rest[-6] in "+-" and rest[-3] == ":":
        clock, offset = rest[:-6], rest[-6:].replace(":", "")
        zone = "+0000 UTC" if offset in ("+0000", "-0000") else f"{offset} {offset}"
    whole, dot, frac = clock.partition(".")
    frac = frac.rstrip("0")
    year, _, month_day = date.partition("-")
    try:
        year_text = f"{int(year):04d}"
    except ValueError:
        return rfc3339
    return f"{year_text}-{month_day} {whole}{'.' + frac if dot and frac else ''} {zone}"


def decode(schema: Schema, type_expr: str, raw: object) -> object:
    """The Go value of type ``type_expr`` that encoding/json makes of ``raw`` (decoded JSON)."""
    return _Decoder(schema).decode(schema.type(type_expr), raw)
