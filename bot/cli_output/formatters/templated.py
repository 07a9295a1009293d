"""``-f/--format`` for the commands that take a plain Go template: version, info, inspect.

Module-level functions of plain data, so that :func:`bot.cli_output.offload.evaluate` can run
them in an evaluation process: the template travels as its text and is parsed again there.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from bot.cli_output import gotemplate
from bot.cli_output.formatters.inspect_types import typed
from bot.cli_output.gotemplate import GoTemplateError
from bot.cli_output.gotemplate.budget import Budget, active, using


def render_one(fmt: str, data: object) -> str:
    """``docker version -f FMT``: the template executed once on ``data``."""
    return gotemplate.parse(fmt).execute(data)


def render_each(fmt: str, docs: Sequence[object]) -> str:
    """``docker inspect -f FMT A B``: once per document, one budget for them all (the command's).

    A container or image runs as docker's TemplateInspector runs it: on the Go struct first
    (``{{.State}}`` is ``{running true ...}``), and, if that fails, once more on the raw JSON
    with missing keys as errors (``map has no entry for key "Nope"``), whose error is then
    the answer, as ``template parsing error: ...``.  Other documents run on their JSON.
    """
    template = gotemplate.parse(fmt)
    budget = active()
    if budget is None:
        with using(Budget()):
            return "\n".join(_render(template, doc) for doc in docs)
    return "\n".join(_render(template, doc) for doc in docs)


def _render(template: gotemplate.Template, doc: object) -> str:
    value = typed(doc)
    if value is None:
        return template.execute(doc)
    budget = active()
    chars = budget.chars if budget is not None else 0
    try:
        return template.execute(value)
    except GoTemplateError:
        if budget is not None and _spent(budget):
            raise  # dockbell's limit, not the template's fault: no second attempt
        if budget is not None:
            budget.chars = chars  # the failed attempt's output is thrown away (its work stays charged)
    try:
        return template.execute(doc, missing_key_error=True)
    except GoTemplateError as err:
        raise GoTemplateError(err.go_message, parse_error=True) from None


def _spent(budget: Budget) -> bool:
    late = budget.deadline is not None and time.monotonic() > budget.deadline
    return budget.work < 0 or budget.chars < 0 or late
