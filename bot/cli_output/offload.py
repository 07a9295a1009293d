"""Where a command's expensive evaluation runs, so that it can never hold up anyone else's answer.

Executing a ``--format`` template and laying out its table are pure CPU work.  Done on the
worker's event loop, one person's ``{{range 3000}}...`` would stall every answer the worker
is giving.  So handlers hand that work to :func:`evaluate`, which

1. tries it inline, on the loop, within a small slice of the command's budget
   (:data:`INLINE_WORK`, a few milliseconds of CPU): ordinary tables and templates fit, and
   pay for no hand-over;
2. otherwise runs it again in a process of the :class:`EvaluationPool` (its own CPU and its
   own GIL: a thread would still take the loop's GIL away for 5 ms at a time), with what is
   left of the command's budget and its deadline.  One person has at most one evaluation in
   the pool at a time, and one more waiting (:data:`PER_PERSON`); all together at most
   :data:`PENDING_PER_PROCESS` per process wait.  Past that a command is refused at once with
   a short error (before any inline attempt, for a person at their limit), so that evaluations
   waiting for their turn never hold all of the worker's command slots, and a burst costs the
   loop nothing: another person's cheap command always finds a slot.

The work is pure (data in, text out), so running it a second time is safe; the slice spent
inline is charged like any other work.  ``fn`` and its arguments cross a process boundary:
they must pickle (module-level functions, plain data and the formatter contexts).

Outside a command (a unit test, a formatter called on its own) :func:`evaluate` simply runs
``fn`` with a fresh budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import multiprocessing
import resource
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import ParamSpec, TypeVar

from bot.cli_output.gotemplate.budget import Budget, SliceSpent, using
from bot.errors import TemplateError

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

INLINE_WORK = 10_000_000  # work units tried on the event loop: ~10 ms of CPU (20 ms at worst)
CHILD_MEMORY = 1 << 30  # address space of an evaluation process; past it a template gets MemoryError
DEFAULT_WORKERS = 2
PER_PERSON = 2  # one person's evaluations in the pool: one running, one waiting its turn
PENDING_PER_PROCESS = 4  # evaluations in the pool or waiting for it, everyone's together, per process

_executors: dict[int, ProcessPoolExecutor] = {}  # one per process and size: tests start many runners


def _limit_memory() -> None:
    # The budget already caps every value; this is the backstop for what it does not foresee.
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))


def _executor(workers: int) -> ProcessPoolExecutor:
    executor = _executors.get(workers)
    if executor is None:
        # spawn, not fork: the worker has threads (the Docker SDK's, aiohttp's resolver) that a
        # fork would copy mid-flight.  A spawned child imports only what the work needs.
        context = multiprocessing.get_context("spawn")
        executor = ProcessPoolExecutor(workers, mp_context=context, initializer=_limit_memory)
        _executors[workers] = executor
    return executor


def _discard(workers: int, executor: ProcessPoolExecutor) -> None:
    if _executors.get(workers) is executor:
        del _executors[workers]
    executor.shutdown(wait=False, cancel_futures=True)


def _in_child(budget: Budget, fn: Callable[..., R], args: tuple[object, ...], kwargs: dict[str, object]) -> (
    tuple[Budget, R | Exception]
):  # fmt: skip
    """Run in an evaluation process: the result (or the error) and what is left of the budget."""
    with using(budget):
        try:
            return budget, fn(*args, **kwargs)
        except Exception as exc:  # carried back as a value, with the budget it spent
            return budget, exc


@dataclass
class EvaluationPool:
    """The worker's evaluation processes, and whose turn it is in them."""

    workers: int = DEFAULT_WORKERS
    _turns: dict[str, asyncio.Lock] = field(default_factory=dict)
    _waiting: dict[str, int] = field(default_factory=dict)

    @contextlib.asynccontextmanager
    async def _turn(self, key: str) -> AsyncIterator[None]:
        lock = self._turns.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key], self._turns[key]

    def admit(self, key: str, *, everyone: bool = True) -> None:
        """Raise TemplateError if ``key`` (or, with ``everyone``, all together) has as many evaluations
        pending as allowed."""
        if self._waiting.get(key, 0) >= PER_PERSON:
            raise TemplateError(
                "dockbell is still evaluating your earlier templates, so it did not finish this one. "
                "Send it again once they have answered."
            )
        if everyone and sum(self._waiting.values()) >= PENDING_PER_PROCESS * self.workers:
            raise TemplateError(
                "dockbell is busy evaluating other templates, so it did not finish this one. Try again in a moment."
            )

    async def run(self, key: str, budget: Budget, fn: Callable[..., R], *args: object, **kwargs: object) -> R:
        """``fn(*args, **kwargs)`` in a process, charged to ``budget``; ``key`` is whose turn it is.

        Raises TemplateError at once, sending nothing to the pool, when ``key`` or everyone
        together has as many evaluations pending as the limits allow.
        """
        self.admit(key)
        async with self._turn(key):
            executor = _executor(self.workers)
            loop = asyncio.get_running_loop()
            sent = replace(budget, slice=None)
            try:
                left, result = await loop.run_in_executor(
                    executor, functools.partial(_in_child, sent, fn, args, kwargs)
                )
            except BrokenProcessPool:
                _discard(self.workers, executor)
                log.error("an evaluation process died (memory or a signal); starting new ones")
                raise TemplateError(
                    "dockbell could not finish this template: the process evaluating it died."
                ) from None
        budget.spent_like(left)
        if isinstance(result, Exception):
            raise result
        return result


@dataclass
class _Scope:
    pool: EvaluationPool
    key: str
    budget: Budget


_scope: ContextVar[_Scope | None] = ContextVar("dockbell_evaluation_scope", default=None)


@contextlib.contextmanager
def command_scope(pool: EvaluationPool, key: str, budget: Budget) -> Iterator[Budget]:
    """Inside the block, :func:`evaluate` charges ``budget`` and takes ``key``'s turns in ``pool``.

    One command, one scope: the runner opens it around the handler, with the command's
    deadline in ``budget``; ``key`` is who asked (their evaluations run one at a time).
    """
    token = _scope.set(_Scope(pool, key, budget))
    try:
        with using(budget):
            yield budget
    finally:
        _scope.reset(token)


async def evaluate(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """``fn(*args, **kwargs)``, within the command's budget, never blocking the loop for long."""
    scope = _scope.get()
    if scope is None:
        with using(Budget()):
            return fn(*args, **kwargs)
    # Someone with all their evaluations pending is answered before any work: a burst of
    # commands costs the loop no inline attempts.  (A full pool refuses only what needs it:
    # a cheap command of someone else's still runs inline.)
    scope.pool.admit(scope.key, everyone=False)
    budget = scope.budget
    chars = budget.chars
    budget.slice = INLINE_WORK
    try:
        return fn(*args, **kwargs)
    except SliceSpent:
        budget.chars = chars  # the attempt's output is thrown away; its work was done, and stays charged
    finally:
        budget.slice = None
    return await scope.pool.run(scope.key, budget, fn, *args, **kwargs)
