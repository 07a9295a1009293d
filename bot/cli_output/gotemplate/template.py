"""Parsed templates and the entry points (Go's ``text/template/template.go``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.cli_output.gotemplate.docker_funcs import DOCKER_FUNCS
from bot.cli_output.gotemplate.errors import ExecFailure, GoTemplateError, ParseFailure
from bot.cli_output.gotemplate.exec import execute
from bot.cli_output.gotemplate.funcs import BUILTIN_FUNCS
from bot.cli_output.gotemplate.node import ListNode
from bot.cli_output.gotemplate.parser import parse_trees
from bot.cli_output.gotemplate.values import GoFunc
from bot.errors import TemplateError


def _guard(action: Callable[[], str], *, parse_error: bool) -> str:
    try:
        return action()
    except (ParseFailure, ExecFailure) as exc:
        raise GoTemplateError(str(exc), parse_error=parse_error) from None
    except RecursionError:
        raise GoTemplateError("template: nested too deeply", parse_error=parse_error) from None
    except MemoryError:  # past an evaluation process's address-space limit (bot.cli_output.offload)
        raise GoTemplateError("template: out of memory (dockbell's limit)", parse_error=parse_error) from None
    except TemplateError:
        raise
    except Exception as exc:  # a bug of ours must still reach the user as a template error
        raise GoTemplateError(f"template: internal error: {exc!r}", parse_error=parse_error) from exc


@dataclass(frozen=True)
class Template:
    """A parsed template; :meth:`execute` may be called any number of times."""

    text: str
    name: str
    trees: Mapping[str, ListNode]
    funcs: Mapping[str, GoFunc]

    def execute(
        self, data: object, *, funcs: Mapping[str, GoFunc] | None = None, missing_key_error: bool = False
    ) -> str:
        """Run the template on ``data``; ``funcs`` replaces functions (docker's header stubs).

        ``missing_key_error`` is Go's ``Option("missingkey=error")``: a missing map key is an
        error rather than ``<no value>`` (docker inspect's fallback onto the raw JSON uses it).
        """
        return _guard(lambda: self._run(data, funcs, partial=False, missing=missing_key_error), parse_error=False)

    def execute_partial(self, data: object, *, funcs: Mapping[str, GoFunc] | None = None) -> str:
        """Like :meth:`execute`, but an error just stops the output (docker ignores header errors)."""
        return _guard(lambda: self._run(data, funcs, partial=True), parse_error=False)

    def _run(self, data: object, funcs: Mapping[str, GoFunc] | None, *, partial: bool, missing: bool = False) -> str:
        all_funcs = {**self.funcs, **(funcs or {})}
        return execute(self.text, self.trees, all_funcs, self.name, data, partial=partial, missing_key_error=missing)


def parse(text: str, *, funcs: Mapping[str, GoFunc] | None = None, name: str = "") -> Template:
    """Parse a docker ``--format`` template (Go's and docker's functions, plus ``funcs``)."""
    all_funcs = {**BUILTIN_FUNCS, **DOCKER_FUNCS, **(funcs or {})}
    holder: list[Template] = []

    def run() -> str:
        trees = parse_trees(text, all_funcs, name)
        holder.append(Template(text, name, trees, all_funcs))
        return ""

    _guard(run, parse_error=True)
    return holder[0]
