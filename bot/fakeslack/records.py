"""What the fake Slack stores and records, as plain dataclasses tests can assert on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BOT_USER_ID = "U_BOT"
BOT_ID = "B_BOT"
APP_ID = "A_DOCKBELL"


@dataclass
class Call:
    """One Web API request, with the answer the fake gave."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    time: float
    response: dict[str, Any]
    http_status: int

    @property
    def ok(self) -> bool:
        return self.http_status == 200 and bool(self.response.get("ok"))


@dataclass
class ResponsePost:
    """One POST to a response_url, successful or not."""

    url: str
    body: dict[str, Any]
    time: float
    status: int
    response: dict[str, Any] = field(default_factory=dict)
    # ts of the message this post created or changed (None when rejected or deleting)
    message_ts: str | None = None


@dataclass
class Edit:
    """One change of a message: what it looked like before and after."""

    time: float
    source: str  # "chat.update" or "response_url"
    old_text: str
    old_blocks: list[Any] | None
    text: str
    blocks: list[Any] | None


@dataclass
class Message:
    """A message persisted in a channel (visible to everyone, returned by replies)."""

    ts: str
    channel: str
    text: str
    blocks: list[Any] | None = None
    thread_ts: str | None = None
    user: str | None = BOT_USER_ID
    bot_id: str | None = BOT_ID
    edits: list[Edit] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    reply_broadcast: bool = False
    attachments: list[Any] | None = None
    source: str = "chat.postMessage"

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def apply_edit(self, *, time: float, source: str, text: str, blocks: list[Any] | None) -> None:
        self.edits.append(Edit(time, source, self.text, self.blocks, text, blocks))
        self.text = text
        self.blocks = blocks

    def to_dict(self) -> dict[str, Any]:
        """The message as Slack returns it (message objects carry no channel field)."""
        out: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text}
        if self.user is not None:
            out["user"] = self.user
        if self.bot_id is not None:
            out["bot_id"] = self.bot_id
            out["app_id"] = APP_ID
        optional = {
            "blocks": self.blocks,
            "attachments": self.attachments,
            "thread_ts": self.thread_ts,
            "files": [{"id": file_id} for file_id in self.files] or None,
        }
        out.update({key: value for key, value in optional.items() if value is not None})
        if self.edits:
            out["edited"] = {"user": self.user, "ts": self.ts}
        return out


@dataclass
class Ephemeral:
    """A message only one user sees: chat.postEphemeral or a response_url default reply.

    Slack never persists these (conversations.replies does not return them), hence a separate
    list on the fake.
    """

    ts: str
    channel: str
    user: str | None
    text: str
    blocks: list[Any] | None = None
    thread_ts: str | None = None
    source: str = "chat.postEphemeral"
    deleted: bool = False
    edits: list[Edit] = field(default_factory=list)

    def apply_edit(self, *, time: float, source: str, text: str, blocks: list[Any] | None) -> None:
        self.edits.append(Edit(time, source, self.text, self.blocks, text, blocks))
        self.text = text
        self.blocks = blocks

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text, "user": BOT_USER_ID}
        if self.blocks is not None:
            out["blocks"] = self.blocks
        return out


@dataclass
class UploadedFile:
    """A file going through files.getUploadURLExternal → upload → completeUploadExternal."""

    id: str
    filename: str
    length: int  # the length declared to getUploadURLExternal
    ticket: str
    title: str | None = None
    content: bytes = b""
    uploaded: bool = False
    completed: bool = False
    channel: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None
    alt_txt: str | None = None
    snippet_type: str | None = None

    def to_dict(self, created: int) -> dict[str, Any]:
        """The (abridged) file object files.completeUploadExternal answers with."""
        return {
            "id": self.id,
            "created": created,
            "timestamp": created,
            "name": self.filename,
            "title": self.title or self.filename,
            "mimetype": "text/plain",
            "filetype": "text",
            "user": BOT_USER_ID,
            "size": len(self.content),
            "channels": [self.channel] if self.channel else [],
        }


@dataclass
class Trigger:
    """A trigger_id Slack gave the app with an interaction: opens one modal, within 3 s."""

    user: str
    issued_at: float
    used: bool = False


@dataclass
class OpenView:
    """A modal views.open showed to ``user``; closed once submitted with an empty ack."""

    id: str
    user: str
    view: dict[str, Any]
    hash: str
    closed: bool = False
    submissions: int = 0

    def to_dict(self, team_id: str, app_id: str, bot_id: str) -> dict[str, Any]:
        """The view object Slack answers with and sends back in view_submission (state filled in there)."""
        return {
            **{k: v for k, v in self.view.items() if k != "state"},
            "id": self.id,
            "team_id": team_id,
            "state": {"values": {}},
            "hash": self.hash,
            "private_metadata": self.view.get("private_metadata", ""),
            "callback_id": self.view.get("callback_id", ""),
            "root_view_id": self.id,
            "previous_view_id": None,
            "app_id": app_id,
            "bot_id": bot_id,
            "clear_on_close": bool(self.view.get("clear_on_close", False)),
            "notify_on_close": bool(self.view.get("notify_on_close", False)),
            "external_id": self.view.get("external_id", ""),
        }


@dataclass
class User:
    id: str
    name: str
    real_name: str = ""
    display_name: str = ""
    is_admin: bool = False
    is_bot: bool = False
    deleted: bool = False

    def to_dict(self, team_id: str) -> dict[str, Any]:
        real_name = self.real_name or self.name.title()
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": real_name,
            "tz": "Etc/UTC",
            "is_admin": self.is_admin,
            "is_owner": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "profile": {
                "display_name": self.display_name or self.name,
                "real_name": real_name,
                "team": team_id,
            },
        }


@dataclass
class Channel:
    id: str
    name: str
    bot_member: bool = True
    # None = every workspace user is a member (the common case for seeded channels)
    members: set[str] | None = None
    is_archived: bool = False

    @property
    def is_im(self) -> bool:
        return self.id.startswith("D")

    @property
    def is_mpim(self) -> bool:
        return self.id.startswith("G") and self.name.startswith("mpdm-")

    @property
    def is_public(self) -> bool:
        return self.id.startswith("C")

    def has_member(self, user_id: str) -> bool:
        return self.members is None or user_id in self.members

    @property
    def history_scope(self) -> str:
        """The *:history scope conversations.replies needs for this kind of conversation."""
        if self.is_im:
            return "im:history"
        if self.is_mpim:
            return "mpim:history"
        return "channels:history" if self.is_public else "groups:history"
