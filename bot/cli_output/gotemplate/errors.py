"""The template errors, Go's wording kept in their messages.

The tree, and where each is raised and caught::

    bot.errors.TemplateError
    └── GoTemplateError   the only one that leaves the package: template.py turns the three below into it
    Exception
    ├── ParseFailure      parser.py: "template: NAME:LINE: ..."
    ├── ExecFailure       exec.py: "template: NAME:LINE:COL: executing "NAME" at <NODE>: ..."
    └── FuncError         a template function's own error; exec.py words it "error calling NAME: ..."

Module-private ones stay where they are used: strconv's ``ErrSyntax``, node's
``NumberError``, budget's ``BudgetExceeded``, exec's ``break``/``continue`` signals.
"""

from __future__ import annotations

from bot.errors import TemplateError


class GoTemplateError(TemplateError):
    """A template that cannot be parsed or executed; ``go_message`` is Go's own error text."""

    def __init__(self, go_message: str, *, parse_error: bool) -> None:
        message = f"template parsing error: {go_message}" if parse_error else go_message
        super().__init__(message)
        self.go_message = go_message
        self.parse_error = parse_error

    def __reduce__(self) -> tuple[object, ...]:
        # Rebuilt from the keyword-only argument too: it crosses a process boundary when a
        # template runs in the evaluation pool (bot.cli_output.offload).
        return (_rebuild, (self.go_message, self.parse_error))


def _rebuild(go_message: str, parse_error: bool) -> GoTemplateError:
    return GoTemplateError(go_message, parse_error=parse_error)


class ParseFailure(Exception):
    """A parse error, worded and located like Go's."""


class ExecFailure(Exception):
    """An execution error, worded and located like Go's."""


class FuncError(Exception):
    """Raised by a template function: reported as ``error calling NAME: message``."""
