"""bot.cli_output.tabwriter against the test table of docker/cli's tabwriter fork (cases without flags)."""

from __future__ import annotations

import pytest

from bot.cli_output.tabwriter import TabWriter, display_width, format_table, render_tabbed

# (name, minwidth, tabwidth, padding, padchar, src, expected) from
# docker/cli cli/command/formatter/tabwriter/tabwriter_test.go
CASES = [
    ("1a", 8, 0, 1, ".", "", ""),
    ("2", 8, 0, 1, ".", "\n\n\n", "\n\n\n"),
    ("3", 8, 0, 1, ".", "a\nb\nc", "a\nb\nc"),
    ("4a", 8, 0, 1, ".", "\t", ""),
    ("5", 8, 0, 1, ".", "*\t*", "*.......*"),
    ("5b", 8, 0, 1, ".", "*\t*\n", "*.......*\n"),
    ("5c", 8, 0, 1, ".", "*\t*\t", "*.......*"),
    ("6", 8, 0, 1, ".", "\t\n", "........\n"),
    ("7a", 8, 0, 1, ".", "a) foo", "a) foo"),
    ("7b", 8, 0, 1, " ", "b) foo\tbar", "b) foo  bar"),
    ("7c", 8, 0, 1, ".", "c) foo\tbar\t", "c) foo..bar"),
    ("7d", 8, 0, 1, ".", "d) foo\tbar\n", "d) foo..bar\n"),
    ("7e", 8, 0, 1, ".", "e) foo\tbar\t\n", "e) foo..bar.....\n"),
    ("8", 8, 0, 1, "*", "Hello, world!\n", "Hello, world!\n"),
    ("9a", 1, 0, 0, ".", "1\t2\t3\t4\n11\t222\t3333\t44444\n", "1.2..3...4\n11222333344444\n"),
    ("9c", 1, 0, 0, ".", "1\t2\t3\t4\f11\t222\t3333\t44444\n", "1234\n11222333344444\n"),
    ("10a", 5, 0, 0, ".", "1\t2\t3\t4\n", "1....2....3....4\n"),
    ("10b", 5, 0, 0, ".", "1\t2\t3\t4\t\n", "1....2....3....4....\n"),
    (
        "11 (docker: East Asian wide runes count 2)",
        8, 0, 1, ".",
        "本\tb\tc\naa\t本本本\tcccc\tddddd\naaa\tbbbb\n",
        "本......b.......c\naa......本本本..cccc....ddddd\naaa.....bbbb\n",
    ),
    (
        "12b", 2, 0, 0, " ",
        "a\tb\tc\naa\tbbb\tcccc\naaa\tbbbb\n",
        "a  b  c\naa bbbcccc\naaabbbb\n",
    ),
    (
        "12c", 8, 0, 1, "_",
        "a\tb\tc\naa\tbbb\tcccc\naaa\tbbbb\n",
        "a_______b_______c\naa______bbb_____cccc\naaa_____bbbb\n",
    ),
    (
        "13a", 4, 0, 1, "-",
        "4444\t日本語\t22\t1\t333\n999999999\t22\n7\t22\n\t\t\t88888888\n\n"
        "666666\t666666\t666666\t4444\n1\t1\t999999999\t0000000000\n",
        "4444------日本語-22--1---333\n999999999-22\n7---------22\n------------------88888888\n\n"
        "666666-666666-666666----4444\n1------1------999999999-0000000000\n",
    ),
    (
        "13b", 4, 0, 3, ".",
        "4444\t333\t22\t1\t333\n999999999\t22\n7\t22\n\t\t\t88888888\n\n"
        "666666\t666666\t666666\t4444\n1\t1\t999999999\t0000000000\n",
        "4444........333...22...1...333\n999999999...22\n7...........22\n....................88888888\n\n"
        "666666...666666...666666......4444\n1........1........999999999...0000000000\n",
    ),
    ("15a", 4, 0, 0, ".", "a\t\tb", "a.......b"),
]  # fmt: skip


def _run(src: str, chunks: list[str], minwidth: int, tabwidth: int, padding: int, padchar: str) -> str:
    writer = TabWriter(minwidth=minwidth, tabwidth=tabwidth, padding=padding, padchar=padchar)
    for chunk in chunks:
        writer.write(chunk)
    writer.flush()
    return writer.getvalue()


def _fibonacci_chunks(src: str) -> list[str]:
    chunks, i, d = [], 0, 0
    while i < len(src):
        chunks.append(src[i : i + d])
        i, d = i + d, d + 1
        d = min(d, len(src) - i)
    return chunks


@pytest.mark.parametrize(("name", "minwidth", "tabwidth", "padding", "padchar", "src", "expected"), CASES)
def test_go_tabwriter_table(
    name: str, minwidth: int, tabwidth: int, padding: int, padchar: str, src: str, expected: str
) -> None:
    # Like Go's test: all at once, one character at a time, and in growing slices.
    for chunks in ([src], list(src), _fibonacci_chunks(src)):
        assert _run(src, chunks, minwidth, tabwidth, padding, padchar) == expected, name


def test_docker_table_settings_pad_all_but_the_last_cell() -> None:
    text = format_table([["CONTAINER ID", "NAMES"], ["abc", "web"]])
    assert text == "CONTAINER ID   NAMES\nabc            web\n"


def test_a_short_line_splits_a_column() -> None:
    # Columns are blocks of consecutive lines: the tab-less middle line resets alignment.
    assert render_tabbed("a\tb\nno tabs here\nlonger-cell\tc\n", minwidth=1, padding=1) == (
        "a b\nno tabs here\nlonger-cell c\n"
    )


def test_trailing_tab_pads_the_cell_before_it() -> None:
    assert render_tabbed("x\t\ny\t\n", minwidth=4, padding=1) == "x   \ny   \n"


@pytest.mark.parametrize(
    ("text", "width"),
    [("abc", 3), ("日本語", 6), ("e\u0301", 1), ("\x1b", 0), ("ｆｕｌｌ", 8), ("", 0)],
)
def test_display_width_follows_go_runewidth(text: str, width: int) -> None:
    assert display_width(text) == width


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        TabWriter(minwidth=-1)
    with pytest.raises(ValueError, match="padchar"):
        TabWriter(padchar="\t")
