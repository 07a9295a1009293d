"""A Go ``text/template`` interpreter for docker's ``--format`` flag.

Users paste the templates they use with the docker CLI, so this follows Go 1.24's
``text/template`` (lexer, parser and executor ported function by function) with the
functions docker/cli adds (``json split join title lower upper pad truncate``), and
words its errors like Go so people recognise them::

    template: :1:2: executing "" at <.Foo>: can't evaluate field Foo in type *formatter.ContainerContext

**Data model.** Values are plain Python data, read with Go's rules:

* ``dict`` - a Go map decoded from JSON (``map[string]interface {}``): ``{{.Key}}`` looks a
  key up, a missing key prints ``<no value>``, ``range`` visits keys in sorted order;
* ``list``/``tuple`` - a slice; ``str``, ``int``, ``float``, ``bool``, ``complex`` - the basic kinds;
* ``None`` - a JSON ``null`` (a nil ``interface {}``); :data:`GoNil` - a typed nil pointer
  (prints ``<nil>``);
* a **context object** - anything implementing :class:`TemplateContext`, the equivalent of the
  Go structs docker/cli formats (``ContainerContext`` ...).  :class:`GoStruct` implements the
  protocol by reflection: every public method whose name starts with an upper-case letter is a
  template field (``ID()``) or a method with arguments (``Label(name: str)``), exactly as Go's
  reflection exposes exported methods.  ``{{json .}}`` on a context marshals all its zero-argument
  methods, keys sorted, HTML-escaped (docker's ``MarshalJSON``).

* **typed values** - what JSON becomes once decoded into a declared Go type
  (:class:`GoStructValue`, :class:`GoPtr`, :class:`GoList`, :class:`GoMap`, named strings and
  ints, ``time.Duration``): docker's ``inspect -f`` runs on its structs, so ``{{.State}}`` prints
  ``{running true ...}``, a nil pointer ``<nil>``, a pointer inside another value an address,
  ``%+v`` names the fields, and ``{{json .X}}`` writes fields in struct order without empty
  ``omitempty`` ones.  The types are declared in :mod:`bot.cli_output.formatters.inspect_types`.

``json`` on plain data keeps the dict's key order: the Engine API already sends maps sorted
and structs in declaration order, which is the order Go would print.

**Errors.** Every failure raises :class:`GoTemplateError` (a :class:`bot.errors.TemplateError`);
``parse`` errors read ``template parsing error: template: :1: ...`` like docker's,
execution errors read like Go's (callers add docker's prefix for their command).
Nothing else escapes :func:`parse` or :meth:`Template.execute`, whatever the input.

**Limits.** A chat bot cannot let ``{{range 1000000000}}`` run: output, work and nesting are
capped, all in :mod:`.budget`; Go has no such limits.

Known differences: printing a whole formatter context (``{{.}}`` in ``ps``) shows its type, not
Go's struct dump; pointer addresses are made up (Go's are arbitrary); ``%#v`` is not Go syntax;
``truncate`` cutting a multi-byte character yields U+FFFD where Go writes the broken bytes;
``printf`` supports flags, width, precision and ``*``, but not explicit argument indexes.

**Modules**, split like Go's sources; each imports only those above it::

    errors.py        the error tree
    budget.py        dockbell's limits and the accounting against them
    values.py        the data model and reflection over it (type names, map order)
    strconv.py       strconv: quoting, float formatting, literal parsing
    fmt.py           fmt: Sprint, Sprintln, Sprintf
    jsonenc.py       encoding/json, for docker's {{json}}
    lex.py           parse/lex.go
    node.py          parse/node.go
    parser.py        parse/parse.go
    funcs.py         funcs.go: the predefined functions
    exec.py          exec.go
    docker_funcs.py  docker/cli's cli/templates/templates.go
    template.py      template.go: Template and parse()

Only the names in ``__all__`` below are the package's interface.
"""

from bot.cli_output.gotemplate.docker_funcs import HEADER_FUNCS
from bot.cli_output.gotemplate.errors import GoTemplateError
from bot.cli_output.gotemplate.fmt import go_sprint
from bot.cli_output.gotemplate.jsonenc import go_json
from bot.cli_output.gotemplate.strconv import go_quote
from bot.cli_output.gotemplate.template import Template, parse
from bot.cli_output.gotemplate.values import (
    GoFunc,
    GoList,
    GoMap,
    GoNil,
    GoPtr,
    GoStruct,
    GoStructValue,
    TemplateContext,
)

__all__ = [
    "HEADER_FUNCS",
    "GoFunc",
    "GoList",
    "GoMap",
    "GoNil",
    "GoPtr",
    "GoStruct",
    "GoStructValue",
    "GoTemplateError",
    "Template",
    "TemplateContext",
    "go_json",
    "go_quote",
    "go_sprint",
    "parse",
]
