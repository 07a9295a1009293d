"""Text after `/docker` -> an :class:`Invocation`, in the docker CLI's grammar.

Everything here is pure: no I/O, and every failure is a :class:`UserError` (or
:class:`HelpRequested`) worded the way the docker CLI words it.
"""

from __future__ import annotations

import difflib
import html
import re
import shlex
from dataclasses import dataclass
from functools import cached_property

from bot.core import helptext, shellwords
from bot.core.cliparse import Flag, FlagSet, Kind
from bot.core.registry import HOST_FLAG, Command, Registry
from bot.core.types import Invocation
from bot.errors import HelpRequested, NotAvailableYet, ParseError, UnknownCommand, UserError

# docker commands that exist in the real CLI but not (yet) in dockbell: they get
# "not available yet" instead of "not a docker command", which would be a lie.
KNOWN_DOCKER_COMMANDS = frozenset(
    """
    attach build builder buildx checkpoint commit compose config container context cp create diff
    events exec export history image images import info inspect kill load login logout logs manifest
    network node pause plugin port ps pull push rename restart rm rmi run save search secret service
    stack start stats stop swarm system tag top trust unpause update version volume wait
    """.split()
)
# The real subcommands of docker's management commands, for the same reason.
MANAGEMENT_SUBCOMMANDS: dict[str, frozenset[str]] = {
    "container": frozenset(
        """
    attach commit cp create diff exec export inspect kill logs ls list pause port prune rename
    restart rm run start stats stop top unpause update wait ps
    """.split()
    ),
    "image": frozenset("""build history import inspect load ls list prune pull push rm save tag""".split()),
    "system": frozenset("""df events info prune""".split()),
    "network": frozenset("""connect create disconnect inspect ls list prune rm""".split()),
    "volume": frozenset("""create inspect ls list prune rm""".split()),
    "compose": frozenset(
        """
    attach build config cp create down events exec images kill logs ls pause port ps pull push restart rm
    run scale start stats stop top unpause up version wait watch
    """.split()
    ),
}

# Slack clients may turn straight quotes into typographic ones; a shell would not see those.
_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'", "\u00a0": " "})
# Slack marks up what it recognised as a link: <http://x|x>, <mailto:a@b|a@b>, <http://x>.  A
# "<" the person typed arrives escaped as &lt;, so any "<" left in the text is Slack's markup.
# Mentions (<@U1>, <#C1|general>, <!here>) are not links and stay as they are.
_LINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.-]*:[^|>\s]*)(?:\|([^>]*))?>")


def undo_links(text: str) -> str:
    """``<http://x.io|x.io>`` -> ``x.io`` (what was typed), ``<http://x.io>`` -> ``http://x.io``."""
    return _LINK.sub(lambda m: m[2] if m[2] is not None else m[1], text)


GLOBAL_FLAGS = FlagSet(
    [
        HOST_FLAG,
        Flag(
            "context",
            "Name of the context to use",
            Kind.STRING,
            short="c",
            not_available="docker contexts do not apply in dockbell",
        ),
        Flag("debug", "Enable debug mode", short="D", not_available="debug mode is not offered in chat"),
        Flag("version", "Print version information and quit", short="v"),
        Flag("help", "Print usage", short="h"),
    ],
    interspersed=False,
)


@dataclass
class CommandLine:
    """One command line, read once: its words, or why it has none.

    The worker reads each command once (the runner echoes ``shown`` and hands the same
    object to :func:`parse`) instead of splitting the text again at every step.
    """

    text: str  # as Slack sent it
    cleaned: str  # Slack's escapes undone, smart quotes straightened, stripped
    words: list[str]
    error: ParseError | None = None

    @cached_property
    def shown(self) -> str:
        """The command as echoed and audited: re-quoted words, or the cleaned text if it did not split."""
        if self.error is not None:
            return self.cleaned
        return " ".join(shlex.quote(word) for word in self.words)


def read(text: str) -> CommandLine:
    """Split like a POSIX shell, after undoing what Slack did to the text; never raises."""
    cleaned = html.unescape(undo_links(text)).translate(_QUOTES).strip()
    try:
        return CommandLine(text, cleaned, shellwords.split(cleaned))
    except ValueError as err:  # "No closing quotation" / "No escaped character", shlex's words
        return CommandLine(text, cleaned, [], ParseError(f"cannot parse command line: {str(err).lower()}"))


def tokenize(text: str) -> list[str]:
    return _words(read(text))


def _words(line: CommandLine) -> list[str]:
    if line.error is not None:
        raise line.error
    return line.words


def normalise(text: str) -> str:
    return read(text).shown


def parse(text: str | CommandLine, registry: Registry) -> Invocation:
    """The invocation ``text`` spells; give it the :class:`CommandLine` already read to split it once."""
    line = text if isinstance(text, CommandLine) else read(text)
    words = list(_words(line))
    top = GLOBAL_FLAGS.parse(words)
    if top.opts["version"]:
        words = ["version"]
    elif top.opts["help"] or not top.args:
        raise HelpRequested(helptext.general(registry), general=True)
    else:
        words = top.args
    if words[0] == "help":
        return _help_for(words[1:], registry)
    words = compose_flags_after_subcommand(words)

    found = registry.lookup(words)
    if found is None:
        raise _unknown(words, registry)
    cmd, used = found
    parsed = cmd.flagset.parse(words[used:])
    if parsed.opts["help"]:
        raise HelpRequested(helptext.command(cmd))
    _check_arity(cmd, parsed.args)
    parsed.opts.pop("help")
    host = _one_host(top.opts["host"], parsed.opts.pop("host", None))
    return Invocation(host=host, command=cmd, opts=parsed.opts, args=parsed.args, text=line.shown, given=parsed.given)


def compose_flags_after_subcommand(words: list[str]) -> list[str]:
    """``compose -p NAME ps`` as ``compose ps -p NAME``: compose takes -p before its subcommand.

    Each compose command of dockbell has the flag itself, so moving it after the subcommand
    keeps its meaning; anything else before the subcommand is left where it is (and refused).
    """
    if len(words) < 3 or words[0] != "compose":
        return words
    moved: list[str] = []
    i = 1
    while i < len(words):
        word = words[i]
        if word in ("-p", "--project-name") and i + 1 < len(words):
            moved += words[i : i + 2]
            i += 2
        elif word.startswith("--project-name=") or (word.startswith("-p") and len(word) > 2 and word[1] != "-"):
            moved.append(word)
            i += 1
        else:
            break
    if not moved or i >= len(words) or words[i].startswith("-"):
        return words
    return [words[0], words[i], *moved, *words[i + 1 :]]


def _one_host(before: str | None, after: str | None) -> str | None:
    if before and after and before != after:
        raise ParseError(f"conflicting hosts: -H {before} and -H {after}")
    return after or before


def _help_for(words: list[str], registry: Registry) -> Invocation:
    if not words:
        raise HelpRequested(helptext.general(registry), general=True)
    found = registry.lookup(words)
    if found is None:
        raise _unknown(words, registry)
    raise HelpRequested(helptext.command(found[0]))


def _check_arity(cmd: Command, args: list[str]) -> None:
    see = f"See '{cmd.aliases[0]} --help'."
    usage = f"Usage:  {cmd.usage}\n\n{cmd.summary}"
    if len(args) < cmd.min_args:
        need = "1 argument" if cmd.min_args == 1 else f"{cmd.min_args} arguments"
        qualifier = "exactly" if cmd.max_args == cmd.min_args else "at least"
        raise ParseError(f'"{cmd.aliases[0]}" requires {qualifier} {need}.\n{see}', usage=usage)
    if cmd.max_args is not None and len(args) > cmd.max_args:
        if cmd.max_args == 0:
            raise ParseError(f'"{cmd.aliases[0]}" accepts no arguments.\n{see}', usage=usage)
        need = "1 argument" if cmd.max_args == 1 else f"{cmd.max_args} arguments"
        raise ParseError(f'"{cmd.aliases[0]}" accepts at most {need}.\n{see}', usage=usage)


def _unknown(words: list[str], registry: Registry) -> Exception:
    first = words[0]
    if first in MANAGEMENT_SUBCOMMANDS and len(words) >= 2:
        spelled = f"{first} {words[1]}"
        if words[1] in MANAGEMENT_SUBCOMMANDS[first]:
            return NotAvailableYet(f"`docker {spelled}` is not available in dockbell yet. Try `/docker help`.")
        ours = [s.split()[1] for s in registry.spellings() if s.startswith(first + " ")]
        return _not_a_command(spelled, words[1], ours, prefix=first + " ")
    if first in KNOWN_DOCKER_COMMANDS:
        return NotAvailableYet(f"`docker {first}` is not available in dockbell yet. Try `/docker help`.")
    names = sorted({s.split()[0] for s in registry.spellings()} | {"help"})
    return _not_a_command(first, first, names, prefix="")


def _not_a_command(spelled: str, word: str, candidates: list[str], *, prefix: str) -> UnknownCommand:
    close = difflib.get_close_matches(word, candidates, n=3, cutoff=0.6)
    message = f"docker: '{spelled}' is not a docker command.\nSee 'docker --help'"
    if close:
        message += "\n\nDid you mean " + " or ".join(f"`{prefix}{c}`" for c in close) + "?"
    return UnknownCommand(message)


def route_host(text: str) -> str | None:
    """The host a command names with -H, read without the command registry: serve's routing only.

    Serve knows no commands (the registry lives with the handlers, on the workers), so it
    reads -H the way people place it: before the command, or anywhere after it up to
    ``--``.  A spelling this misreads (``run -e -H img``, where -H is -e's value) still
    lands on the right host: the worker parses the command fully and hands it on to the
    host the full parse names.  A command line that does not parse goes to the default
    host, whose worker answers with the parse error.
    """
    try:
        top = GLOBAL_FLAGS.parse(tokenize(text))
    except UserError:
        return None
    found: str | None = top.opts["host"]
    rest = top.args
    for i, word in enumerate(rest):
        if word == "--":
            break
        if word in ("-H", "--host") and i + 1 < len(rest):
            found = rest[i + 1]
        elif word.startswith("--host="):
            found = word.removeprefix("--host=")
        elif word.startswith("-H") and len(word) > 2 and not word.startswith("--"):
            found = word[2:].removeprefix("=")
    return found
