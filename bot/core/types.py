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


THREAD_ROUTE = "thread:"


@dataclass(frozen=True)
class ThreadRoute:
    """Where the answer to a message (a mention, a DM) goes: a message has no response_url.

    It travels in the pipeline's ``response_url`` slot as ``thread:<channel>/<thread_ts>/<ts>``,
    so that every path that answers through a response_url (the runner, the job desk, approvals,
    serve's own refusals) answers a message too, in one place (``SlackOut.respond``), and so
    that the key every retried delivery must map to the same job (``job_id_for``) is the
    message's own identity.  ``thread_ts`` is the thread answers go to ("" for the top of a
    DM); ``message_ts`` is the message that asked.
    """

    channel_id: str
    thread_ts: str
    message_ts: str

    @property
    def url(self) -> str:
        return f"{THREAD_ROUTE}{self.channel_id}/{self.thread_ts}/{self.message_ts}"

    @classmethod
    def parse(cls, response_url: str) -> ThreadRoute | None:
        """The route a ``thread:`` pseudo-URL spells; None for a real response_url."""
        if not response_url.startswith(THREAD_ROUTE):
            return None
        parts = response_url.removeprefix(THREAD_ROUTE).split("/")
        if len(parts) != 3 or not parts[0] or not parts[2]:
            return None
        return cls(*parts)


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
