"""`snooze`: dockbell's own command (no docker equivalent) to silence a container's crash notifications.

`/docker snooze CONTAINER [1h|24h|healthy|off]`, also what the Snooze buttons on a crash
notification run.  Per container and host; it ends by itself (the watcher announces the end
in the incident's thread); setting and clearing are audited like every command, and
announced in the incident's thread when there is one.  See docs/notifications.md.
"""

from __future__ import annotations

import time

from bot.core.registry import command
from bot.core.types import Invocation, Output
from bot.errors import NotFound, ParseError
from bot.jobs.context import HandlerContext
from bot.jobs.visible import no_such
from bot.jobs.watcher.announce import in_incident_thread
from bot.jobs.watcher.announce import moment as when
from bot.jobs.watcher.snooze import DURATIONS, UNTIL_HEALTHY, Snoozes

USAGE = "docker snooze CONTAINER [1h|24h|healthy|off]"
MODES = (*DURATIONS, UNTIL_HEALTHY)


@command(
    "snooze",
    usage=USAGE,
    summary="Silence a container's crash notifications for 1 h, 24 h, or until it is healthy",
    min_args=1,
    max_args=2,
    targets="container:first",
    group="operate",
)
async def snooze(inv: Invocation, ctx: HandlerContext) -> Output:
    mode = inv.args[1] if len(inv.args) > 1 else "1h"
    if mode not in (*MODES, "off"):
        raise ParseError(f'invalid argument "{mode}": expected one of 1h, 24h, healthy, off', usage=USAGE)
    target = ctx.targets[0]
    if not target.id:
        raise NotFound(no_such("container", inv.args[0]))
    host, name, who = ctx.access.host, target.name.lstrip("/"), ctx.requester.user_id
    store = Snoozes(ctx.jobs.redis, host, ctx.now)
    if mode == "off":
        cleared = await store.clear(name)
        if cleared is None:
            return Output(f"Crash notifications for {name} on {host} were not snoozed.", monospace=False)
        await _announce(ctx, host, name, f":bell: <@{who}> ended the snooze; notifications are on again.")
        return Output(f"Crash notifications for {name} on {host} are on again.", monospace=False)
    record = await store.set(name, mode, who)
    end = "" if mode == UNTIL_HEALTHY else f" (until {when(record.until)})"
    await _announce(ctx, host, name, f":zzz: <@{who}> snoozed crash notifications {record.label}{end}.")
    # The answer is plain text (escaped): Slack's <!date^...> would show as typed there.
    until = "" if mode == UNTIL_HEALTHY else time.strftime(" (until %Y-%m-%d %H:%M UTC)", time.gmtime(record.until))
    return Output(
        f"Crash notifications for {name} on {host} are snoozed {record.label}{until}. "
        f"`/docker snooze {name} off` ends it sooner.",
        monospace=False,
    )


async def _announce(ctx: HandlerContext, host: str, name: str, line: str) -> None:
    """In the thread of the container's incident, if it has one (best effort: the answer says it all)."""
    await in_incident_thread(ctx.jobs.redis, ctx.jobs.slack, host, name, line)
