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


def sorted_items(mapping: Mapping[Any, object]) -> list[tuple[Any, object]]:
    # Go's fmt and range sort map keys (fmtsort); our keys are strings, but never crash.
    return sorted(mapping.items(), key=lambda kv: (type(kv[0]).__name__, str(kv[0])))


def dig(value: object) -> object:
    # Go's indirectInterface: a nil interface{} is no value at all.
    return MISSING if value is None else value
