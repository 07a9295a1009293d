"""A mention in a dockbell thread that names no container acts on the thread's container.

``@dockbell logs --tail 200`` under a crash notification for ``web`` becomes
``logs --tail 200 <web's id>`` (with ``-H HOST`` when the thread's host is not the channel's)
before anything reads it: the worker then parses, resolves, gates and audits that line exactly
as if it had been typed, so what the gate judged is what runs, and the audit names the
container.  The rule comes from the command registry:

* only commands whose target is a container (``targets`` ``container:first``,
  ``container:all``, or ``object:all``: ``inspect``) take the thread's container;
* a command that already names one (as many positional words as it needs, at least one) is
  run as typed; so is one that names a host (``-H``): the thread's container lives elsewhere;
* the container goes where docker expects it: after the command's words (flags may follow), or
  for a command whose flags end at its first argument (``exec``), before its arguments.

Anything that does not parse is left as typed, so its error is docker's usual one.
"""

from __future__ import annotations

import html
import shlex

from bot.core import dispatch
from bot.core.registry import Registry
from bot.errors import UserError
from bot.jobs.threads import ThreadSubject

CONTAINER_TARGETS = frozenset({"container:first", "container:all", "object:all"})
SHORT_ID = 12  # docker's short ID: unique among any host's containers in practice, and readable


def with_subject(text: str, subject: ThreadSubject, registry: Registry, channel_host: str) -> str:
    """``text`` with the thread's container (and host) filled in, or ``text`` when it needs none."""
    line = dispatch.read(text)
    if line.error is not None or not line.words:
        return text
    words = line.words
    try:
        top = dispatch.GLOBAL_FLAGS.parse(words)
        if top.opts["host"] or top.opts["help"] or top.opts["version"] or not top.args:
            return text
        found = registry.lookup(top.args)
        if found is None:
            return text
        cmd, used = found
        if cmd.targets not in CONTAINER_TARGETS:
            return text
        parsed = cmd.flagset.parse(top.args[used:])
    except UserError:
        return text
    if parsed.opts.get("help") or parsed.opts.get("host") or len(parsed.args) >= max(cmd.min_args, 1):
        return text
    prefix = len(words) - len(top.args)
    at = prefix + used if cmd.flagset.interspersed else len(words) - len(parsed.args)
    filled = [*words[:at], subject.container[:SHORT_ID], *words[at:]]
    if subject.host != channel_host:
        filled = ["-H", subject.host, *filled]
    return as_typed(filled)


def as_typed(words: list[str]) -> str:
    """Words as Slack would send them typed: quoted for the shell, ``&<>`` escaped, so that
    ``dispatch.read`` gives back exactly ``words``."""
    return html.escape(" ".join(shlex.quote(word) for word in words), quote=False)
