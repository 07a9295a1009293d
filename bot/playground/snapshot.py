"""What one person sees of the fake workspace, as the JSON the page renders.

Everyone sees the channels' messages; an ephemeral only its user sees; an open modal only the
person it was opened for. Files are listed with the URL the page's server serves them at.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from bot.fakeslack import FakeSlack, Message
from bot.fakeslack.records import Ephemeral, UploadedFile
from bot.fakeslack.workspace import ts_key

from .people import BOT_NAME, CHANNELS, PEOPLE, dm_channel


def snapshot(fake: FakeSlack, user_id: str, version: int) -> dict[str, Any]:
    dm = dm_channel(fake, user_id)
    conversations = [{"id": cid, "name": name, "kind": "channel"} for cid, name in CHANNELS]
    conversations.append({"id": dm, "name": BOT_NAME, "kind": "dm"})
    messages: dict[str, list[dict[str, Any]]] = {}
    for conversation in conversations:
        cid = str(conversation["id"])
        stored = fake.messages.get(cid, [])
        replies = Counter(m.thread_ts for m in stored if m.is_reply)
        items = [_message(fake, m, replies[m.ts]) for m in stored]
        items += [_ephemeral(e) for e in fake.ephemerals if e.channel == cid and e.user == user_id and not e.deleted]
        items.sort(key=lambda item: ts_key(str(item["ts"])))
        messages[cid] = items
    views = [
        {"id": v.id, "view": v.view} for v in fake.views.values() if v.user == user_id and not v.closed
    ]
    return {
        "version": version,
        "me": user_id,
        "people": [vars(p) for p in PEOPLE],
        "users": {u.id: {"name": u.name, "real_name": u.real_name or u.name} for u in fake.users.values()},
        "conversations": conversations,
        "messages": messages,
        "views": views,
    }


def _message(fake: FakeSlack, message: Message, reply_count: int) -> dict[str, Any]:
    return {
        "ts": message.ts,
        "user": message.user,
        "bot": message.bot_id is not None,
        "text": message.text,
        "blocks": message.blocks,
        "thread_ts": message.thread_ts if message.is_reply else None,
        "reply_count": reply_count,
        "edited": bool(message.edits),
        "files": [_file(fake.files[f]) for f in message.files if f in fake.files],
        "ephemeral": False,
    }


def _ephemeral(ephemeral: Ephemeral) -> dict[str, Any]:
    return {
        "ts": ephemeral.ts,
        "user": "U_BOT",
        "bot": True,
        "text": ephemeral.text,
        "blocks": ephemeral.blocks,
        "thread_ts": ephemeral.thread_ts,
        "reply_count": 0,
        "edited": bool(ephemeral.edits),
        "files": [],
        "ephemeral": True,
    }


def _file(upload: UploadedFile) -> dict[str, Any]:
    return {
        "id": upload.id,
        "name": upload.filename,
        "title": upload.title or upload.filename,
        "size": len(upload.content),
        "url": f"/files/{upload.id}/{upload.filename}",
    }
