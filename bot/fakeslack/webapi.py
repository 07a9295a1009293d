"""Web API method implementations of the fake Slack.

Each method takes an :class:`ApiContext` and the merged arguments and returns the success body;
failures raise :class:`ApiError`, which the server turns into HTTP 200 ``{"ok": false, ...}``
like Slack. Error codes and response shapes follow slack-api-ref (slack-platform.md §3.3, §4).
Codes Slack does not document and we had to choose are marked "our choice".
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .blockkit import validate_blocks
from .records import APP_ID, BOT_ID, BOT_USER_ID, Channel, Ephemeral, Message, OpenView, UploadedFile
from .workspace import Workspace

MAX_TEXT = 40_000  # longer texts are truncated with a message_truncated warning
MAX_UPDATE_TEXT = 4_000  # chat.update answers msg_too_long above this
MAX_ATTACHMENTS = 100
MAX_REPLIES_LIMIT = 1000
JSON_STRING_ARGS = ("blocks", "attachments", "files", "metadata", "view")
TRIGGER_TTL = 3.0  # a trigger_id opens a modal within 3 s of the click (slack-platform.md §1.1)
MAX_VIEW_BLOCKS = 100
VIEW_TITLE_MAX = 24  # title, submit and close: plain_text of at most 24 characters
PRIVATE_METADATA_MAX = 3000


class ApiError(Exception):
    """A Slack error answer: ``{"ok": false, "error": code, **extra}``."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.code, **self.extra}


@dataclass
class ApiContext:
    """What a method may look at besides its arguments."""

    workspace: Workspace
    scopes: frozenset[str]
    base_url: str
    now: float
    warnings: list[str] = field(default_factory=list)
    # issues a Socket Mode link URL (apps.connections.open); None where the fake has no link
    link_url: Callable[[], str] | None = None

    def require_scope(self, *any_of: str) -> None:
        if any_of and not self.scopes.intersection(any_of):
            raise ApiError("missing_scope", needed=",".join(any_of), provided=",".join(sorted(self.scopes)))


Handler = Callable[[ApiContext, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class MethodSpec:
    handler: Handler
    scopes: tuple[str, ...]  # any one of them suffices; empty = no scope needed


# --- argument helpers ------------------------------------------------------------------------


def decode_json_args(args: dict[str, Any]) -> None:
    """Parse args that arrive JSON-encoded in query/form strings (blocks, files, ...)."""
    for key in JSON_STRING_ARGS:
        value = args.get(key)
        if not isinstance(value, str):
            continue
        try:
            args[key] = json.loads(value)
        except json.JSONDecodeError:
            raise ApiError("invalid_blocks_format" if key == "blocks" else "invalid_arguments") from None


def _str_arg(args: dict[str, Any], key: str) -> str | None:
    """A string argument; empty strings count as absent, like Slack's form handling."""
    value = args.get(key)
    if value is None or value == "":
        return None
    return str(value)


def _required(args: dict[str, Any], key: str, error: str = "invalid_arguments") -> str:
    value = _str_arg(args, key)
    if value is None:
        raise ApiError(error)
    return value


def _as_bool(value: object) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


def _as_int(value: object, error: str = "invalid_arguments") -> int:
    try:
        return int(str(value))
    except ValueError:
        raise ApiError(error) from None


def _check_blocks(blocks: object) -> None:
    if blocks is None:
        return
    if not isinstance(blocks, list):
        raise ApiError("invalid_blocks_format")
    errors = validate_blocks(blocks)
    if errors:
        raise ApiError(
            "invalid_blocks",
            errors=errors,
            response_metadata={"messages": [f"[ERROR] {error}" for error in errors]},
        )


@dataclass
class Content:
    text: str
    blocks: list[Any] | None
    attachments: list[Any] | None


def _content(args: dict[str, Any]) -> Content:
    """Message content with no_text / invalid_blocks / too_many_attachments checks."""
    blocks = args.get("blocks")
    attachments = args.get("attachments")
    markdown = _str_arg(args, "markdown_text")
    if markdown is not None and (blocks or _str_arg(args, "text")):
        raise ApiError("markdown_text_conflict")  # documented chat.postMessage error
    text = _str_arg(args, "text") or markdown or ""
    if not text and not blocks and not attachments:
        raise ApiError("no_text")
    _check_blocks(blocks)
    if attachments is not None and (not isinstance(attachments, list) or len(attachments) > MAX_ATTACHMENTS):
        raise ApiError("too_many_attachments" if isinstance(attachments, list) else "invalid_attachments")
    return Content(text, blocks, attachments)


def _truncate(ctx: ApiContext, text: str) -> str:
    if len(text) <= MAX_TEXT:
        return text
    ctx.warnings.append("message_truncated")
    return text[:MAX_TEXT]


def _channel(ctx: ApiContext, args: dict[str, Any], key: str = "channel") -> Channel:
    ref = _required(args, key, "channel_not_found")
    channel = ctx.workspace.resolve_channel(ref)
    if channel is None:
        raise ApiError("channel_not_found")
    return channel


def _writable(ctx: ApiContext, channel: Channel) -> Channel:
    """The bot may post here: member, or chat:write.public for public channels."""
    if channel.is_archived:
        raise ApiError("is_archived")
    can_post_public = channel.is_public and "chat:write.public" in ctx.scopes
    if not channel.bot_member and not can_post_public:
        raise ApiError("not_in_channel")
    return channel


def thread_parent(ws: Workspace, channel: Channel, thread_ts: str | None) -> str | None:
    """Map ``thread_ts`` to the thread's parent ts, like Slack does for a reply's ts.

    An unknown ts is rejected with ``invalid_thread_ts`` (our choice: Slack documents no code;
    this one is seen in the wild) because posting into a ghost thread hides the message.
    """
    if thread_ts is None:
        return None
    message = ws.find_message(channel.id, thread_ts)
    if message is None:
        raise ApiError("invalid_thread_ts")
    return message.thread_ts or message.ts


def _with_warnings(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    if ctx.warnings:
        body["warning"] = ",".join(ctx.warnings)
        body["response_metadata"] = {"warnings": list(ctx.warnings)}
    return body


# --- auth / apps / chat -----------------------------------------------------------------------------


def auth_test(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "ok": True,
        "url": "https://fake.slack.com/",
        "team": "Fake",
        "user": "dockerbot",
        "team_id": ctx.workspace.team_id,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


def apps_connections_open(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    # the server has already checked that an app-level token with connections:write called this
    if ctx.link_url is None:
        raise ApiError("internal_error")
    return {"ok": True, "url": ctx.link_url()}


def chat_post_message(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.workspace
    channel = _writable(ctx, _channel(ctx, args))
    content = _content(args)
    thread_ts = thread_parent(ws, channel, _str_arg(args, "thread_ts"))
    message = ws.post(
        Message(
            ts=ws.next_ts(),
            channel=channel.id,
            text=_truncate(ctx, content.text),
            blocks=content.blocks,
            attachments=content.attachments,
            thread_ts=thread_ts,
            reply_broadcast=thread_ts is not None and _as_bool(args.get("reply_broadcast")),
        )
    )
    body = message.to_dict()
    if thread_ts is not None:
        body["parent_user_id"] = _parent_user(ws, channel.id, thread_ts)
    return _with_warnings(ctx, {"ok": True, "channel": channel.id, "ts": message.ts, "message": body})


def _parent_user(ws: Workspace, channel: str, thread_ts: str) -> str | None:
    parent = ws.find_message(channel, thread_ts)
    return parent.user if parent else None


def _own_message(ctx: ApiContext, channel: Channel, ts: str, forbidden: str) -> Message:
    """A persisted message this bot posted; ephemerals are not persisted so they are not found."""
    message = ctx.workspace.find_message(channel.id, ts)
    if message is None:
        raise ApiError("message_not_found")
    if message.bot_id != BOT_ID:
        raise ApiError(forbidden)
    return message


def chat_update(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    channel = _channel(ctx, args)
    ts = _required(args, "ts")
    if _str_arg(args, "text") is None and args.get("blocks") is None and args.get("attachments") is None:
        raise ApiError("no_text")
    text = _str_arg(args, "text")
    if text is not None and len(text) > MAX_UPDATE_TEXT:
        raise ApiError("msg_too_long")
    _check_blocks(args.get("blocks"))
    message = _own_message(ctx, channel, ts, "cant_update_message")
    # Slack keeps the previous text/blocks when the update omits them
    message.apply_edit(
        time=ctx.now,
        source="chat.update",
        text=message.text if text is None else text,
        blocks=message.blocks if args.get("blocks") is None else args["blocks"],
    )
    if args.get("attachments") is not None:
        message.attachments = args["attachments"]
    return {"ok": True, "channel": channel.id, "ts": ts, "text": message.text, "message": message.to_dict()}


def chat_post_ephemeral(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.workspace
    channel = _channel(ctx, args)
    user_id = _required(args, "user")
    if user_id not in ws.users:
        raise ApiError("user_not_found")
    _writable(ctx, channel)
    if not channel.has_member(user_id):
        raise ApiError("user_not_in_channel")
    content = _content(args)
    ephemeral = Ephemeral(
        ts=ws.next_ts(),
        channel=channel.id,
        user=user_id,
        text=_truncate(ctx, content.text),
        blocks=content.blocks,
        thread_ts=_str_arg(args, "thread_ts"),  # Slack does not check it either
    )
    ws.ephemerals.append(ephemeral)
    return _with_warnings(ctx, {"ok": True, "message_ts": ephemeral.ts})


def chat_delete(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    channel = _channel(ctx, args)
    ts = _required(args, "ts", "message_not_found")
    message = _own_message(ctx, channel, ts, "cant_delete_message")
    ctx.workspace.delete(message)
    return {"ok": True, "channel": channel.id, "ts": ts}


def chat_get_permalink(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    channel = _channel(ctx, args)
    ts = _required(args, "message_ts", "message_not_found")
    if ctx.workspace.find_message(channel.id, ts) is None:
        raise ApiError("message_not_found")
    link = f"https://fake.slack.com/archives/{channel.id}/p{ts.replace('.', '')}"
    return {"ok": True, "channel": channel.id, "permalink": link}


# --- views -----------------------------------------------------------------------------------


def _plain_text(view: dict[str, Any], key: str, errors: list[str], *, required: bool) -> None:
    value = view.get(key)
    if value is None:
        if required:
            errors.append(f"missing required field: {key} [json-pointer:/view/{key}]")
        return
    text = value.get("text") if isinstance(value, dict) else None
    if not isinstance(value, dict) or value.get("type") != "plain_text" or not isinstance(text, str):
        errors.append(f"must be a plain_text object [json-pointer:/view/{key}]")
    elif not 1 <= len(text) <= VIEW_TITLE_MAX:
        errors.append(f"must be less than {VIEW_TITLE_MAX + 1} characters [json-pointer:/view/{key}/text]")


def _check_view(view: object) -> dict[str, Any]:
    """A modal as views.open checks it: Slack's invalid_arguments with the reasons."""
    if not isinstance(view, dict):
        raise ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] view must be an object"]})
    errors: list[str] = []
    if view.get("type") != "modal":
        errors.append("must be modal [json-pointer:/view/type]")
    _plain_text(view, "title", errors, required=True)
    blocks = view.get("blocks")
    has_input = isinstance(blocks, list) and any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
    _plain_text(view, "submit", errors, required=has_input)  # "submit is required when an input block..."
    _plain_text(view, "close", errors, required=False)
    if not isinstance(blocks, list) or len(blocks) > MAX_VIEW_BLOCKS:
        errors.append(f"must be an array of at most {MAX_VIEW_BLOCKS} blocks [json-pointer:/view/blocks]")
    else:
        errors += [e.replace("[json-pointer:/blocks", "[json-pointer:/view/blocks") for e in validate_blocks(blocks)]
    if len(str(view.get("private_metadata", ""))) > PRIVATE_METADATA_MAX:
        errors.append(f"must be less than {PRIVATE_METADATA_MAX + 1} characters [json-pointer:/view/private_metadata]")
    if len(str(view.get("callback_id", ""))) > 255:
        errors.append("must be less than 256 characters [json-pointer:/view/callback_id]")
    if errors:
        raise ApiError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {e}" for e in errors]})
    return view


def views_open(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    """A modal for the user whose interaction issued ``trigger_id``: once, within 3 s of it."""
    ws = ctx.workspace
    trigger_id = _required(args, "trigger_id")
    view = _check_view(args.get("view"))
    trigger = ws.triggers.get(trigger_id)
    if trigger is None:
        raise ApiError("invalid_trigger_id")
    if trigger.used:
        raise ApiError("exchanged_trigger_id")
    if ctx.now - trigger.issued_at > TRIGGER_TTL:
        raise ApiError("expired_trigger_id")
    trigger.used = True
    opened = OpenView(id=ws.new_id("V"), user=trigger.user, view=dict(view), hash=secrets.token_hex(8))
    ws.views[opened.id] = opened
    return {"ok": True, "view": opened.to_dict(ws.team_id, APP_ID, BOT_ID)}


# --- conversations ---------------------------------------------------------------------------


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(cursor).decode().removeprefix("offset:"))
    except ValueError:
        raise ApiError("invalid_cursor") from None


def _thread_dicts(thread: list[Message]) -> list[dict[str, Any]]:
    """Message dicts with the thread fields Slack adds (reply_count on the parent, ...)."""
    parent, replies = thread[0], thread[1:]
    parent_dict = parent.to_dict()
    if replies:
        reply_users = sorted({r.user for r in replies if r.user})
        parent_dict.update(
            thread_ts=parent.ts,
            reply_count=len(replies),
            reply_users=reply_users,
            reply_users_count=len(reply_users),
            latest_reply=replies[-1].ts,
        )
    reply_dicts = [{**reply.to_dict(), "parent_user_id": parent.user} for reply in replies]
    return [parent_dict, *reply_dicts]


def conversations_replies(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.workspace
    channel = _channel(ctx, args)
    ctx.require_scope(channel.history_scope)
    if not channel.bot_member:
        raise ApiError("not_in_channel")
    ts = _required(args, "ts", "thread_not_found")
    message = ws.find_message(channel.id, ts)
    if message is None:
        raise ApiError("thread_not_found")
    everything = _thread_dicts(ws.thread(channel.id, message.thread_ts or message.ts))
    limit = min(max(_as_int(args.get("limit", MAX_REPLIES_LIMIT)), 1), MAX_REPLIES_LIMIT)
    offset = _decode_cursor(_str_arg(args, "cursor"))
    page = everything[offset : offset + limit]
    has_more = offset + limit < len(everything)
    next_cursor = _encode_cursor(offset + limit) if has_more else ""
    return {"ok": True, "messages": page, "has_more": has_more, "response_metadata": {"next_cursor": next_cursor}}


def conversations_info(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    """The channel as the bot sees it; the *:read scope depends on its kind, as on Slack."""
    channel = _channel(ctx, args)
    if channel.is_im:
        ctx.require_scope("im:read")
    elif channel.is_mpim:
        ctx.require_scope("mpim:read")
    else:
        ctx.require_scope("channels:read" if channel.is_public else "groups:read")
    return {
        "ok": True,
        "channel": {
            "id": channel.id,
            "name": channel.name,
            "is_channel": channel.is_public,
            "is_private": not channel.is_public and not channel.is_im,
            "is_im": channel.is_im,
            "is_archived": channel.is_archived,
            "is_member": channel.bot_member,
        },
    }


def conversations_open(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.workspace
    existing = _str_arg(args, "channel")
    users = [u for u in (_str_arg(args, "users") or "").split(",") if u]
    # a DM needs im:write, a group DM mpim:write
    ctx.require_scope("mpim:write" if len(users) > 1 else "im:write")
    if existing is not None:
        channel: Channel | None = ws.resolve_channel(existing)
        if channel is None:
            raise ApiError("channel_not_found")
        already_open = True
    elif not users:
        raise ApiError("users_list_not_supplied")
    else:
        if any(user_id not in ws.users for user_id in users):
            raise ApiError("user_not_found")
        channel, already_open = ws.open_dm(users[0]) if len(users) == 1 else ws.open_mpim(users)
    body: dict[str, Any] = {"ok": True, "channel": {"id": channel.id}}
    if already_open:
        body.update(no_op=True, already_open=True)
    if _as_bool(args.get("return_im")):
        body["channel"].update(is_im=channel.is_im, user=channel.name if channel.is_im else None)
    return body


# --- users -----------------------------------------------------------------------------------


def users_info(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    user = ctx.workspace.users.get(_required(args, "user"))
    if user is None:
        raise ApiError("user_not_found")
    return {"ok": True, "user": user.to_dict(ctx.workspace.team_id)}


def usergroups_users_list(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    users = ctx.workspace.usergroups.get(_required(args, "usergroup"))
    if users is None:
        raise ApiError("no_such_subteam")
    return {"ok": True, "users": list(users)}


# --- files -----------------------------------------------------------------------------------


def files_get_upload_url_external(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.workspace
    filename = _required(args, "filename")
    length = _as_int(_required(args, "length"))
    if length <= 0:
        raise ApiError("missing_argument")  # what Slack answers for length=0
    alt_txt = _str_arg(args, "alt_txt")
    if alt_txt is not None and len(alt_txt) > 1000:
        raise ApiError("invalid_arguments")
    ticket = secrets.token_urlsafe(12)
    upload = UploadedFile(
        id=ws.new_id("F"),
        filename=filename,
        length=length,
        ticket=ticket,
        alt_txt=alt_txt,
        snippet_type=_str_arg(args, "snippet_type"),
    )
    ws.files[upload.id] = upload
    return {"ok": True, "upload_url": f"{ctx.base_url}/upload/v1/{ticket}", "file_id": upload.id}


def _file_items(ctx: ApiContext, args: dict[str, Any]) -> list[tuple[UploadedFile, str | None]]:
    """(file, title) pairs from the ``files`` JSON array; each must be uploaded, not completed."""
    items = args.get("files")
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise ApiError("invalid_arguments")
    pairs = []
    for item in items:
        upload = ctx.workspace.files.get(str(item.get("id")))
        if upload is None or not upload.uploaded or upload.completed:
            raise ApiError("file_not_found")
        title = item.get("title")
        pairs.append((upload, str(title) if title else None))
    return pairs


def _share_channels(ctx: ApiContext, args: dict[str, Any]) -> list[Channel]:
    channel_id = _str_arg(args, "channel_id")
    raw = args.get("channels") or ""
    refs = raw if isinstance(raw, list) else [r for r in str(raw).split(",") if r]
    if channel_id is not None and refs:
        raise ApiError("invalid_arguments")  # our choice: Slack takes one or the other
    refs = [channel_id] if channel_id is not None else refs
    if len(refs) > 100:
        raise ApiError("channels_limit_exceeded")
    channels = []
    for ref in refs:
        channel = ctx.workspace.resolve_channel(str(ref))
        if channel is None:
            raise ApiError("channel_not_found")
        channels.append(_writable(ctx, channel))
    return channels


def files_complete_upload_external(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.workspace
    pairs = _file_items(ctx, args)
    channels = _share_channels(ctx, args)
    thread_ts = _str_arg(args, "thread_ts")
    if thread_ts is not None and len(channels) != 1:
        raise ApiError("invalid_arguments")  # thread_ts needs exactly one channel
    parent = thread_parent(ws, channels[0], thread_ts) if channels else None
    comment = _str_arg(args, "initial_comment")
    blocks = None if comment else args.get("blocks")  # initial_comment overrides blocks
    _check_blocks(blocks)
    for upload, title in pairs:
        upload.completed = True
        upload.title = title or upload.filename
        upload.channel = channels[0].id if channels else None
        upload.thread_ts = parent
        upload.initial_comment = comment
    for channel in channels:
        ws.post(
            Message(
                ts=ws.next_ts(),
                channel=channel.id,
                text=comment or "",
                blocks=blocks,
                thread_ts=parent,
                files=[upload.id for upload, _ in pairs],
                source="files.completeUploadExternal",
            )
        )
    created = int(ctx.now)
    return {"ok": True, "files": [upload.to_dict(created) for upload, _ in pairs]}


METHODS: dict[str, MethodSpec] = {
    "auth.test": MethodSpec(auth_test, ()),
    "apps.connections.open": MethodSpec(apps_connections_open, ("connections:write",)),
    "chat.postMessage": MethodSpec(chat_post_message, ("chat:write",)),
    "chat.update": MethodSpec(chat_update, ("chat:write",)),
    "chat.postEphemeral": MethodSpec(chat_post_ephemeral, ("chat:write",)),
    "chat.delete": MethodSpec(chat_delete, ("chat:write",)),
    "chat.getPermalink": MethodSpec(chat_get_permalink, ()),
    "views.open": MethodSpec(views_open, ()),
    # the *:history scope depends on the channel kind, so the method checks it itself
    "conversations.replies": MethodSpec(conversations_replies, ()),
    "conversations.info": MethodSpec(conversations_info, ()),  # *:read by the channel's kind, see there
    "conversations.open": MethodSpec(conversations_open, ()),  # im:write or mpim:write, see there
    "users.info": MethodSpec(users_info, ("users:read",)),
    "usergroups.users.list": MethodSpec(usergroups_users_list, ("usergroups:read",)),
    "files.getUploadURLExternal": MethodSpec(files_get_upload_url_external, ("files:write",)),
    "files.completeUploadExternal": MethodSpec(files_complete_upload_external, ("files:write",)),
}
