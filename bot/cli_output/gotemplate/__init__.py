"""Go's ``text/template`` for docker's ``--format`` flag (see :mod:`.exec` for now)."""

from bot.cli_output.gotemplate.exec import (
    DOCKER_FUNCS,
    HEADER_FUNCS,
    MAX_OUTPUT,
    MAX_STEPS,
    MISSING,
    GoFunc,
    GoNil,
    GoStruct,
    GoTemplateError,
    Template,
    TemplateContext,
    go_json,
    go_quote,
    go_sprint,
    parse,
)

__all__ = [
    "DOCKER_FUNCS",
    "HEADER_FUNCS",
    "MAX_OUTPUT",
    "MAX_STEPS",
    "MISSING",
    "GoFunc",
    "GoNil",
    "GoStruct",
    "GoTemplateError",
    "Template",
    "TemplateContext",
    "go_json",
    "go_quote",
    "go_sprint",
    "parse",
]
