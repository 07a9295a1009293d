"""Go's predefined template functions (``text/template/funcs.go``): and, or, not, len, index, eq..."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping, Sequence

from bot.cli_output.gotemplate.budget import CHAR, PY_CHAR, charge
from bot.cli_output.gotemplate.errors import FuncError
from bot.cli_output.gotemplate.fmt import go_sprint, go_sprintf, go_sprintln, sprint_value
from bot.cli_output.gotemplate.strconv import is_print
from bot.cli_output.gotemplate.values import MISSING, GoFunc, GoMap, GoNil, dig, type_name


def truth(value: object) -> bool:
    if value is None or value is MISSING or isinstance(value, GoNil):
        return False
    if isinstance(value, bool | int | float | complex):
        return value != 0
    if isinstance(value, str | list | tuple | Mapping):
        return len(value) > 0
    return True  # structs and non-nil pointers


def builtin_and_or(*_args: object) -> object:  # placeholder: exec.py evaluates and/or lazily
    raise FuncError("unreachable")


AND_OR = GoFunc(builtin_and_or, ("value",), "value")


def builtin_call(name: object, fn: object = MISSING, *_args: object) -> object:
    fn = dig(fn)
    if fn is MISSING:
        raise FuncError("call of nil")
    raise FuncError(f"non-function {name} of type {type_name(fn)}")


def _index_arg(index: object, size: int) -> int:
    index = dig(index)
    if index is MISSING:
        raise FuncError("cannot index slice/array with nil")
    if not isinstance(index, int) or isinstance(index, bool):
        raise FuncError(f"cannot index slice/array with type {type_name(index)}")
    if index < 0 or index > size:
        raise FuncError(f"index out of range: {index}")
    return index


def _map_key(index: object) -> str:
    index = dig(index)
    if index is MISSING:
        raise FuncError("value is nil; should be of type string")
    if not isinstance(index, str):
        raise FuncError(f"value has type {type_name(index)}; should be string")
    return index


def _index(item: object, *indexes: object) -> object:
    item = dig(item)
    if item is MISSING:
        raise FuncError("index of untyped nil")
    for index in indexes:
        if item is MISSING or item is None or isinstance(item, GoNil):
            raise FuncError("index of nil pointer")
        if isinstance(item, str):
            charge(len(item), CHAR)  # the encoding
            data = item.encode("utf-8", "surrogatepass")
            x = _index_arg(index, len(data))
            if x == len(data):
                raise FuncError("reflect: string index out of range")
            item = data[x]
        elif isinstance(item, list | tuple):
            x = _index_arg(index, len(item))
            if x == len(item):
                raise FuncError("reflect: slice index out of range")
            item = item[x]
        elif isinstance(item, Mapping):
            key = _map_key(index)
            if key in item:
                item = item[key]
            elif isinstance(item, GoMap):
                item = item.zero  # the element type's zero value, as Go's index gives
            else:
                # The element type's zero value: "" for string maps (labels), nil otherwise.
                strings = all(isinstance(v, str) for v in item.values())
                item = "" if strings else None
        else:
            raise FuncError(f"can't index item of type {type_name(item)}")
    return item


def _slice(item: object, *indexes: object) -> object:
    item = dig(item)
    if item is MISSING:
        raise FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise FuncError("cannot 3-index slice a string")
        charge(len(item), CHAR)
        data = item.encode("utf-8", "surrogatepass")
        length: int = len(data)
    elif isinstance(item, list | tuple):
        length = len(item)
    else:
        raise FuncError(f"can't slice item of type {type_name(item)}")
    idx = [0, length, length]
    for i, index in enumerate(indexes):
        idx[i] = _index_arg(index, length)
    if idx[0] > idx[1]:
        raise FuncError(f"invalid slice index: {idx[0]} > {idx[1]}")
    if len(indexes) == 3 and idx[1] > idx[2]:
        raise FuncError(f"invalid slice index: {idx[1]} > {idx[2]}")
    if isinstance(item, str):
        return data[idx[0] : idx[1]].decode("utf-8", "replace")
    return list(item[idx[0] : idx[1]])


def _len(item: object) -> int:
    if item is MISSING:
        raise FuncError("reflect: call of reflect.Value.Type on zero Value")
    if item is None or isinstance(item, GoNil):
        raise FuncError("len of nil pointer")
    if isinstance(item, str):
        charge(len(item), CHAR)
        return len(item.encode("utf-8", "surrogatepass"))
    if isinstance(item, list | tuple | Mapping):
        return len(item)
    raise FuncError(f"len of type {type_name(item)}")


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
    arg1 = dig(arg1)
    if not args:
        raise FuncError("missing argument for comparison")
    k1 = _basic_kind(arg1)
    for arg in args:
        arg = dig(arg)
        k2 = _basic_kind(arg)
        if k1 != k2:
            if arg1 is not MISSING and arg is not MISSING:
                raise FuncError("incompatible types for comparison")
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
            raise FuncError(f"non-comparable type {sprint_value(arg)}: {type_name(arg)}")
        if arg1 is arg:
            return True
    return False


def _ne(arg1: object, arg2: object) -> bool:
    return not _eq(arg1, arg2)


def _lt(arg1: object, arg2: object) -> bool:
    arg1, arg2 = dig(arg1), dig(arg2)
    k1, k2 = _basic_kind(arg1), _basic_kind(arg2)
    if k1 is None or k2 is None:
        raise FuncError("invalid type for comparison")
    if k1 != k2:
        raise FuncError("incompatible types for comparison")
    if k1 in ("bool", "complex"):
        raise FuncError("invalid type for comparison")
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
    first = args[0] if len(args) == 1 else None
    if isinstance(first, str):
        text = first
    else:
        text = go_sprint(*("<no value>" if a is None or a is MISSING else a for a in args))
    charge(len(text), PY_CHAR)  # html, js and urlquery go through it character by character
    return text


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
        elif cp < 0x80 or is_print(ch):
            out.append(ch)
        else:
            out.append(f"\\u{cp:04X}")
    return "".join(out)


def _urlquery(*args: object) -> str:
    return urllib.parse.quote_plus(_eval_args(args), safe="-_.~")


def _not(arg: object) -> bool:
    return not truth(arg)


BUILTIN_FUNCS: dict[str, GoFunc] = {
    "and": AND_OR,
    "or": AND_OR,
    "call": GoFunc(builtin_call, ("value",), "value"),
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
