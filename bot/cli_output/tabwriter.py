"""Go's text/tabwriter (docker/cli's fork), so our tables align exactly like the CLI's.

docker/cli formats every table through ``tabwriter.NewWriter(out, minwidth, 1, padding, ' ', 0)``:
``(10, 1, 3)`` for ``ps``/``images``/``stats`` (formatter.Context), ``(20, 1, 3)`` for ``top`` and
``(20, 1, 1)`` for ``version``.  The algorithm is Go's *elastic tabstops*:

* a cell is text terminated by ``\\t`` (or ``\\v``); the text after the last tab of a line is
  not part of any column and is never padded;
* a column is a run of *consecutive* lines that have a cell at that index; its width is
  ``max(minwidth, widest cell + padding)``, so one short line splits a column in two;
* a line with no tab at all flushes everything above it (it cannot affect alignment).

docker's fork measures cells with go-runewidth (East Asian wide characters count 2, combining
marks 0), which we reproduce with :func:`display_width` - verified against the real CLI with a
``日本語`` label.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

__all__ = ["TabWriter", "display_width", "format_table", "render_tabbed"]


def _rune_width(ch: str) -> int:
    cp = ord(ch)
    if cp < 0x20 or 0x7F <= cp < 0xA0:
        return 0  # control characters
    category = unicodedata.category(ch)
    if category in ("Mn", "Me", "Cf", "Cs") or cp in (0x200B, 0x2028, 0x2029):
        return 0  # combining marks and invisible format characters
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 2
    return 1


_PRINTABLE_ASCII = re.compile(r"[ -~]*")


def display_width(text: str) -> int:
    """go-runewidth ``StringWidth`` (non-East-Asian locale: ambiguous characters are 1 wide)."""
    if _PRINTABLE_ASCII.fullmatch(text):
        return len(text)  # the common case, and a hot path for big tables
    return sum(_rune_width(ch) for ch in text)


@dataclass
class _Cell:
    text: str = ""
    width: int = 0
    htab: bool = False  # terminated by '\t' (a "hard" tab) rather than '\v'


@dataclass
class TabWriter:
    """A streaming port of Go's ``tabwriter.Writer`` (padchar must not be a tab; no flags).

    Call :meth:`write` any number of times, then :meth:`flush`; :meth:`getvalue` is the output.
    """

    minwidth: int = 10
    tabwidth: int = 1
    padding: int = 3
    padchar: str = " "
    _out: list[str] = field(default_factory=list)
    _lines: list[list[_Cell]] = field(default_factory=lambda: [[]])
    _cell: _Cell = field(default_factory=_Cell)
    _widths: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.minwidth < 0 or self.tabwidth < 0 or self.padding < 0:
            raise ValueError("negative minwidth, tabwidth, or padding")
        if len(self.padchar) != 1 or self.padchar == "\t":
            raise ValueError("padchar must be one character other than a tab")

    # -- input -------------------------------------------------------------------------------

    def write(self, text: str) -> None:
        start = 0
        for i, ch in enumerate(text):
            if ch not in "\t\v\n\f":
                continue
            self._append(text[start:i])
            start = i + 1
            ncells = self._terminate_cell(htab=ch == "\t")
            if ch in "\n\f":
                self._lines.append([])
                # A line with a single cell cannot influence the columns below it (the last
                # cell of a line never belongs to a column), so Go flushes here; '\f' always does.
                if ch == "\f" or ncells == 1:
                    self._flush()
        self._append(text[start:])

    def flush(self) -> None:
        self._flush()

    def getvalue(self) -> str:
        return "".join(self._out)

    def _append(self, text: str) -> None:
        if text:
            self._cell.text += text
            self._cell.width += display_width(text)

    def _terminate_cell(self, *, htab: bool) -> int:
        self._cell.htab = htab
        line = self._lines[-1]
        line.append(self._cell)
        self._cell = _Cell()
        return len(line)

    # -- formatting (a line-by-line port of tabwriter.format / writeLines) ------------------

    def _flush(self) -> None:
        if self._cell.text:
            self._terminate_cell(htab=False)
        self._format(0, len(self._lines))
        self._lines = [[]]
        self._cell = _Cell()
        self._widths = []

    def _format(self, line0: int, line1: int) -> None:
        column = len(self._widths)
        this = line0
        while this < line1:
            if column >= len(self._lines[this]) - 1:
                this += 1
                continue
            # This line has a cell in `column`: print what precedes the block, then measure it.
            self._write_lines(line0, this)
            line0 = this
            width = self.minwidth
            while this < line1 and column < len(self._lines[this]) - 1:
                width = max(width, self._lines[this][column].width + self.padding)
                this += 1
            self._widths.append(width)
            self._format(line0, this)  # columns to the right, within this block
            self._widths.pop()
            line0 = this
        self._write_lines(line0, line1)

    def _write_lines(self, line0: int, line1: int) -> None:
        for i in range(line0, line1):
            for j, cell in enumerate(self._lines[i]):
                self._out.append(cell.text)
                if j < len(self._widths):
                    self._out.append(self.padchar * (self._widths[j] - cell.width))
            if i + 1 == len(self._lines):
                self._out.append(self._cell.text)  # last buffered line: no newline yet
            else:
                self._out.append("\n")


def render_tabbed(text: str, *, minwidth: int = 10, tabwidth: int = 1, padding: int = 3) -> str:
    """Align text whose cells are separated by ``\\t`` and lines by ``\\n`` (a template's output)."""
    writer = TabWriter(minwidth=minwidth, tabwidth=tabwidth, padding=padding)
    writer.write(text)
    writer.flush()
    return writer.getvalue()


def format_table(lines: list[list[str]], *, minwidth: int = 10, tabwidth: int = 1, padding: int = 3) -> str:
    """Render rows of cells as docker's tables do; every line ends with ``\\n``."""
    text = "".join("\t".join(cells) + "\n" for cells in lines)
    return render_tabbed(text, minwidth=minwidth, tabwidth=tabwidth, padding=padding)
