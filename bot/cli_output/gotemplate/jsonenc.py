"""Go's ``encoding/json``, as docker's ``{{json}}`` function calls it (compact, ``Marshal``'s escapes)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from bot.cli_output.gotemplate.budget import ELEMENT, PY_CHAR, charge
from bot.cli_output.gotemplate.strconv import go_float
from bot.cli_output.gotemplate.values import (
    MISSING,
    GoList,
    GoMap,
    GoNil,
    GoPtr,
    GoStructValue,
    TemplateContext,
    type_name,
)


class _JSONError(Exception):
    pass


def _json_string(text: str, escape_html: bool) -> str:
    charge(len(text), PY_CHAR)  # the encoder is a Python loop over the characters
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
    if isinstance(value, GoPtr):
        return _json(value.target, escape_html)
    if isinstance(value, GoStructValue):
        return _json_struct(value, escape_html)
    if isinstance(value, GoList | GoMap) and value.nil:
        return "null"
    if isinstance(value, GoMap):
        charge(len(value), ELEMENT)
        items = [f"{_json_string(k, escape_html)}:{_json(v, escape_html)}" for k, v in sorted(value.items())]
        return "{" + ",".join(items) + "}"
    if isinstance(value, TemplateContext) and not isinstance(value, Mapping):
        # docker's contexts implement MarshalJSON with json.Marshal, which escapes HTML.
        return _json(dict(sorted(value.template_json().items())), True)
    if isinstance(value, Mapping):
        charge(len(value), ELEMENT)
        items = [f"{_json_string(str(k), escape_html)}:{_json(v, escape_html)}" for k, v in value.items()]
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        charge(len(value), ELEMENT)
        return "[" + ",".join(_json(v, escape_html) for v in value) + "]"
    raise _JSONError(f"json: unsupported type: {type_name(value)}")


def _is_empty(value: object) -> bool:
    """encoding/json's isEmptyValue, for omitempty: false, 0, "", nil, and empty slices and maps."""
    if value is None or value is MISSING or isinstance(value, GoNil):
        return True
    if isinstance(value, bool | int | float):
        return not value
    if isinstance(value, str | list | tuple | Mapping):
        return len(value) == 0
    return False  # structs and non-nil pointers are never empty


def _struct_fields(value: GoStructValue) -> list[tuple[str, object]]:
    """(JSON name, value) in field order; an embedded struct's fields are its parent's."""
    out: list[tuple[str, object]] = []
    for f in value.go_type.fields:
        field = value.fields[f.name]
        if f.embedded:
            inner = field.target if isinstance(field, GoPtr) else field
            if isinstance(inner, GoStructValue):
                out.extend(_struct_fields(inner))
            continue  # a nil embedded pointer adds nothing
        if f.omitempty and _is_empty(field):
            continue
        out.append((f.json, field))
    return out


def _json_struct(value: GoStructValue, escape_html: bool) -> str:
    if value.json_value is not MISSING:  # the type's own MarshalJSON (time.Time: its RFC 3339 text)
        return _json(value.json_value, escape_html)
    fields = _struct_fields(value)
    charge(len(fields), ELEMENT)
    return "{" + ",".join(f"{_json_string(k, escape_html)}:{_json(v, escape_html)}" for k, v in fields) + "}"


def go_json(value: object, *, escape_html: bool = False) -> str:
    """docker's ``json`` template function: compact JSON, ``""`` when Go's encoder would fail."""
    try:
        return _json(value, escape_html)
    except _JSONError:
        return ""
