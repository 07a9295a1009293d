"""What one template execution may cost: dockbell's limits, which Go does not have.

A chat bot cannot let ``{{range 1000000000}}`` run, so every limit and all the
accounting against it live here, in one place: the executor charges a step per node it
evaluates and the characters it writes, the parser and the executor stop at
:data:`MAX_DEPTH`, and ``pad`` refuses padding no output could hold.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.cli_output.gotemplate.errors import FuncError

MAX_OUTPUT = 4_000_000  # characters one execution may produce
MAX_STEPS = 2_000_000  # nodes one execution may evaluate
MAX_DEPTH = 100  # nesting of parentheses, control blocks and {{template}} calls


class BudgetExceeded(Exception):
    """One execution spent its budget; the executor adds where (Go's location prefix)."""


@dataclass
class Budget:
    """What is left of one execution's budget."""

    chars: int = MAX_OUTPUT
    steps: int = MAX_STEPS

    def step(self) -> None:
        """Charge one evaluated node."""
        self.steps -= 1
        if self.steps < 0:
            raise BudgetExceeded(f"template too expensive: more than {MAX_STEPS} steps (dockbell's limit)")

    def write(self, text: str) -> None:
        """Charge text about to be written to the output."""
        self.chars -= len(text)
        if self.chars < 0:
            raise BudgetExceeded(f"output longer than {MAX_OUTPUT} characters (dockbell's limit)")


def check_padding(width: int) -> None:
    """Refuse padding wider than any output may be, before it is built (``pad`` reports it)."""
    if width > MAX_OUTPUT:
        raise FuncError(f"padding beyond {MAX_OUTPUT} characters (dockbell's limit)")
