"""The lexer (Go's ``text/template/parse/lex.go``): template text to a list of items."""

from __future__ import annotations

import enum
import unicodedata
from bisect import bisect_right
from collections.abc import Callable
from typing import NamedTuple

from bot.cli_output.gotemplate.fmt import go_U
from bot.cli_output.gotemplate.strconv import go_quote, is_print


class ItemType(enum.IntEnum):
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
    ".": ItemType.DOT,
    "block": ItemType.BLOCK,
    "break": ItemType.BREAK,
    "continue": ItemType.CONTINUE,
    "define": ItemType.DEFINE,
    "else": ItemType.ELSE,
    "end": ItemType.END,
    "if": ItemType.IF,
    "range": ItemType.RANGE,
    "nil": ItemType.NIL,
    "template": ItemType.TEMPLATE,
    "with": ItemType.WITH,
}

_SPACE_CHARS = " \t\r\n"
_EOF = ""


class Item(NamedTuple):
    typ: ItemType
    pos: int  # character offset in the template
    val: str
    line: int

    def __str__(self) -> str:
        if self.typ == ItemType.EOF:
            return "EOF"
        if self.typ == ItemType.ERROR:
            return self.val
        if self.typ > ItemType.KEYWORD:
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
        self.items: list[Item] = []
        self._newlines = [i for i, ch in enumerate(text) if ch == "\n"]

    def run(self) -> list[Item]:
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

    def item(self, typ: ItemType) -> Item:
        it = Item(typ, self.start, self.input[self.start : self.pos], self.line_at(self.start))
        self.start = self.pos
        return it

    def emit(self, typ: ItemType) -> _LexState:
        self.items.append(self.item(typ))
        return self.lex_inside_action

    def ignore(self) -> None:
        self.start = self.pos

    def errorf(self, message: str) -> _LexState | None:
        """Emit an error item and stop lexing (the parser reports it when it gets there)."""
        self.items.append(Item(ItemType.ERROR, self.start, message, self.line_at(self.start)))
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
                it = self.item(ItemType.TEXT)
                self.pos += trim
                self.ignore()
                if it.val:
                    self.items.append(it)
            return self.lex_left_delim
        self.pos = len(self.input)
        if self.pos > self.start:
            self.items.append(self.item(ItemType.TEXT))
        self.items.append(self.item(ItemType.EOF))
        return None

    def lex_left_delim(self) -> _LexState | None:
        self.pos += 2
        after = 2 if _has_left_trim(self.input, self.pos) else 0
        if self.input.startswith("/*", self.pos + after):
            self.pos += after
            self.ignore()
            return self.lex_comment
        it = self.item(ItemType.LEFT_DELIM)
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
        it = self.item(ItemType.RIGHT_DELIM)
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
        simple = {"=": ItemType.ASSIGN, "|": ItemType.PIPE}
        if ch in simple:
            return self.emit(simple[ch])
        if ch == ":":
            if self.next() != "=":
                return self.errorf("expected :=")
            return self.emit(ItemType.DECLARE)
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
            return self.emit(ItemType.LEFT_PAREN)
        if ch == ")":
            self.paren_depth -= 1
            if self.paren_depth < 0:
                return self.errorf("unexpected right paren")
            return self.emit(ItemType.RIGHT_PAREN)
        if ord(ch) < 0x80 and is_print(ch):
            return self.emit(ItemType.CHAR)
        return self.errorf(f"unrecognized character in action: {go_U(ch)}")

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
        return self.emit(ItemType.SPACE)

    def lex_identifier(self) -> _LexState | None:
        while True:
            ch = self.next()
            if _is_alnum(ch):
                continue
            self.backup()
            word = self.input[self.start : self.pos]
            if not self.at_terminator():
                return self.errorf(f"bad character {go_U(ch)}")
            if word in _KEYWORDS:
                return self.emit(_KEYWORDS[word])
            if word in ("true", "false"):
                return self.emit(ItemType.BOOL)
            return self.emit(ItemType.IDENTIFIER)

    def lex_field(self) -> _LexState | None:
        return self.lex_field_or_variable(ItemType.FIELD)

    def lex_variable(self) -> _LexState | None:
        if self.at_terminator():
            return self.emit(ItemType.VARIABLE)
        return self.lex_field_or_variable(ItemType.VARIABLE)

    def lex_field_or_variable(self, typ: ItemType) -> _LexState | None:
        if self.at_terminator():
            return self.emit(ItemType.VARIABLE if typ == ItemType.VARIABLE else ItemType.DOT)
        while True:
            ch = self.next()
            if not _is_alnum(ch):
                self.backup()
                break
        if not self.at_terminator():
            return self.errorf(f"bad character {go_U(ch)}")
        return self.emit(typ)

    def _lex_quoted(self, quote: str, typ: ItemType, what: str) -> _LexState | None:
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
        return self._lex_quoted("'", ItemType.CHAR_CONSTANT, "character constant")

    def lex_quote(self) -> _LexState | None:
        return self._lex_quoted('"', ItemType.STRING, "quoted string")

    def lex_raw_quote(self) -> _LexState | None:
        end = self.input.find("`", self.pos)
        if end < 0:
            self.pos = len(self.input)
            return self.errorf("unterminated raw quoted string")
        self.pos = end + 1
        return self.emit(ItemType.RAW_STRING)

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
            return self.emit(ItemType.COMPLEX)
        return self.emit(ItemType.NUMBER)


def lex(text: str) -> list[Item]:
    """All the items of a template text, ending with an EOF or an ERROR item."""
    return _Lexer(text).run()
