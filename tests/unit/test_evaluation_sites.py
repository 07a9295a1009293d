"""Every handler runs a user's template through bot.cli_output.offload.evaluate (issue 8, item 1).

Called directly, ``render_list(fmt, ...)`` or ``template.execute(data)`` would run on the
worker's event loop, without the slice that moves expensive work to a process: one viewer's
``--format`` could then hold up everyone's answers again.  So in handlers/, these functions
may only be passed to ``evaluate``, never called.  (Parsing, which is linear and surfaces
errors early, may stay inline.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HANDLERS = sorted((Path(__file__).parents[2] / "handlers").glob("*.py"))
EVALUATED = {"render_list", "execute", "execute_partial", "render_one", "render_each", "ps_needs_size"}


def _direct_calls(source: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in EVALUATED:
                found.append((node.lineno, name))
    return found


@pytest.mark.parametrize("path", HANDLERS, ids=lambda p: p.name)
def test_templates_are_evaluated_off_the_loop(path: Path) -> None:
    calls = _direct_calls(path.read_text(encoding="utf-8"))
    assert not calls, f"{path.name}: call these through `await evaluate(fn, ...)`: {calls}"


def test_the_check_sees_a_direct_call() -> None:
    assert _direct_calls("text = render_list(fmt, contexts=rows)\nt.execute(d)") == [(1, "render_list"), (2, "execute")]
    assert _direct_calls("text = await evaluate(render_list, fmt, contexts=rows)") == []
