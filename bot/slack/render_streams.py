"""Live streams as Block Kit (pure): the header in the channel, and the output messages in its thread.

The header says who follows what, on which host, since when, for how long so far and how
many lines; it carries Stop while the stream is live, and once it has ended, why (and, for
log streams, a button for the whole window's log as a file).  Output messages are code
blocks that fill up to a section's limit, then a new one starts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.cli_output.units import elapsed as duration

__all__ = ["duration"]
from bot.core.jobtext import escape, escape_keeping_mentions
from bot.slack import clip
from bot.slack.render import Message, code_block

STOP_ACTION = "dockbell_stream_stop"
FILE_ACTION = "dockbell_stream_file"
ACTIONS = (STOP_ACTION, FILE_ACTION)

_FENCES = len("```\n\n```")
CHUNK_ROOM = clip.SECTION_TEXT - _FENCES  # escaped units of lines one output message holds


@dataclass(frozen=True)
class StreamView:
    shown: str  # the command as typed (normalised)
    host: str
    user_id: str
    started_at: float
    elapsed: float
    lines: int  # -1: not known (a stream whose worker died)
    skipped: int
    value: str  # "HOST/STREAM_ID": buttons' value, serve routes clicks by the host part
    live: bool = True
    ended: str = ""  # why it ended, once it has
    file_offered: bool = False


def utc_clock(ts: float) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(ts))


def _counts(view: StreamView) -> str:
    if view.lines < 0:
        return "line count lost with the worker"
    text = f"{view.lines:,} line{'' if view.lines == 1 else 's'}"
    if view.skipped:
        text += f", {view.skipped:,} skipped (faster than Slack takes)"
    return text


def header(view: StreamView) -> Message:
    command = clip.plain(view.shown, 400, code=True)
    state = "is following" if view.live else "followed"
    title = f"<@{view.user_id}> {state} `{escape(command)}` on `{escape(view.host)}`"
    facts = f"since {utc_clock(view.started_at)} · {duration(view.elapsed)} · {_counts(view)}"
    if view.live:
        facts += " · output in the thread"
    blocks: list[Message] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": title}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": facts}]},
    ]
    if not view.live:
        ended = escape_keeping_mentions(view.ended)
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": clip.mrkdwn(f"Ended: {ended}", 2900)}],
            }
        )
    buttons: list[Message] = []
    if view.live:
        buttons.append(_button("Stop", STOP_ACTION, view.value, style="danger"))
    elif view.file_offered:
        buttons.append(_button("Full log as a file", FILE_ACTION, view.value))
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    fallback = f"{'Following' if view.live else 'Followed'} {command} on {view.host}"
    return {"text": clip.plain(fallback, 3000), "blocks": blocks}


def _button(text: str, action: str, value: str, style: str = "") -> Message:
    button: Message = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def skipped_line(count: int) -> str:
    return (
        f"\u22ef {count:,} line{'' if count == 1 else 's'} skipped: the container wrote faster than Slack takes \u22ef"
    )


def line_units(line: str) -> int:
    """What ``line`` costs in an output message (escaped, in a code block, with its newline)."""
    return clip.escaped_units(line, code=True) + 1


def fit_line(line: str, room: int = CHUNK_ROOM) -> str:
    """``line`` cut to fit ``room`` (by default, one output message on its own)."""
    return clip.plain(line, room - 1, code=True)


def output(lines: list[str]) -> Message:
    """One output message of the thread: its lines in one code block."""
    body = "\n".join(lines) if lines else " "
    return {
        "text": clip.plain(body, 3000),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": code_block(body)}}],
    }


def note(text: str) -> Message:
    """A plain line in the thread (the stream ended, the worker stopped...): escaped, its mentions kept."""
    return {
        "text": clip.plain(text, 3000),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": clip.mrkdwn(escape_keeping_mentions(text), 2900)}}
        ],
    }
