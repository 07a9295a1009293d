"""A stream header's buttons, as the commands they stand for (run with the clicker's rights)."""

from __future__ import annotations

import shlex

from bot.slack import render_streams as rs

STREAM_ACTIONS = rs.ACTIONS


def stream_command_for_click(action: str, value: str) -> str | None:
    """``-H HOST streams stop ID`` for Stop; None for a value that names no host and stream."""
    host, _, stream_id = value.partition("/")
    if not host or not stream_id or "/" in stream_id:
        return None
    pin = f"-H {shlex.quote(host)}"
    if action == rs.STOP_ACTION:
        return f"{pin} streams stop {shlex.quote(stream_id)}"
    if action == rs.FILE_ACTION:
        return f"{pin} streams log {shlex.quote(stream_id)}"
    return None
