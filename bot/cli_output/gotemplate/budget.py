"""What one command's templates may cost: dockbell's limits, which Go does not have.

A chat bot cannot let ``{{range 1000000000}}`` run, nor let one person's template hold up
everyone else's answers.  So a command gets one :class:`Budget`, shared by every template
execution it makes (each row of ``ps``, each document of ``inspect``, the probe ``ps`` runs
to see whether it needs sizes), and counted three ways:

* **work**, in units of about a nanosecond of CPU on the 2-core machine dockbell is tested
  on: each template node evaluated costs :data:`STEP`, each character a function builds
  :data:`CHAR` (:data:`PY_CHAR` where the function handles it in a Python loop, as
  ``lower`` or ``json`` do), each list element or map entry built or visited :data:`ELEMENT`;
* **output**: the characters written, all executions together (:data:`MAX_OUTPUT`);
* **time**: the command's deadline (its wall-clock limit), read as work is charged.

Steps alone are not a measure: ``{{join (split (printf "%0100000d" 0) "") ","}}`` is five
steps and 300,000 characters.  So every function charges for what it builds, *before*
building it where the size is known in advance (a ``printf`` width, ``pad``, ``split``,
``join``), and no single value may exceed :data:`MAX_VALUE`: what is refused is never built.

Functions reach the budget of the execution they run in through :func:`charge`, a context
variable, so their Go signatures stay as they are.  A :class:`Budget` outside any command
(a test, a formatter called on its own) is fresh per execution.

The parser and the executor also stop at :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

MAX_WORK = 1_000_000_000  # one command's work: about a second of CPU at most
MAX_OUTPUT = 2_000_000  # characters one command's templates may write, all executions together
MAX_VALUE = 2_000_000  # characters (or elements) of any one string (or list) a function builds
MAX_DEPTH = 100  # nesting of parentheses, control blocks and {{template}} calls

# The prices, measured (bench/noisy.py --calibrate prints what they cost on this machine).
STEP = 1_500  # one node evaluated: 0.5-1.5 us in this interpreter
CHAR = 1  # one character built by C code (str.join, slicing, "0" * n)
PY_CHAR = 300  # one character handled in a Python loop (lower, title, html, js, json, %q)
ELEMENT = 300  # one list element or map entry built or visited (printing one recurses in Python)

_CLOCK_EVERY = 64  # read the clock once per this many charges: time.monotonic() is not free


class BudgetExceeded(Exception):
    """The command spent its budget or ran out of time; the executor adds where (Go's location prefix)."""


class SliceSpent(BaseException):  # a signal, like StopIteration, not an error
    """The inline slice of a budget is spent: the caller runs the work again off the event loop.

    A BaseException, so that no ``except Exception`` between the charge and the caller
    (the template guard, a formatter) mistakes it for a failure of the template.
    """


@dataclass
class Budget:
    """What is left of one command's budget.

    ``deadline`` is a ``time.monotonic()`` reading; on Linux that clock is system-wide, so a
    budget handed to a child process keeps its deadline.  ``slice``, when set, is the work
    allowed before :class:`SliceSpent` (an attempt on the event loop).
    """

    work: int = MAX_WORK
    chars: int = MAX_OUTPUT
    deadline: float | None = None
    time_limit: float = 0.0  # the limit the deadline came from, for the message
    slice: int | None = None
    _until_clock: int = _CLOCK_EVERY

    def charge(self, units: int) -> None:
        """Charge ``units`` of work; raises when the budget, the slice or the time is spent."""
        self.work -= units
        if self.slice is not None:
            self.slice -= units
            if self.slice < 0:
                raise SliceSpent
        if self.work < 0:
            raise BudgetExceeded("template too expensive: more work than dockbell allows one command")
        self._until_clock -= 1
        if self.deadline is not None and (self._until_clock <= 0 or units >= 1_000_000):
            self._until_clock = _CLOCK_EVERY
            if time.monotonic() > self.deadline:
                raise BudgetExceeded(f"dockbell stopped this command after {self.time_limit:g} s (its time limit)")

    def step(self) -> None:
        """Charge one evaluated node."""
        self.charge(STEP)

    def write(self, text: str) -> None:
        """Charge text about to be written to the output."""
        self.chars -= len(text)
        if self.chars < 0:
            raise BudgetExceeded(f"output longer than {MAX_OUTPUT} characters (dockbell's limit for one command)")
        self.charge(len(text) * CHAR)

    def build(self, size: int, price: int = CHAR) -> None:
        """Charge for a value of ``size`` characters or elements, before it is built."""
        if size > MAX_VALUE:
            raise BudgetExceeded(f"a value longer than {MAX_VALUE} characters (dockbell's limit)")
        self.charge(size * price)

    def spent_like(self, other: Budget) -> None:
        """Take over what ``other`` (a copy sent to a child process) has left."""
        self.work, self.chars = other.work, other.chars


_active: ContextVar[Budget | None] = ContextVar("dockbell_template_budget", default=None)


def active() -> Budget | None:
    """The budget templates run against now, if a command (or an execution) installed one."""
    return _active.get()


@contextmanager
def using(budget: Budget) -> Iterator[Budget]:
    """Run templates against ``budget`` inside the block (it is per context: per task, per thread)."""
    token = _active.set(budget)
    try:
        yield budget
    finally:
        _active.reset(token)


def charge(size: int, price: int = CHAR) -> None:
    """For template functions: charge a value of ``size`` about to be built to the active budget."""
    budget = _active.get()
    if budget is not None:
        budget.build(size, price)


def charge_work(units: int) -> None:
    """Charge work done outside the executor (laying out a table) to the active budget."""
    budget = _active.get()
    if budget is not None:
        budget.charge(units)


def charge_output(text: str) -> None:
    """Charge output produced outside the executor (a table's fast path) to the active budget."""
    budget = _active.get()
    if budget is not None:
        budget.write(text)
