"""The response_url receiver: hands out URLs and applies what the bot POSTs to them.

Slack allows 5 uses within 30 minutes (slack-platform.md §1.3). The exact error strings for
over-use and expiry are unverified, so ours are ``used_url`` and ``expired_url`` (404), and
``no_service`` (404) for a URL the fake never issued. Validation failures answer 400 with
``{"ok": false, "error": "no_text" | "invalid_blocks" | "invalid_payload"}``: our choice too.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from .blockkit import validate_blocks
from .records import Ephemeral, Message
from .webapi import MAX_TEXT
from .workspace import Workspace

MAX_USES = 5
MAX_AGE_SECONDS = 30 * 60


@dataclass
class ResponseUrl:
    """One issued response_url and the context Slack would attach to it."""

    url: str
    kind: str  # "commands" or "actions"
    created: float
    channel: str
    user: str
    message_ts: str | None = None  # for actions: the message holding the clicked button
    is_ephemeral: bool = False
    uses: int = 0
    last_ts: str | None = None  # latest message posted through this URL (commands' "original")

    @property
    def original_ts(self) -> str | None:
        return self.message_ts if self.kind == "actions" else self.last_ts


@dataclass
class HookResult:
    status: int
    body: dict[str, Any]
    message_ts: str | None = None


def _fail(status: int, error: str, **extra: Any) -> HookResult:
    return HookResult(status, {"ok": False, "error": error, **extra})


class HookRegistry:
    """All response_urls of one fake, keyed by URL path."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.urls: dict[str, ResponseUrl] = {}
        self._seq = 0

    def issue(
        self,
        base_url: str,
        kind: str,
        now: float,
        *,
        channel: str,
        user: str,
        message_ts: str | None = None,
        is_ephemeral: bool = False,
    ) -> ResponseUrl:
        self._seq += 1
        path = f"/hooks/{kind}/{self.workspace.team_id}/{self._seq}/{secrets.token_urlsafe(18)}"
        hook = ResponseUrl(base_url + path, kind, now, channel, user, message_ts, is_ephemeral)
        self.urls[path] = hook
        return hook

    def lookup(self, url_or_path: str) -> ResponseUrl | None:
        path = url_or_path[url_or_path.find("/hooks/") :] if "/hooks/" in url_or_path else url_or_path
        return self.urls.get(path)

    def receive(self, path: str, body: object, now: float) -> HookResult:
        """Apply one POST; counts toward the 5 uses only when accepted."""
        hook = self.urls.get(path)
        if hook is None:
            return _fail(404, "no_service")
        if now - hook.created > MAX_AGE_SECONDS:
            return _fail(404, "expired_url")
        if hook.uses >= MAX_USES:
            return _fail(404, "used_url")
        result = self.apply(hook, body, now)
        if result.status == 200:
            hook.uses += 1
        return result

    def apply(self, hook: ResponseUrl, body: object, now: float) -> HookResult:
        """Show ``body`` the way Slack would (also used for a command's ack body)."""
        if not isinstance(body, dict):
            return _fail(400, "invalid_payload")
        if _truthy(body.get("delete_original")):
            self._delete_original(hook)
            return HookResult(200, {"ok": True})
        problem = _validate(body)
        if problem is not None:
            return problem
        text = str(body.get("text") or "")[:MAX_TEXT]
        blocks = body.get("blocks")
        original = self._original(hook) if _truthy(body.get("replace_original")) else None
        if original is not None:
            original.apply_edit(time=now, source="response_url", text=text, blocks=blocks)
            return HookResult(200, {"ok": True}, original.ts)
        # No original known (or not replacing): Slack shows a new message.
        ts = self._post_new(hook, body, text, blocks)
        hook.last_ts = ts
        return HookResult(200, {"ok": True}, ts)

    def _original(self, hook: ResponseUrl) -> Message | Ephemeral | None:
        ts = hook.original_ts
        return self.workspace.locate(ts) if ts else None

    def _delete_original(self, hook: ResponseUrl) -> None:
        original = self._original(hook)
        if isinstance(original, Message):
            self.workspace.delete(original)
        elif isinstance(original, Ephemeral):
            original.deleted = True

    def _post_new(self, hook: ResponseUrl, body: dict[str, Any], text: str, blocks: Any) -> str:
        ws = self.workspace
        ts = ws.next_ts()
        thread_ts = body.get("thread_ts") or None
        if body.get("response_type") == "in_channel":
            ws.post(Message(ts, hook.channel, text, blocks, thread_ts=thread_ts, source="response_url"))
        else:
            ws.ephemerals.append(
                Ephemeral(ts, hook.channel, hook.user, text, blocks, thread_ts=thread_ts, source="response_url")
            )
        return ts


def _truthy(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _validate(body: dict[str, Any]) -> HookResult | None:
    blocks = body.get("blocks")
    if not body.get("text") and not blocks and not body.get("attachments"):
        return _fail(400, "no_text")
    if blocks is None:
        return None
    errors = validate_blocks(blocks)
    if errors:
        messages = [f"[ERROR] {error}" for error in errors]
        return _fail(400, "invalid_blocks", errors=errors, response_metadata={"messages": messages})
    return None
