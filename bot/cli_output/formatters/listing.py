"""docker/cli's list formatting (``formatter.Context.Write``), shared by ps, images and stats.

What the CLI does with ``--format``, step by step:

1. ``"table"`` (or no flag) is the command's default table, ``"json"`` is ``{{json .}}``, a value
   starting with ``"table"`` is a table whose template follows the word; anything else is a
   plain template. ``"tablexyz"`` counts as a table too: the CLI only checks the prefix.
2. The template (table prefix removed) is trimmed of spaces, and the two-character sequences
   ``\\t`` and ``\\n`` become a real tab and newline - even inside string literals.
3. Each row is the template executed on one context, followed by ``\\n``.
4. A table's header is the same template executed on the map of column headers with
   docker's header functions (``{{upper .Names}}`` stays ``NAMES``); header errors are ignored,
   leaving whatever was written. Header and rows then go through the tabwriter (10, 1, 3).

Errors - while parsing or while executing any row - read ``template parsing error: ...``
like the CLI's, and no partial output is returned.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from bot.cli_output import gotemplate
from bot.cli_output.gotemplate import GoFunc, GoStruct, GoTemplateError, TemplateContext
from bot.cli_output.gotemplate.budget import BudgetExceeded, charge_output, charge_work
from bot.cli_output.tabwriter import render_tabbed
from bot.errors import TemplateError

__all__ = ["JSON_KEY", "TABLE_KEY", "HeaderContext", "is_table", "pre_format", "render_list", "write"]

# The tabwriter is a Python loop over every character: ~450 ns each, measured on 1,000 ps rows.
TABWRITER_PRICE = 450

TABLE_KEY = "table"
JSON_KEY = "json"
RAW_KEY = "raw"
JSON_FORMAT = "{{json .}}"


class HeaderContext(dict[str, str]):
    """docker's ``SubHeaderContext``: a Go ``map[string]string`` with a ``Label`` method.

    ``{{.Names}}`` looks the column header up; ``{{.Label "com.example.vendor"}}`` shows
    ``vendor`` (the last dotted part, ``-``/``_`` as spaces).
    """

    def template_type(self) -> str:
        return "formatter.SubHeaderContext"

    def template_method(self, name: str) -> GoFunc | None:
        return GoFunc(self.Label, ("string",)) if name == "Label" else None

    def template_json(self) -> Mapping[str, object]:
        return self

    def Label(self, name: str) -> str:
        last = name.split(".")[-1]
        return last.replace("-", " ").replace("_", " ")


def is_table(fmt: str) -> bool:
    return fmt.startswith(TABLE_KEY)


def pre_format(fmt: str) -> str:
    """``Context.preFormat``: the template text the CLI actually parses."""
    if is_table(fmt):
        fmt = fmt[len(TABLE_KEY) :]
    elif fmt == JSON_KEY:
        fmt = JSON_FORMAT
    return fmt.strip(" ").replace("\\t", "\t").replace("\\n", "\n")


def _listing_error(exc: GoTemplateError) -> TemplateError:
    return TemplateError(f"template parsing error: {exc.go_message}")


_FIELD = re.compile(r"\{\{\s*\.([A-Z][A-Za-z0-9]*)\s*\}\}")


def _simple_rows(text: str, contexts: Sequence[TemplateContext]) -> list[str] | None:
    """Rows for a format made only of literal text and ``{{.Field}}`` actions, or None.

    The default tables and most hand-written formats are of this shape; running them
    through the interpreter costs ~0.3 ms a row, which on a busy host blocks the event
    loop long enough to delay other commands' acks.  The output is the interpreter's
    (tests compare both paths), and anything unusual falls back to it.
    """
    pieces: list[str] = []
    fields: list[str] = []
    pos = 0
    for match in _FIELD.finditer(text):
        pieces.append(text[pos : match.start()])
        fields.append(match[1])
        pos = match.end()
    pieces.append(text[pos:])
    if any("{{" in p or "}}" in p for p in pieces):
        return None
    rows = []
    for ctx in contexts:
        if not isinstance(ctx, GoStruct):
            return None
        exported = ctx._exported()
        out = [pieces[0]]
        for name, literal in zip(fields, pieces[1:], strict=True):
            if exported.get(name) != ():
                return None
            value = getattr(ctx, name)()
            if not isinstance(value, str):
                return None
            out.append(value)
            out.append(literal)
        row = "".join(out) + "\n"
        charge_output(row)  # the same output budget as the interpreter's rows
        rows.append(row)
    return rows


def write(fmt: str, headers: Mapping[str, str], contexts: Sequence[TemplateContext]) -> str:
    """``Context.Write`` for an already resolved format (default tables substituted)."""
    try:
        text = pre_format(fmt)
        template = gotemplate.parse(text)
        rows = _simple_rows(text, contexts)
        if rows is None:
            rows = [template.execute(ctx) + "\n" for ctx in contexts]
    except GoTemplateError as exc:
        raise _listing_error(exc) from None
    except BudgetExceeded as exc:  # the fast path's rows: no template location to give
        raise TemplateError(f"template parsing error: template: {exc}") from None
    if not is_table(fmt):
        return "".join(rows)
    header = template.execute_partial(HeaderContext(headers), funcs=gotemplate.HEADER_FUNCS)
    table = header + "\n" + "".join(rows)
    try:
        charge_work(len(table) * TABWRITER_PRICE)
    except BudgetExceeded as exc:
        raise TemplateError(f"template parsing error: template: {exc}") from None
    return render_tabbed(table, minwidth=10, tabwidth=1, padding=3)


def render_list(
    fmt: str | None,
    *,
    default_table: str,
    headers: Mapping[str, str],
    contexts: Sequence[TemplateContext],
    raw_format: str | None = None,
) -> str:
    """The text ``docker ps/images/stats --format FMT`` prints for these rows.

    ``fmt`` is the flag's value: ``None``/``""``/``"table"`` give ``default_table`` (itself a
    ``"table ..."`` format), ``"json"`` one JSON object per line, ``"raw"`` the command's
    ``raw_format`` when it has one. ``-q`` is the caller's business (format ``{{.ID}}``).
    """
    if fmt in (None, "", TABLE_KEY):
        source = default_table
    elif fmt == RAW_KEY and raw_format is not None:
        source = raw_format
    else:
        source = fmt
    assert source is not None
    return write(source, headers, contexts)
