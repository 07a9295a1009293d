"""One budget per command, counted in work and output, not steps (issue 8, item 1): the accounting.

Wall-clock figures live in bench/noisy.py; these tests count units, which do not depend on
how busy the machine is.
"""

from __future__ import annotations

import asyncio
import pickle
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

from bot.cli_output import gotemplate, offload
from bot.cli_output.formatters.listing import render_list
from bot.cli_output.formatters.templated import render_each, render_one
from bot.cli_output.gotemplate import GoTemplateError, budget
from bot.cli_output.gotemplate.budget import MAX_OUTPUT, MAX_VALUE, MAX_WORK, PY_CHAR, STEP, Budget, SliceSpent, using
from bot.cli_output.offload import EvaluationPool, command_scope, evaluate
from bot.errors import TemplateError
from bot.slack import render

R = TypeVar("R")

SPLIT_JOIN = '{{range 3000}}{{if (join (split (printf "%0100000d" 0) "") ",")}}{{end}}{{end}}'
WIDE = '{{range 2000}}{{printf "%02000d" 0}}{{end}}'


def spent(text: str, data: object = None) -> int:
    """Work units one execution of ``text`` charges."""
    with using(Budget()) as b:
        gotemplate.parse(text).execute(data)
    return MAX_WORK - b.work


def cost_of(expr: str) -> int:
    """Units an action costs beyond the same action on a constant: what its function builds."""
    return spent("{{" + expr + "}}") - spent('{{"x"}}')


# -- what functions charge ---------------------------------------------------------------------------


def test_steps_alone_are_not_the_measure_string_functions_charge_what_they_build() -> None:
    # The same steps either way; the difference is the 100,000 characters built.
    assert cost_of('printf "%0100000d" 0') - cost_of('printf "%01d" 0') >= 100_000
    assert cost_of('len (split (printf "%010000d" 0) "")') > 10_000 * budget.ELEMENT
    assert cost_of('len (join (split (printf "%010000d" 0) "") ",")') > cost_of('len (split (printf "%010000d" 0) "")')
    assert cost_of('pad "x" 50000 50000') > 100_000
    assert cost_of('lower (printf "%010000d" 0)') >= 10_000 * PY_CHAR
    assert cost_of('json (printf "%010000d" 0)') >= 10_000 * PY_CHAR


def test_a_value_over_the_limit_is_refused_before_it_is_built() -> None:
    with pytest.raises(GoTemplateError, match=r"error calling pad: a value longer than .* \(dockbell's limit\)"):
        gotemplate.parse(f'{{{{pad "x" {MAX_VALUE} 1}}}}').execute(None)
    many = "%01000000d" * 3  # each verb within Go's width limit; together over the value limit
    with pytest.raises(GoTemplateError, match="dockbell's limit"):
        gotemplate.parse(f'{{{{len (printf "{many}" 0 0 0)}}}}').execute(None)


@pytest.mark.parametrize(
    ("template", "wording"),
    [
        (SPLIT_JOIN, "template too expensive: more work than dockbell allows one command"),
        (WIDE, f"output longer than {MAX_OUTPUT} characters"),
        ("{{range 100000000}}{{end}}", "template too expensive"),
        ('{{range 100000}}{{$x := printf "%0100000d" 0}}{{end}}', "template too expensive"),
    ],
)
def test_the_issues_templates_exceed_the_budget(template: str, wording: str) -> None:
    with pytest.raises(GoTemplateError, match=wording):
        gotemplate.parse(template).execute({})


def test_the_deadline_stops_an_execution_with_the_limit_in_words() -> None:
    late = Budget(deadline=time.monotonic() - 1, time_limit=10)
    with using(late), pytest.raises(GoTemplateError, match=r"dockbell stopped this command after 10 s"):
        gotemplate.parse("{{range 100000}}{{end}}").execute(None)


# -- one budget per command ----------------------------------------------------------------------------

HEAVY = '{{range 1500}}{{len (printf "%0100000d" 0)}}{{end}}'  # about a third of the budget


def test_inspect_f_on_many_documents_shares_one_budget() -> None:
    assert spent(HEAVY) > MAX_WORK // 4
    with using(Budget()):
        render_each(HEAVY, [{}])  # one document fits
    with using(Budget()), pytest.raises(GoTemplateError, match="too expensive"):
        render_each(HEAVY, [{}] * 4)  # four do not: not one budget each


def test_a_list_shares_the_budget_across_its_rows_and_its_header() -> None:
    rows = [{"a": 1}] * 3
    with using(Budget()), pytest.raises(TemplateError, match="output longer than"):
        render_list(WIDE, default_table="table {{.a}}", headers={}, contexts=rows)  # type: ignore[arg-type]


def test_without_a_command_each_execution_has_its_own_budget() -> None:
    assert render_each(HEAVY, [{}]).count("100000") == 1500  # tests and the CLI's own tables


# -- off the event loop ------------------------------------------------------------------------------


def test_the_slice_signal_passes_every_guard() -> None:
    # A BaseException: the template guard must not turn it into "internal error".
    with using(Budget(slice=10 * STEP)), pytest.raises(SliceSpent):
        gotemplate.parse("{{range 1000}}{{end}}").execute(None)


def test_template_errors_cross_a_process_boundary() -> None:
    err = pickle.loads(pickle.dumps(GoTemplateError("template: :1: bad", parse_error=True)))
    assert (str(err), err.go_message, err.parse_error) == (
        "template parsing error: template: :1: bad",
        "template: :1: bad",
        True,
    )


class _NoPool(EvaluationPool):
    async def run(self, key: str, budget: Budget, fn: Callable[..., R], *args: object, **kwargs: object) -> R:
        raise AssertionError("cheap work was sent to the pool")


async def test_cheap_work_stays_inline_and_charges_the_command() -> None:
    b = Budget()
    with command_scope(_NoPool(), "U1", b):
        assert await evaluate(render_one, "{{range 3}}{{.}}{{end}}", None) == "012"
        assert await evaluate(render_one, "{{.}}", "x") == "x"
    assert 0 < MAX_WORK - b.work < offload.INLINE_WORK


async def test_expensive_work_runs_in_a_process_with_what_is_left_of_the_budget() -> None:
    pool = EvaluationPool(workers=1)
    b = Budget(deadline=time.monotonic() + 60, time_limit=60)
    with command_scope(pool, "U1", b):
        out = await evaluate(render_one, "{{range 30000}}{{$}}{{end}}", "y")
        assert out == "y" * 30000
        used = MAX_WORK - b.work
        assert used > offload.INLINE_WORK  # the slice tried inline, then the whole run in the pool
        with pytest.raises(GoTemplateError, match="too expensive"):
            await evaluate(render_one, SPLIT_JOIN, None)
    assert b.work < 0 or MAX_WORK - b.work > used  # the child's spending came back


async def test_one_persons_evaluations_take_turns_and_a_third_is_refused_at_once() -> None:
    pool = EvaluationPool(workers=2)

    async def one(key: str = "U1") -> str:
        with command_scope(pool, key, Budget(deadline=time.monotonic() + 60, time_limit=60)):
            return await evaluate(render_one, "{{range 30000}}{{$}}{{end}}", "z")

    both = asyncio.gather(one(), one())
    while pool._waiting.get("U1") != 2:  # both asked for a turn ...
        await asyncio.sleep(0.01)
    assert pool._turns["U1"].locked()  # ... and one holds it while the other waits, with a process free
    with pytest.raises(TemplateError, match="still evaluating your earlier templates"):
        await one()  # a third would hold a command slot for nothing
    assert await one("U2") == "z" * 30000  # someone else's runs meanwhile
    assert list(await both) == ["z" * 30000] * 2
    assert not pool._turns  # nothing is left behind for a person with no work


async def test_everyones_pending_evaluations_are_bounded() -> None:
    pool = EvaluationPool(workers=1)
    many = [asyncio.ensure_future(_slow(pool, f"U{i}")) for i in range(offload.PENDING_PER_PROCESS)]
    while sum(pool._waiting.values()) < offload.PENDING_PER_PROCESS:
        await asyncio.sleep(0.01)
    with pytest.raises(TemplateError, match="busy evaluating other templates"):
        await _slow(pool, "U_LATE")
    with command_scope(pool, "U_CHEAP", Budget()):
        assert await evaluate(render_one, "{{.}}", "ok") == "ok"  # what needs no pool still runs
    assert all(out == "w" * 30000 for out in await asyncio.gather(*many))


async def _slow(pool: EvaluationPool, key: str) -> str:
    with command_scope(pool, key, Budget(deadline=time.monotonic() + 60, time_limit=60)):
        return await evaluate(render_one, "{{range 30000}}{{$}}{{end}}", "w")


# -- the preview --------------------------------------------------------------------------------------


def test_the_preview_of_a_huge_one_line_output_is_cut_before_it_is_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real = render.output_sections

    def counting(text: str, budget: int = render.SECTION_LIMIT) -> list[str]:
        nonlocal calls
        calls += 1
        assert len(text) <= render.SECTION_LIMIT  # never the 4 MB line itself
        return real(text, budget)

    monkeypatch.setattr(render, "output_sections", counting)
    reply = render.Reply("version", "0" * 4_000_000)
    msg = render.file_reply(reply, filename="v.txt", where="DM", preview_lines=15)
    preview = next(b for b in msg["blocks"] if b.get("block_id") == "preview")
    assert len(preview["text"]["text"]) <= render.SECTION_LIMIT and calls <= 2
    assert any("First 1 of 1 lines" in str(b) for b in msg["blocks"])
