"""Split a command line into words the way ``shlex.split(line, posix=True)`` does, in linear time.

shlex builds each word one character at a time with ``self.token += c``; the string is an
attribute, so CPython cannot grow it in place and every character copies the word so far:
a 1 MB word took 19 s.  This splitter takes whole runs of ordinary characters with one
regex match or ``str.find`` and joins a word's pieces once, so it is linear in the line.

The grammar is exactly shlex's in POSIX mode with ``whitespace_split`` and no comments
(tests/unit/test_shellwords.py compares the two on generated lines):

* words are separated by runs of space, tab, CR and LF;
* ``'...'`` keeps everything up to the next ``'`` literally;
* ``"..."`` keeps everything literally except that a backslash escapes ``"`` and ``\\``
  (before any other character the backslash stays);
* outside quotes a backslash makes the next character literal, whatever it is;
* quotes may be glued to other text (``a"b c"d`` is one word) and ``''`` is an empty word.
"""

from __future__ import annotations

import re

_BLANKS = re.compile(r"[ \t\r\n]*")
_BLANK_RUNS = re.compile(r"[ \t\r\n]+")
# A run of unquoted text: ordinary characters and backslash pairs, "unrolled" so the regex
# engine loops in C.  It matches nothing only at a final lone backslash, which _word refuses.
# Escapes are then undone for the whole run at once (see _unescape).
_PLAIN = re.compile(r"[^ \t\r\n'\"\\]*(?:\\.[^ \t\r\n'\"\\]*)*", re.DOTALL)
_PLAIN_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
# The body of a double-quoted part: up to its closing quote, or a final lone backslash.
_IN_DOUBLE = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)
# Inside double quotes a backslash escapes only " and itself; before anything else it stays.
_DOUBLE_ESCAPE = re.compile(r'\\(["\\])')


class UnclosedQuote(ValueError):
    """A quote with no partner before the end of the line (shlex: "No closing quotation")."""

    def __init__(self) -> None:
        super().__init__("No closing quotation")


class DanglingEscape(ValueError):
    """A backslash as the line's last character (shlex: "No escaped character")."""

    def __init__(self) -> None:
        super().__init__("No escaped character")


def split(line: str) -> list[str]:
    """The words of ``line``; raises :class:`UnclosedQuote` or :class:`DanglingEscape`."""
    if "'" not in line and '"' not in line and "\\" not in line:  # most commands: nothing to undo
        return [word for word in _BLANK_RUNS.split(line) if word]
    words: list[str] = []
    end = len(line)
    at = _skip_blanks(line, 0)
    while at < end:
        word, at = _word(line, at)
        words.append(word)
        at = _skip_blanks(line, at)
    return words


def _skip_blanks(line: str, at: int) -> int:
    found = _BLANKS.match(line, at)
    return found.end() if found else at


def _word(line: str, at: int) -> tuple[str, int]:
    """The word starting at ``at`` (not a blank) and where it ends.

    Each turn of the loop consumes one quoted part or one whole unquoted run, so a word
    costs a few regex calls per quote, not a Python step per character.
    """
    pieces: list[str] = []
    end = len(line)
    while at < end:
        char = line[at]
        if char in " \t\r\n":
            break
        if char == "'":
            close = line.find("'", at + 1)
            if close < 0:
                raise UnclosedQuote()
            pieces.append(line[at + 1 : close])
            at = close + 1
        elif char == '"':
            at = _double_quoted(line, at + 1, pieces)
        else:
            run = _PLAIN.match(line, at)
            if run is None or run.end() == at:  # a backslash with nothing after it
                raise DanglingEscape()
            text = run.group()
            pieces.append(_unescape(_PLAIN_ESCAPE, text))
            at = run.end()
    return "".join(pieces), at


def _double_quoted(line: str, at: int, pieces: list[str]) -> int:
    """Append the text of a double-quoted part starting after its ``"``; return where it ends."""
    run = _IN_DOUBLE.match(line, at)
    if run is not None and run.end() > at:
        text = run.group()
        pieces.append(_unescape(_DOUBLE_ESCAPE, text))
        at = run.end()
    if at >= len(line):
        raise UnclosedQuote()
    if line[at] == "\\":  # shlex asks for the escaped character before the closing quote
        raise DanglingEscape()
    return at + 1  # past the closing quote


def _unescape(escape: re.Pattern[str], text: str) -> str:
    """``text`` with each match of ``escape`` replaced by its one group.

    ``split`` keeps a capturing group's text and drops the rest of the match, so joining
    its parts drops the backslashes, all in C; ``sub(r"\\1")`` calls Python per match.
    """
    return "".join(escape.split(text)) if "\\" in text else text
