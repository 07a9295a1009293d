"""What a message addressed to dockbell asks: ``<@U123> ps -a`` -> ``ps -a``.

Slack writes a mention as ``<@U123>`` (older clients ``<@U123|name>``).  In a channel, dockbell
acts only on a message that starts with its own mention (``@dockbell ps``); one that names it
in passing ("ask @dockbell later") is not a command.  In a DM every message is for dockbell,
so a leading mention there is optional.
"""

from __future__ import annotations

import re

_LEADING_MENTION = re.compile(r"^\s*<@([A-Z0-9_]+)(?:\|[^>]*)?>")
# What people put between the mention and the command: "@dockbell: ps", "@dockbell, ps".
_SEPARATORS = " \t\n:,\u00a0"


def command_text(text: str, bot_user_id: str, *, direct: bool = False) -> str | None:
    """The command a message gives dockbell, or None when it gives none.

    ``direct``: a DM, where the mention may be left out.  None for a message that does not
    start with dockbell's mention (in a channel), and for one with nothing after it.
    """
    match = _LEADING_MENTION.match(text)
    if match is not None and match[1] == bot_user_id:
        rest = text[match.end() :]
    elif direct and match is None:
        rest = text
    else:
        return None
    command = rest.lstrip(_SEPARATORS).strip()
    return command or None
