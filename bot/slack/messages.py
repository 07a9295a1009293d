"""Which Events API messages are commands for dockbell, and where their answers go.

Pure: an event dict in, an :class:`Addressed` (or None) out.  dockbell subscribes to two
events (config/slack-manifest.yml): ``app_mention`` (``@dockbell ...`` in a channel it is in)
and ``message.im`` (its DMs).  It takes a message as a command only when

* it is a person's new message: no ``subtype`` (``message_changed``, ``message_deleted``,
  ``bot_message``, joins... are not commands: an edit or a deletion runs nothing), no
  ``bot_id``, and not from dockbell's own user;
* in a channel, it starts with dockbell's mention, and something follows it; in a DM the
  mention may be left out.

Its answers go into the thread under the mention (or the thread it was typed in); in a DM,
into the DM (in the thread, if typed in one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.core.mentions import command_text
from bot.core.types import Requester, ThreadRoute


@dataclass(frozen=True)
class Addressed:
    requester: Requester
    text: str  # the command, after the mention
    route: ThreadRoute  # where its answers go
    typed_in: str  # the thread it was typed in ("" at top level): its subject may fill in a container
    direct: bool  # a DM


def addressed(event: dict[str, Any], bot_user_id: str, team_id: str = "") -> Addressed | None:
    """The command ``event`` gives dockbell, or None for an event that gives none."""
    user = str(event.get("user") or "")
    if event.get("subtype") or event.get("bot_id") or not user or user == bot_user_id:
        return None
    channel, ts = str(event.get("channel") or ""), str(event.get("ts") or "")
    if not channel or not ts:
        return None
    direct = event.get("type") == "message" and event.get("channel_type") == "im"
    if event.get("type") == "message" and not direct:
        return None  # only DMs come as plain messages; a channel's commands come as mentions
    text = command_text(str(event.get("text") or ""), bot_user_id, direct=direct)
    if text is None:
        return None
    thread = str(event.get("thread_ts") or "")
    typed_in = thread if thread and thread != ts else ""
    answer_in = typed_in if direct else (typed_in or ts)
    requester = Requester(user_id=user, channel_id=channel, team_id=str(event.get("team") or team_id))
    return Addressed(requester, text, ThreadRoute(channel, answer_in, ts), typed_in, direct)
