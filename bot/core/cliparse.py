"""A pflag-compatible parser for docker CLI command lines.

docker's CLI uses spf13/pflag: long flags as ``--name=value`` or ``--name value``,
short flags combined (``-aq``) with a value-taking one glued or taking the next word
(``-n5``, ``-n 5``, ``-n=5``), bool flags that never consume the next word
(``--rm=false`` only), ``--`` ending flags, and for ``run``/``exec`` flags ending
at the first positional argument.  Matching that exactly matters twice: users
recognise the behaviour, and the permission layer must see what docker would see,
however a flag is spelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from bot.core.gostrconv import GO_INT_TYPES, NumError, parse_go_int, quote, quote_byte
from bot.errors import NotAvailableYet, ParseError


class Kind(Enum):
    BOOL = "bool"
    STRING = "string"
    INT = "int"
    LIST = "list"  # repeatable string (pflag stringArray / docker's ListOpts)


@dataclass(frozen=True)
class Flag:
    name: str
    help: str
    kind: Kind = Kind.BOOL
    short: str | None = None
    default: Any = None
    value_name: str | None = None  # shown in help: "--tail string"
    not_available: str | None = None  # docker has it, dockbell refuses it (with this reason)
    go_type: str = "int"  # Kind.INT only: pflag's type (int, int64, uint16...), its range and signedness
    hidden: bool = False  # accepted but left out of --help, as docker's MarkHidden/MarkDeprecated flags

    def __post_init__(self) -> None:
        if self.go_type not in GO_INT_TYPES:
            raise ValueError(f"unknown integer flag type {self.go_type!r}")

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    def initial(self) -> Any:
        if self.kind is Kind.LIST:
            return list(self.default or [])
        if self.kind is Kind.BOOL:
            return bool(self.default)
        return self.default

    def spelled(self) -> str:
        return f"-{self.short}, --{self.name}" if self.short else f"--{self.name}"


@dataclass
class Parsed:
    opts: dict[str, Any]
    args: list[str]
    given: list[str] = field(default_factory=list)  # long names of the flags the user typed

    def __getitem__(self, name: str) -> Any:
        return self.opts[name.replace("-", "_")]


_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def _invalid(flag: Flag, raw: str, cause: str) -> ParseError:
    """pflag's InvalidValueError: both the value and the flag's name are Go-quoted (``%q``)."""
    return ParseError(f"invalid argument {quote(raw)} for {quote(flag.spelled())} flag: {cause}")


def _parse_bool(flag: Flag, raw: str) -> bool:
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise _invalid(flag, raw, f"strconv.ParseBool: parsing {quote(raw)}: invalid syntax")


def _convert(flag: Flag, raw: str) -> Any:
    if flag.kind is Kind.BOOL:
        return _parse_bool(flag, raw)
    if flag.kind is Kind.INT:
        # pflag's int flags read base 0: "010" is 8, "0x10" 16, "1_000" 1000.
        try:
            return parse_go_int(raw, flag.go_type)
        except NumError as err:
            raise _invalid(flag, raw, str(err)) from None
    return raw


class FlagSet:
    """The flags of one command, parsed the way pflag parses them."""

    def __init__(self, flags: Sequence[Flag], *, interspersed: bool = True) -> None:
        self.flags = list(flags)
        self.interspersed = interspersed
        self._long = {f.name: f for f in self.flags}
        self._short = {f.short: f for f in self.flags if f.short}
        if len(self._long) != len(self.flags) or len(self._short) != sum(1 for f in self.flags if f.short):
            raise ValueError("duplicate flag in flag set")

    def parse(self, argv: Sequence[str]) -> Parsed:
        parsed = Parsed(opts={f.dest: f.initial() for f in self.flags}, args=[])
        i = 0
        while i < len(argv):
            word = argv[i]
            i += 1
            if word == "--":
                parsed.args.extend(argv[i:])
                break
            if word.startswith("--") and len(word) > 2:
                i = self._parse_long(word, argv, i, parsed)
            elif word.startswith("-") and len(word) > 1:
                i = self._parse_shorts(word, argv, i, parsed)
            else:
                parsed.args.append(word)
                if not self.interspersed:
                    parsed.args.extend(argv[i:])
                    break
        return parsed

    def _set(self, flag: Flag, raw: str, parsed: Parsed) -> None:
        if flag.not_available:
            raise NotAvailableYet(f"{flag.spelled()}: {flag.not_available}")
        value = _convert(flag, raw)
        if flag.kind is Kind.LIST:
            parsed.opts[flag.dest].append(value)
        else:
            parsed.opts[flag.dest] = value
        parsed.given.append(flag.name)

    def _parse_long(self, word: str, argv: Sequence[str], i: int, parsed: Parsed) -> int:
        name, eq, value = word[2:].partition("=")
        if not name or name[0] == "-":  # ---x, --=x
            raise ParseError(f"bad flag syntax: {word}")
        flag = self._long.get(name)
        if flag is None:
            raise ParseError(f"unknown flag: --{name}")
        if eq:
            self._set(flag, value, parsed)
        elif flag.kind is Kind.BOOL:
            self._set(flag, "true", parsed)
        elif i < len(argv):
            self._set(flag, argv[i], parsed)
            i += 1
        else:
            raise ParseError(f"flag needs an argument: --{name}")
        return i

    def _parse_shorts(self, word: str, argv: Sequence[str], i: int, parsed: Parsed) -> int:
        """One ``-abc`` group, as pflag's parseSingleShortArg walks it.

        Errors name the rest of the group from the failing letter on (``-az`` fails with
        ``'z' in -z``), because that is the string pflag has in hand at that point.
        """
        shorts = word[1:]
        while shorts:
            if shorts.startswith("test."):
                return i  # pflag skips what looks like a Go test flag (-test.v): docker ignores it too
            c, rest = shorts[0], shorts[1:]
            flag = self._short.get(c)
            if flag is None:
                raise ParseError(f"unknown shorthand flag: {_shorthand(c)} in -{shorts}")
            if len(shorts) > 2 and shorts[1] == "=":  # -n=5, -d=false
                self._set(flag, shorts[2:], parsed)
                return i
            if flag.kind is Kind.BOOL:  # pflag's NoOptDefVal: never takes the rest as a value
                self._set(flag, "true", parsed)
                shorts = rest
            elif rest:  # -n5 (and -n= is the value "=")
                self._set(flag, rest, parsed)
                return i
            elif i < len(argv):
                self._set(flag, argv[i], parsed)
                return i + 1
            else:
                raise ParseError(f"flag needs an argument: {_shorthand(c)} in -{shorts}")
        return i

    def help_lines(self) -> list[str]:
        """The Options section as docker prints it (pflag's FlagUsages)."""
        rows = []
        for f in self.flags:
            if f.not_available or f.hidden:
                continue
            left = f"  -{f.short}, --{f.name}" if f.short else f"      --{f.name}"
            if f.kind is not Kind.BOOL:
                left += " " + (f.value_name or f.kind.value)
            desc = f.help
            if f.default not in (None, False, [], "") and f.kind is not Kind.BOOL:
                desc += f" (default {f.default!r})" if f.kind is Kind.STRING else f" (default {f.default})"
            rows.append((left, desc))
        width = max((len(left) for left, _ in rows), default=0)
        return [f"{left.ljust(width)}   {desc}" for left, desc in rows]


def _shorthand(c: str) -> str:
    """pflag's ``%q`` of the group's first byte as a rune: ``'z'``; a non-ASCII letter shows its lead byte."""
    return quote_byte(c.encode("utf-8")[0])
