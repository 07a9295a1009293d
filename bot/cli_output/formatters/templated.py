"""``-f/--format`` for the commands that take a plain Go template: version, info, inspect.

Module-level functions of plain data, so that :func:`bot.cli_output.offload.evaluate` can run
them in an evaluation process: the template travels as its text and is parsed again there.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.cli_output import gotemplate


def render_one(fmt: str, data: object) -> str:
    """``docker version -f FMT``: the template executed once on ``data``."""
    return gotemplate.parse(fmt).execute(data)


def render_each(fmt: str, docs: Sequence[object]) -> str:
    """``docker inspect -f FMT A B``: once per document, one budget for them all (the command's)."""
    template = gotemplate.parse(fmt)
    return "\n".join(template.execute(doc) for doc in docs)
