"""A crash notification's buttons as the commands they stand for (pure).

Each click is run as if the clicker had typed the command, on the host the button names:
the same gate (hidden = missing), approvals, audit and job as typing it.  ``-H`` pins the
host, since the channel's default host may be another one.
"""

from __future__ import annotations

import shlex

from bot.slack import render_notifications as rn

ACTIONS = frozenset(rn.ACTIONS)


def command_for_click(action: str, value: str) -> str | None:
    """The command line a click stands for; None for a value that names no host and container."""
    host, _, name = value.partition("/")
    if not host or not name or "/" in name:
        return None
    ref = shlex.quote(name)
    pin = f"-H {shlex.quote(host)}"
    if action == rn.RESTART_ACTION:
        return f"{pin} restart {ref}"
    if action == rn.LOGS_ACTION:
        return f"{pin} logs --tail 200 {ref}"
    if action == rn.INSPECT_ACTION:
        return f"{pin} inspect {ref}"
    if action == rn.STOP_LOOP_ACTION:
        return f"{pin} update --restart=no {ref}"
    if action in rn.SNOOZE_MODES:
        return f"{pin} snooze {ref} {rn.SNOOZE_MODES[action]}"
    return None
