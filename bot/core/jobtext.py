"""How a job's state reads in words: its status message and the `/docker jobs` table say it alike."""

from __future__ import annotations

import re
from typing import Any


def escape(text: str) -> str:
    """Slack mrkdwn needs &, < and > escaped, even inside code blocks."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_ESCAPED_MENTION = re.compile(r"&lt;@([A-Z0-9_]+)&gt;")


def escape_keeping_mentions(text: str) -> str:
    """``escape``, except that dockbell's own ``<@U123>`` mentions stay mentions."""
    return _ESCAPED_MENTION.sub(r"<@\1>", escape(text))


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 60 else f"{int(value // 60)} min {int(value % 60)} s"


def job_state_line(job: Any, position: int) -> str:
    status = str(job.status)
    progress = job.progress or {}
    if status in ("queued", "running") and progress.get("waiting_for"):
        who = progress.get("waiting_for_user")
        what = progress.get("waiting_for_verb", "a job")
        by = f" by <@{who}>" if who else ""
        return f"waiting behind job `{progress['waiting_for']}` ({escape(str(what))}{by}) on the same container"
    if status == "queued":
        where = f" ({_ordinal(position)} in line)" if position else ""
        return f"queued{where}"
    late = " (cancel came too late)" if job.cancel_came_too_late else ""
    if status == "running":
        fraction = progress.get("fraction")
        pct = f" {round(float(fraction) * 100)}%" if isinstance(fraction, int | float) else ""
        if job.cancelling:
            return f"running{pct}, cancelling at <@{job.cancel_requested_by}>'s request"
        return f"running{pct}{late}"
    took = ""
    if job.started_at and job.finished_at:
        took = f" in {_seconds(job.finished_at - job.started_at)}"
    if status == "cancelled":
        by = f" by <@{job.cancel_requested_by}>" if job.cancel_requested_by else ""
        return f"cancelled{by}"
    return f"{status}{took}{late}"
