"""The functions docker/cli adds to every template (``cli/templates/templates.go``)."""

from __future__ import annotations

import unicodedata

from bot.cli_output.gotemplate.budget import CHAR, ELEMENT, PY_CHAR, charge
from bot.cli_output.gotemplate.errors import FuncError
from bot.cli_output.gotemplate.jsonenc import go_json
from bot.cli_output.gotemplate.values import GoFunc


def _go_title(text: str) -> str:
    """strings.Title: upper-case the first letter of each word (separators as Go defines them)."""

    def separator(ch: str) -> bool:
        if ord(ch) < 0x80:
            return not (ch.isalnum() or ch == "_")
        if ch.isalpha() or unicodedata.category(ch) == "Nd":
            return False
        return ch.isspace()

    charge(len(text), PY_CHAR)
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
        raise FuncError("strings: negative Repeat count")
    charge(prefix + len(source) + suffix)
    return " " * prefix + source + " " * suffix


def _truncate(source: str, length: int) -> str:
    charge(len(source))  # the encoding
    data = source.encode("utf-8", "surrogatepass")
    if len(data) < length:
        return source
    if length < 0:
        raise FuncError(f"runtime error: slice bounds out of range [:{length}]")
    charge(length)
    return data[:length].decode("utf-8", "replace")


def _split(text: str, sep: str) -> list[str]:
    # Counted before the list is built: str.count runs in C, the list of a 2 MB string not.
    parts = len(text) if sep == "" else text.count(sep) + 1
    charge(parts, ELEMENT)
    charge(len(text), CHAR)
    if sep == "":
        return list(text)
    return text.split(sep)


def _join(items: list[str], sep: str) -> str:
    charge(len(items), ELEMENT)
    charge(sum(map(len, items)) + len(sep) * max(len(items) - 1, 0), CHAR)
    return sep.join(items)


def _lower(text: str) -> str:
    charge(len(text), PY_CHAR)
    return "".join(_simple_case(c, "lower") for c in text)


def _upper(text: str) -> str:
    charge(len(text), PY_CHAR)
    return "".join(_simple_case(c, "upper") for c in text)


def _identity(value: str, *_ignored: object) -> str:
    return value


DOCKER_FUNCS: dict[str, GoFunc] = {
    "json": GoFunc(go_json, ("any",)),
    "split": GoFunc(_split, ("string", "string")),
    "join": GoFunc(_join, ("[]string", "string")),
    "title": GoFunc(_go_title, ("string",)),
    "lower": GoFunc(_lower, ("string",)),
    "upper": GoFunc(_upper, ("string",)),
    "pad": GoFunc(_pad_with_space, ("string", "int", "int")),
    "truncate": GoFunc(_truncate, ("string", "int")),
}
"""docker/cli's ``templates.basicFunctions``, available to every template; each charges what it builds (budget.py)."""

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
