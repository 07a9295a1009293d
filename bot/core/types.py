"""Plain data passed between the stages of the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.core.registry import Command


@dataclass(frozen=True)
class Requester:
    """Who asked, and in which channel: identity is the user ID from the signed request.

    The channel matters to the policy (a channel binding holds only there).  Where the
    answer goes is a ReplyTo, which may differ (a DM, a thread).
    """

    user_id: str
    channel_id: str
    team_id: str = ""
    user_name: str = ""


@dataclass(frozen=True)
class ReplyTo:
    """Where an answer goes: a channel (and the thread or status message in it), and the
    request's response_url for private answers."""

    channel_id: str
    thread_ts: str = ""
    response_url: str = ""


@dataclass
class Invocation:
    """One parsed `/docker ...` command line."""

    command: Command
    opts: dict[str, Any]
    args: list[str]
    text: str  # what the user typed, normalised, for echoing and auditing
    given: list[str] = field(default_factory=list)
    host: str | None = None  # -H NAME; None: the channel's or the default host

    def opt(self, name: str) -> Any:
        return self.opts[name.replace("-", "_")]


@dataclass
class Output:
    """What a handler produced: text a terminal would show, and how to present it."""

    text: str
    monospace: bool = True
    filename: str = "output.txt"
    # stderr-like text shown beside the output (e.g. a partial failure in `inspect a b`)
    errors: list[str] = field(default_factory=list)
    silent: bool = False  # the handler already said everything in Slack (a job's status message)

    def __post_init__(self) -> None:
        # A terminal ends each line with a newline; a chat message must not end in a blank line.
        self.text = self.text.rstrip("\n")
