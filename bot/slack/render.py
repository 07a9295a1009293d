"""All user-facing wording and Block Kit layout, as pure functions (data in, message dict out)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.core.jobtext import escape as escape
from bot.core.jobtext import job_state_line
from bot.slack import clip

SECTION_LIMIT = 3000  # Block Kit: section text is 1..3000 characters
SHARE_ACTION = "dockbell_share"
NO_OUTPUT = "_(no output)_"

Message = dict[str, Any]


def code_block(text: str) -> str:
    # A literal ``` in the output would close the block early; a zero-width space defuses it.
    body = escape(text).replace("```", "`\u200b``")
    return f"```\n{body}\n```"


MAX_OUTPUT_SECTIONS = 12  # well inside Block Kit's 50 blocks, with room for echo, notes and buttons
_FENCES = len("```\n\n```")


def output_sections(text: str, budget: int = SECTION_LIMIT) -> list[str]:
    """Code-block texts for ``text``, each within a section's limit, split between lines.

    A long table stays in the message as consecutive code blocks rather than being cut;
    only a line longer than a whole section is split inside the line.
    """
    room = budget - _FENCES
    chunks: list[list[str]] = [[]]
    used = 0
    for line in text.split("\n"):
        pieces = _split_long_line(line, room)
        for piece in pieces:
            size = clip.escaped_units(piece, code=True) + 1
            if chunks[-1] and used + size > room:
                chunks.append([])
                used = 0
            chunks[-1].append(piece)
            used += size
    return [code_block("\n".join(chunk)) for chunk in chunks]


def _split_long_line(line: str, room: int) -> list[str]:
    """Pieces of ``line`` whose code-block form (escaped, fences defused) fits ``room``; linear."""
    if clip.escaped_units(line, code=True) <= room:
        return [line]
    pieces, start, used = [], 0, 0
    for at, char in enumerate(line):
        cost = clip.width(char, code=True)
        if used + cost > room:
            pieces.append(line[start:at])
            start, used = at, 0
        used += cost
    return [*pieces, line[start:]]


def fits_inline(text: str, max_chars: int) -> bool:
    return len(text) <= max_chars and len(output_sections(text)) <= MAX_OUTPUT_SECTIONS


def _command(command_text: str, around: str, budget: int) -> str:
    """The typed command, escaped, cut so that ``around`` (the rest of the text) still fits ``budget``."""
    return escape(clip.plain(command_text, budget - clip.units(around)))


def _fallback(command_text: str, rest: str) -> str:
    """A message's top-level text, ``docker COMMAND`` + ``rest``, within Slack's limit for it."""
    return f"docker {_command(command_text, 'docker ' + rest, clip.MESSAGE_TEXT)}{rest}"


def _echo(command_text: str, user_id: str | None = None) -> Message:
    who = f"<@{user_id}> ran " if user_id else ""
    shown = _command(command_text, f"{who}`docker `", clip.CONTEXT_TEXT)
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": f"{who}`docker {shown}`"}]}


def _share_button(share_id: str) -> Message:
    return {
        "type": "actions",
        "block_id": "dockbell_share",
        "elements": [
            {
                "type": "button",
                "action_id": SHARE_ACTION,
                "text": {"type": "plain_text", "text": "Share in channel"},
                "value": share_id,
            }
        ],
    }


def _note(text: str) -> Message:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip.mrkdwn(text, clip.CONTEXT_TEXT)}]}


def _section(text: str, **extra: str) -> Message:
    """A section of mrkdwn ``text`` (already escaped), cut to the section limit."""
    return {"type": "section", **extra, "text": {"type": "mrkdwn", "text": clip.mrkdwn(text, clip.SECTION_TEXT)}}


def _code_section(text: str, **extra: str) -> Message:
    """A section showing plain ``text`` as one code block, cut to the section limit."""
    body = code_block(clip.fenced_body(text, clip.SECTION_TEXT))
    return {"type": "section", **extra, "text": {"type": "mrkdwn", "text": body}}


@dataclass(frozen=True)
class Reply:
    """What to show for one finished command."""

    command_text: str
    output: str
    errors: tuple[str, ...] = ()
    share_id: str | None = None
    notes: tuple[str, ...] = ()


def inline_reply(reply: Reply, *, shared_by: str | None = None) -> Message:
    blocks: list[Message] = [_echo(reply.command_text, shared_by)]
    if reply.output:
        blocks += [
            {"type": "section", "block_id": f"out-{i}", "text": {"type": "mrkdwn", "text": section}}
            for i, section in enumerate(output_sections(reply.output))
        ]
    else:
        blocks.append(_note(NO_OUTPUT))
    if reply.errors:
        blocks.append(_error_section("\n".join(reply.errors)))
    blocks += [_note(n) for n in reply.notes]
    if reply.share_id:
        blocks.append(_share_button(reply.share_id))
    lines = reply.output.count("\n") + 1 if reply.output else 0
    message: Message = {"text": _fallback(reply.command_text, f": {lines} line(s)"), "blocks": blocks}
    message["response_type"] = "in_channel" if shared_by else "ephemeral"
    return message


def file_reply(reply: Reply, *, filename: str, where: str, preview_lines: int) -> Message:
    """The short summary posted beside output that went up as a file."""
    lines = reply.output.split("\n")
    size = len(reply.output.encode())
    head, shown = _preview(lines, preview_lines)
    name = escape(clip.plain(filename, 200))  # a handler may build it from what was typed
    summary = f"The output is {len(lines)} lines ({_kb(size)}), too long for a message: it is in *{name}* {where}."
    blocks: list[Message] = [_echo(reply.command_text), _section(summary)]
    if head:
        blocks.append(_note(f"First {shown} of {len(lines)} lines:"))
        blocks.append({"type": "section", "block_id": "preview", "text": {"type": "mrkdwn", "text": code_block(head)}})
    if reply.errors:
        blocks.append(_error_section("\n".join(reply.errors)))
    blocks += [_note(n) for n in reply.notes]
    if reply.share_id:
        blocks.append(_share_button(reply.share_id))
    return {
        "text": _fallback(reply.command_text, f": output in {name}"),
        "blocks": blocks,
        "response_type": "ephemeral",
    }


def _preview(lines: list[str], count: int) -> tuple[str, int]:
    """The head of an output that fits one code-block section, and how many lines it shows
    (the last perhaps in part), in time bounded by the section.

    No character escapes to less than one, so nothing past SECTION_LIMIT characters can be
    shown: lines and head are cut there before anything is measured, however long the output.
    """
    head = "\n".join(line[:SECTION_LIMIT] for line in lines[:count])[:SECTION_LIMIT]
    while head and len(output_sections(head)) > 1:
        head = head[: len(head) // 2]
    return head, head.count("\n") + 1


def _kb(size: int) -> str:
    return f"{size} bytes" if size < 1024 else f"{size / 1024:.1f} KB"


def _error_section(text: str) -> Message:
    return _code_section(text, block_id="errors")


def error_reply(command_text: str, message: str, usage: str | None = None) -> Message:
    """A user error: the docker CLI's wording, and usage where it helps."""
    blocks: list[Message] = [_echo(command_text) if command_text else _note("dockbell")]
    blocks.append(_section(":x: " + escape(clip.plain(message, clip.SECTION_TEXT - 4))))
    if usage:
        blocks.append(_code_section(usage))
    return {"text": _first_line(message), "blocks": blocks, "response_type": "ephemeral"}


def _first_line(text: str) -> str:
    """A notification's text: the first line that says something, escaped and short."""
    first = text.strip().split("\n", 1)[0]
    return escape(clip.plain(first, 300)) if first else "dockbell"


def help_reply(command_text: str, text: str) -> Message:
    return {
        "text": _first_line(text),
        "blocks": [_echo(command_text), _code_section(text)],
        "response_type": "ephemeral",
    }


def failure_reply(command_text: str, incident: str) -> Message:
    before = ":boom: dockbell failed while running `docker "
    after = (
        f"` (incident `{incident}`). Nothing more was done; the details are in dockbell's log under that incident id."
    )
    text = before + _command(command_text, before + after, clip.SECTION_TEXT) + after
    return {"text": text, "blocks": [_section(text)], "response_type": "ephemeral"}


def notice(text: str, *, replace_original: bool = False) -> Message:
    """A short answer in mrkdwn: ``text`` is already escaped (use :func:`plain_notice` otherwise)."""
    message: Message = {
        "text": clip.mrkdwn(text, clip.MESSAGE_TEXT),
        "response_type": "ephemeral",
        "blocks": [_section(text)],
    }
    if replace_original:
        message["replace_original"] = True
    return message


def plain_notice(text: str) -> Message:
    """A notice of plain words (a UserError's message, which may quote what was typed), escaped."""
    return notice(escape(clip.plain(text, clip.SECTION_TEXT)))


def shared_file_comment(user_id: str, command_text: str) -> str:
    before = f"<@{user_id}> ran `docker "
    return f"{before}{_command(command_text, before + '`', clip.FILE_COMMENT)}`"


def file_comment(command_text: str) -> str:
    """The comment on the DM'd file holding a long output."""
    return f"Output of `docker {_command(command_text, 'Output of `docker `', clip.FILE_COMMENT)}`"


CANCEL_ACTION = "dockbell_cancel"

_STATE_ICON = {
    "queued": ":hourglass_flowing_sand:",
    "running": ":arrows_counterclockwise:",
    "succeeded": ":white_check_mark:",
    "failed": ":x:",
    "cancelled": ":no_entry_sign:",
    "interrupted": ":warning:",
}


def cancel_offered(job: Any) -> bool:
    """Whether the status message shows Cancel: only while a click can still take effect.

    Queued: always (it never starts).  Running: only for a verb a cancel can stop (a pull),
    and not once someone asked.  A restart loses its button as it starts: it cannot be
    taken back once sent to the engine.
    """
    return bool(job.cancel_would_stop) and not job.cancelling


def _cancel_note(job: Any, command: str) -> str:
    """What became of a cancel request that did not (or could not yet) stop the job."""
    if not job.cancel_came_too_late:
        return ""
    who = f"Cancel requested by <@{job.cancel_requested_by}>"
    status = str(job.status)
    if status == "running":
        return (
            f"{who} came too late: `docker {_command(command, '', 2000)}` is already running on the engine, "
            "and it cannot be taken back. It will finish, and this message will show its outcome."
        )
    if job.cancellable_running:  # it finished before its worker could stop it
        ended = "the engine had already finished" if status == "succeeded" else "the job had already ended"
        return f"{who} came too late: {ended}."
    return f"{who} came too late: it was already running on the engine, which cannot be taken back; it ran to its end."


def job_message(job: Any, *, position: int) -> Message:
    """The one status message of a job, edited in place as it moves."""
    status = str(job.status)
    command = str(job.args.get("command", f"{job.verb} {job.target}"))  # what was typed: any length
    state = job_state_line(job, position)
    before, after = f"{_STATE_ICON.get(status, '')} `docker ", f"` on `{escape(job.host)}`: {state}"
    blocks: list[Message] = [_section(before + _command(command, before + after, clip.SECTION_TEXT) + after)]
    detail = ""
    if status == "succeeded" and job.result:
        detail = job.result
    elif status in ("failed", "interrupted") and job.error:
        detail = job.error
    elif status == "running" and (job.progress or {}).get("text"):
        detail = str(job.progress["text"])
    if detail:
        lines = detail.split("\n")
        shown = "\n".join(lines[-30:])  # a pull of many layers: the latest lines matter
        body = code_block(clip.fenced_tail(shown, clip.SECTION_TEXT))  # the end, where the outcome is
        blocks.append({"type": "section", "block_id": "detail", "text": {"type": "mrkdwn", "text": body}})
    if status == "cancelled" and job.error:  # what the cancel left, in words (e.g. "it never started")
        blocks.append(_note(escape(job.error[:1].upper() + job.error[1:]) + "."))
    note = _cancel_note(job, command)
    if note:
        blocks.append(_note(note))
    blocks.append(_note(f"job `{job.id}` · requested by <@{job.requester.user_id}>"))
    if cancel_offered(job):
        blocks.append(
            {
                "type": "actions",
                "block_id": "dockbell_job",
                "elements": [
                    {
                        "type": "button",
                        "action_id": CANCEL_ACTION,
                        "style": "danger",
                        "text": {"type": "plain_text", "text": "Cancel"},
                        "value": job.id,
                    }
                ],
            }
        )
    return {"text": _fallback(command, f": {state}"), "blocks": blocks}
