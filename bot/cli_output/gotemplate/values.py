"""Go values as plain Python data, and what Go's reflection says about them.

The data model (dicts as maps, lists as slices, :data:`MISSING`, :class:`GoNil`, contexts
as structs) is described in the package docstring. This module also answers what Go's
``reflect`` and ``internal/fmtsort`` would: a value's type name and its map order.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

GoParam = Literal["any", "value", "string", "int", "bool", "[]string"]
"""Parameter types a :class:`GoFunc` may declare (what Go's reflection would check).

``any`` is ``interface {}`` (a missing value arrives as ``None``); ``value`` is a
``reflect.Value`` parameter (a missing value arrives as :data:`MISSING`).
"""


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


class GoStr(str):
    """A value of a named string type (``container.RestartPolicyMode``): a string that knows its type."""

    go_name: str = "string"

    def __new__(cls, text: str, go_name: str) -> GoStr:
        value = super().__new__(cls, text)
        value.go_name = go_name
        return value


class GoInt(int):
    """A value of a sized or named integer type (``int64``, ``uint16``)."""

    go_name: str = "int"

    def __new__(cls, number: int, go_name: str) -> GoInt:
        value = super().__new__(cls, number)
        value.go_name = go_name
        return value


class GoDuration(int):
    """A ``time.Duration``: an int64 of nanoseconds that prints as Go's ``String()`` (``1m30s``)."""

    def go_string(self) -> str:
        return format_duration(int(self))


def format_duration(ns: int) -> str:
    """Go's ``time.Duration.String``: ``1h2m3.5s``, ``1.5ms``, ``0s``."""
    if ns == 0:
        return "0s"
    sign, u = ("-", -ns) if ns < 0 else ("", ns)
    if u < 1_000_000_000:
        for unit, size in (("ns", 1), ("\u00b5s", 1_000), ("ms", 1_000_000)):
            if u < size * 1000:
                return sign + _frac(u, size) + unit
    hours, rest = divmod(u, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    text = _frac(rest, 1_000_000_000) + "s"
    if hours or minutes:
        text = f"{minutes}m" + text
    if hours:
        text = f"{hours}h" + text
    return sign + text


def _frac(value: int, size: int) -> str:
    whole, part = divmod(value, size)
    digits = str(part).rjust(len(str(size)) - 1, "0").rstrip("0") if size > 1 else ""
    return f"{whole}.{digits}" if digits else str(whole)


@dataclass(frozen=True)
class GoField:
    """One field of a Go struct type: its Go name, its JSON name, its type and encoding/json tags."""

    name: str
    json: str
    type: GoType
    omitempty: bool = False
    embedded: bool = False


@dataclass(frozen=True, eq=False)
class GoType:
    """A Go type, as much of it as printing, JSON and field access need.

    ``kind`` is ``basic`` (``base`` says which: string, bool, int, uint, float64, duration,
    time), ``struct``, ``ptr``, ``slice``, ``array``, ``map`` or ``empty`` (``struct {}``).
    ``name`` is what ``%T`` prints (``*container.State``, ``nat.PortMap``).
    """

    kind: str
    name: str
    base: str = ""
    elem: GoType | None = None
    key: GoType | None = None
    fields: tuple[GoField, ...] = ()
    length: int = 0


class GoStructValue:
    """A value of a Go struct type, decoded from JSON as encoding/json would into the typed struct.

    ``fields`` holds every field of the type (zero values for what the JSON lacked), embedded
    structs as values of their own; ``field`` also finds promoted fields, as Go's selectors do.
    ``stringer`` is what the type's ``String()`` returns, when it has one (``time.Time``).
    """

    def __init__(
        self, go_type: GoType, fields: dict[str, object], *, stringer: str | None = None, json: object = MISSING
    ) -> None:
        self.go_type = go_type
        self.fields = fields
        self.stringer = stringer
        self.json_value = json  # MISSING: marshal the fields; else the type's own MarshalJSON result

    def field(self, name: str) -> object:
        if name in self.fields:
            return self.fields[name]
        for f in self.go_type.fields:  # promoted through embedded structs, breadth first as Go
            if f.embedded:
                inner = self.fields[f.name]
                if isinstance(inner, GoPtr):
                    inner = inner.target
                if isinstance(inner, GoStructValue):
                    found = inner.field(name)
                    if found is not MISSING:
                        return found
        return MISSING

    def go_string(self) -> str | None:
        return self.stringer

    def template_type(self) -> str:
        return self.go_type.name

    def template_method(self, name: str) -> GoFunc | None:
        value = self.field(name)
        if value is MISSING:
            return None
        return GoFunc(lambda: value)

    def template_json(self) -> Mapping[str, object]:
        return {}  # never used: jsonenc marshals typed structs from their type


class GoPtr:
    """A non-nil pointer (``*container.State``); nil pointers are :class:`GoNil`.

    fmt prints one as ``&{...}`` at the top and as an address inside another value; the
    address is made up (stable for one document), as Go's would be arbitrary anyway.
    """

    def __init__(self, target: object, go_type: GoType, address: int) -> None:
        self.target = target
        self.go_type = go_type
        self.address = address

    def go_string(self) -> str | None:
        stringer = getattr(self.target, "go_string", None)
        return stringer() if callable(stringer) else None

    def template_type(self) -> str:
        return self.go_type.name

    def template_method(self, name: str) -> GoFunc | None:
        if isinstance(self.target, GoStructValue):
            return self.target.template_method(name)
        return None

    def template_json(self) -> Mapping[str, object]:
        return {}


class GoList(list[object]):
    """A typed slice or array; ``nil`` is a nil slice (JSON ``null``, prints ``[]``)."""

    def __init__(self, items: list[object], go_type: GoType, *, nil: bool = False) -> None:
        super().__init__(items)
        self.go_type = go_type
        self.nil = nil


class GoMap(dict[str, object]):
    """A typed map; ``zero`` is its element type's zero value (what ``index`` of a missing key gives)."""

    def __init__(self, items: dict[str, object], go_type: GoType, zero: object, *, nil: bool = False) -> None:
        super().__init__(items)
        self.go_type = go_type
        self.zero = zero
        self.nil = nil


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


def type_name(value: object) -> str:
    """The Go type of a value, as Go's error messages and ``%T`` spell it."""
    if value is None or value is MISSING:
        return "interface {}"
    named = _declared_type(value)
    if named is not None:
        return named
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


def _declared_type(value: object) -> str | None:
    """The type of a value decoded into a declared Go type (a named string, a typed slice...)."""
    if isinstance(value, GoList | GoMap):
        return value.go_type.name
    if isinstance(value, GoDuration):
        return "time.Duration"
    if isinstance(value, GoStr | GoInt):
        return value.go_name
    return None


def sorted_items(mapping: Mapping[Any, object]) -> list[tuple[Any, object]]:
    # Go's fmt and range sort map keys (fmtsort); our keys are strings, but never crash.
    return sorted(mapping.items(), key=lambda kv: (type(kv[0]).__name__, str(kv[0])))


def dig(value: object) -> object:
    # Go's indirectInterface: a nil interface{} is no value at all.
    return MISSING if value is None else value
