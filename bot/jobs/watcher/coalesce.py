"""What goes into a channel's next message (pure): one incident, or a summary of many, and folded replies.

A channel gets about one message per second.  Whatever waits for that slot is folded
together instead of queued: new incidents waiting together (``burst`` or more) become one
summary message whose thread carries their details; thread replies waiting for the same
thread become one reply.  A lone crash is sent at once, in a message of its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.slack import clip

REPLY_BUDGET = 2800  # one section of a folded reply


def next_posts(pending: Sequence[str], burst: int) -> tuple[list[str], list[str]]:
    """(the incidents the next top-level message is about, those left for later)."""
    if len(pending) >= burst:
        return list(pending), []
    return list(pending[:1]), list(pending[1:])


def fold_lines(lines: Sequence[str], budget: int = REPLY_BUDGET) -> tuple[list[str], list[str]]:
    """(the lines one reply takes, the rest): at least one line, within ``budget`` otherwise."""
    taken: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        size = clip.units(line) + 1
        if taken and used + size > budget:
            return taken, list(lines[i:])
        taken.append(line)
        used += size
    return taken, []
