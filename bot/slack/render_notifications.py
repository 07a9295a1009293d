"""Crash notifications as Block Kit (pure): one incident, a burst summary, thread replies, host alerts.

Every text a container could make long (its name, log lines, health output, a command)
is cut with bot/slack/clip.py to Block Kit's limits, so Slack never refuses a whole
notification over one long line.  Buttons carry "HOST/CONTAINER[/...]" values: serve
routes the click to that host's worker by the part before the slash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.core.jobtext import escape, escape_keeping_mentions
from bot.slack import clip
from bot.slack.render import Message, code_block

RESTART_ACTION = "dockbell_crash_restart"
LOGS_ACTION = "dockbell_crash_logs"
INSPECT_ACTION = "dockbell_crash_inspect"
SNOOZE_1H_ACTION = "dockbell_crash_snooze_1h"
SNOOZE_24H_ACTION = "dockbell_crash_snooze_24h"
SNOOZE_HEALTHY_ACTION = "dockbell_crash_snooze_healthy"
STOP_LOOP_ACTION = "dockbell_crash_stop_loop"
ACTIONS = (
    RESTART_ACTION,
    LOGS_ACTION,
    INSPECT_ACTION,
    SNOOZE_1H_ACTION,
    SNOOZE_24H_ACTION,
    SNOOZE_HEALTHY_ACTION,
    STOP_LOOP_ACTION,
)
SNOOZE_MODES = {SNOOZE_1H_ACTION: "1h", SNOOZE_24H_ACTION: "24h", SNOOZE_HEALTHY_ACTION: "healthy"}
MAX_TABLE_ROWS_PER_BLOCK = 30
DETAILS_PER_REPLY = 8


@dataclass(frozen=True)
class CrashView:
    """One incident as a notification shows it; times are epoch seconds."""

    host: str
    name: str
    image: str
    project: str
    kind: str  # crash | unhealthy
    exit_code: int | None
    explanation: str
    restart_policy: str
    restart_count: int
    count: int
    first_seen: float
    last_seen: float
    state: str = "open"  # open | recovered | ended
    state_note: str = ""  # "recovered: running steadily for 60 s", "stopped by <@U1>"
    loop: bool = False
    late: str = ""  # why it was found late ("the engine's event log did not reach back...")
    error_lines: Sequence[str] = ()
    tail_lines: Sequence[str] = ()
    health: Sequence[str] = ()
    changes: Sequence[str] = ()
    snoozed: str = ""
    buttons: bool = True
    extra: Sequence[str] = field(default_factory=tuple)


def when(epoch: float) -> str:
    """Slack's date formatting (shown in the reader's time zone), with a UTC fallback."""
    import time as _time

    fallback = _time.strftime("%Y-%m-%d %H:%M:%S UTC", _time.gmtime(epoch))
    return f"<!date^{int(epoch)}^{{date_short_pretty}} {{time_secs}}|{fallback}>"


def _name(view: CrashView) -> str:
    return escape(clip.plain(view.name, 120))


def _headline(view: CrashView) -> str:
    name, host = _name(view), escape(clip.plain(view.host, 60))
    if view.state == "recovered":
        return f":large_green_circle: *{name}* on `{host}` recovered"
    if view.state == "ended":
        return f":white_circle: *{name}* on `{host}`: {escape_keeping_mentions(clip.plain(view.state_note, 200))}"
    if view.kind == "unhealthy":
        again = f" ({view.count} times)" if view.count > 1 else ""
        return f":large_orange_circle: *{name}* on `{host}` is unhealthy{again}"
    if view.loop:
        return f":repeat: *{name}* on `{host}` is in a crash loop: {view.count} crashes"
    if view.count > 1:
        return f":red_circle: *{name}* on `{host}` crashed {view.count} times"
    return f":red_circle: *{name}* on `{host}` crashed"


def fallback_text(view: CrashView) -> str:
    plain = _headline(view).replace("*", "")
    return clip.mrkdwn(f"{plain}: {escape(clip.plain(view.explanation, 300))}", clip.MESSAGE_TEXT)


def _fields(view: CrashView) -> Message:
    def field_(label: str, value: str) -> dict[str, str]:
        return {"type": "mrkdwn", "text": clip.mrkdwn(f"*{label}*\n{value}", 1900)}

    code = "-" if view.exit_code is None else str(view.exit_code)
    restarts = f"{view.restart_count} ({escape(view.restart_policy)})"
    items = [
        field_("Exit code" if view.kind == "crash" else "Health", code if view.kind == "crash" else "unhealthy"),
        field_("Image", f"`{escape(clip.plain(view.image or '?', 300))}`"),
        field_("Host", f"`{escape(clip.plain(view.host, 100))}`"),
        field_("Compose project", escape(clip.plain(view.project, 200)) if view.project else "-"),
        field_("Restarts (policy)", restarts),
        field_("Last seen", when(view.last_seen)),
    ]
    return {"type": "section", "fields": items}


def _context(text: str) -> Message:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip.mrkdwn(text, clip.CONTEXT_TEXT)}]}


def _section(text: str) -> Message:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip.mrkdwn(text, clip.SECTION_TEXT)}}


def _code(title: str, lines: Sequence[str], *, keep_end: bool = True) -> Message:
    text = "\n".join(lines)
    budget = clip.SECTION_TEXT - clip.units(title) - 2
    body = clip.fenced_tail(text, budget) if keep_end else clip.fenced_body(text, budget)
    return _section(f"{title}\n{code_block(body)}")


def buttons(view: CrashView) -> Message:
    value = f"{view.host}/{view.name}"[: clip.BUTTON_VALUE]

    def button(text: str, action: str, style: str | None = None) -> dict[str, object]:
        b: dict[str, object] = {
            "type": "button",
            "text": {"type": "plain_text", "text": text},
            "action_id": action,
            "value": value,
        }
        if style:
            b["style"] = style
        return b

    elements = [
        button("Restart", RESTART_ACTION),
        button("Logs", LOGS_ACTION),
        button("Inspect", INSPECT_ACTION),
        button("Snooze 1 h", SNOOZE_1H_ACTION),
        button("Snooze 24 h", SNOOZE_24H_ACTION),
        button("Snooze until healthy", SNOOZE_HEALTHY_ACTION),
    ]
    if view.loop and view.state == "open":
        elements.insert(0, button("Stop the loop", STOP_LOOP_ACTION, "danger"))
    return {"type": "actions", "elements": elements}


def incident_message(view: CrashView) -> Message:
    blocks: list[Message] = [_section(_headline(view)), _fields(view)]
    blocks.append(_context(escape(clip.plain(view.explanation, 1000))))
    if view.state in ("recovered", "ended") and view.state_note and view.state != "ended":
        blocks.append(_context(escape_keeping_mentions(clip.plain(view.state_note, 500))))
    if view.loop and view.state == "open":
        blocks.append(
            _section(
                ":warning: This is a crash loop: the restart policy keeps restarting it. "
                "*Stop the loop* sets its restart policy to `no` (a job, through the permission layer)."
            )
        )
    if view.late:
        blocks.append(_context(":hourglass: Found late: " + escape(clip.plain(view.late, 500))))
    if view.snoozed:
        blocks.append(_context(":zzz: " + escape(clip.plain(view.snoozed, 300))))
    if view.error_lines:
        blocks.append(_code("*Error and fatal lines*", view.error_lines))
    if view.tail_lines:
        blocks.append(_code(f"*Last {len(view.tail_lines)} log lines*", view.tail_lines))
    if view.health:
        blocks.append(_code("*Last health checks*", view.health))
    if view.changes:
        lines = "\n".join(f"• {escape(clip.plain(c, 400))}" for c in view.changes)
        blocks.append(_section(f"*Since it was last healthy*\n{lines}"))
    for note in view.extra:
        blocks.append(_context(escape(clip.plain(note, 500))))
    if view.buttons and view.state == "open":
        blocks.append(buttons(view))
    return {"text": fallback_text(view), "blocks": blocks}


def _row(view: CrashView) -> str:
    code = "-" if view.exit_code is None else str(view.exit_code)
    if view.kind == "unhealthy":
        code = "unhealthy"
    reason = view.explanation.split(":")[0].split(" (")[0]
    return f"{clip.plain(view.name, 40):<40} {code:>9}  {clip.plain(reason, 36):<36} {clip.plain(view.image, 40)}"


def summary_message(host: str, views: Sequence[CrashView]) -> Message:
    """Many containers at once (a host reboot, a bad deploy): one message, a table naming all of them."""
    count = len(views)
    first = min(v.first_seen for v in views)
    last = max(v.last_seen for v in views)
    span = max(0, round(last - first))
    head = (
        f":rotating_light: *{count} containers* on `{escape(clip.plain(host, 60))}` crashed or turned unhealthy "
        f"within {span} s. Details of each are in the thread."
    )
    blocks: list[Message] = [_section(head)]
    header = f"{'CONTAINER':<40} {'EXIT':>9}  {'REASON':<36} IMAGE"
    rows = [_row(v) for v in views]
    for start in range(0, len(rows), MAX_TABLE_ROWS_PER_BLOCK):
        chunk = (
            [header, *rows[start : start + MAX_TABLE_ROWS_PER_BLOCK]]
            if start == 0
            else rows[start : start + MAX_TABLE_ROWS_PER_BLOCK]
        )
        blocks.append(_section(code_block(clip.fenced_body("\n".join(chunk), clip.SECTION_TEXT))))
        if len(blocks) >= 48:
            blocks.append(_context(f"…and {len(rows) - start - MAX_TABLE_ROWS_PER_BLOCK} more, listed in the thread"))
            break
    names = ", ".join(v.name for v in views)
    text = clip.mrkdwn(escape(f"{count} containers crashed on {host}: {names}"), clip.MESSAGE_TEXT)
    return {"text": text, "blocks": blocks}


def detail_replies(views: Sequence[CrashView], log_lines: int = 5) -> list[Message]:
    """The thread of a summary: each container's details, a few per message (Slack paces messages)."""
    out = []
    for start in range(0, len(views), DETAILS_PER_REPLY):
        blocks: list[Message] = []
        chunk = views[start : start + DETAILS_PER_REPLY]
        for view in chunk:
            lines = [*view.error_lines[-2:], *view.tail_lines[-log_lines:]]
            text = f"*{_name(view)}*: {escape(clip.plain(view.explanation, 400))}"
            text += f" · restarts {view.restart_count} ({escape(view.restart_policy)})"
            if view.late:
                text += " · found late"
            if lines:
                body = clip.fenced_tail("\n".join(lines), clip.SECTION_TEXT - clip.units(text) - 4)
                text += "\n" + code_block(body)
            blocks.append(_section(text))
        # No buttons here: Slack wants each button's action_id once per message.
        blocks.append(
            _context("Act on one of them: `/docker logs NAME`, `/docker restart NAME`, `/docker snooze NAME 1h`.")
        )
        names = ", ".join(v.name for v in chunk)
        out.append({"text": clip.mrkdwn(escape(f"Details: {names}"), clip.MESSAGE_TEXT), "blocks": blocks})
    return out


def thread_reply(lines: Sequence[str]) -> Message:
    """Several short updates (already mrkdwn) folded into one reply."""
    text = "\n".join(lines)
    return {"text": clip.mrkdwn(text, clip.MESSAGE_TEXT), "blocks": [_section(text)]}


def crash_line(view: CrashView) -> str:
    code = "-" if view.exit_code is None else str(view.exit_code)
    return f"Crash {view.count} at {when(view.last_seen)}: exit {code}, {escape(clip.plain(view.explanation, 300))}"


def host_unreachable(host: str, since: float, *, back: float | None = None, missed: int | None = None) -> Message:
    name = escape(clip.plain(host, 60))
    if back is None:
        text = (
            f":satellite_antenna: Host `{name}` is unreachable: its worker has sent no heartbeat since {when(since)}. "
            "Its crash notifications are held and will follow when it is back."
        )
    else:
        text = f":white_check_mark: Host `{name}` is reachable again (unreachable from {when(since)} to {when(back)})."
        if missed is not None:
            text += (
                f" It missed {missed} crash{'es' if missed != 1 else ''}, listed in the thread."
                if missed
                else (" Nothing crashed meanwhile.")
            )
    plain = text.replace("*", "")
    return {"text": clip.mrkdwn(plain, clip.MESSAGE_TEXT), "blocks": [_section(text)]}
