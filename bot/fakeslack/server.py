"""FakeSlack: one local aiohttp app playing Slack's Web API, response_url and upload hosts.

Design notes (slack-platform.md, "Design of a faithful local fake Slack"):

* Arguments are merged from the query string and the form or JSON body (slack_sdk puts most
  "POST" args in the query, chat.* in JSON, and Bolt adds ``team_id`` everywhere).
* Every answer carries ``x-oauth-scopes``; errors are HTTP 200 ``{"ok": false}`` except rate
  limits (429 + integer ``Retry-After``) and injected server errors (HTML 5xx).
* Bolt keeps running listeners after the HTTP reply, so tests wait on recorded calls with
  :meth:`FakeSlack.wait_for_call` / :meth:`FakeSlack.wait_for_response` (condition variable).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from aiohttp import BodyPartReader, web

from .faults import HTML_ERROR_PAGE, Injection, TokenBucket
from .feed import ChangeFeed
from .hooks import HookRegistry
from .records import APP_ID, Call, Channel, Ephemeral, Message, OpenView, ResponsePost, UploadedFile, User
from .socketmode import LINK_PATH, SocketModeLink
from .webapi import METHODS, ApiContext, ApiError, decode_json_args
from .workspace import Workspace

DEFAULT_SCOPES = (
    "commands",
    "chat:write",
    "files:write",
    "users:read",
    "usergroups:read",
    "im:write",
    "channels:read",
    "groups:read",
    "app_mentions:read",
    "im:history",
)
DEFAULT_APP_TOKEN = "xapp-1-A_DOCKBELL-1-fake"
DEFAULT_APP_SCOPES = ("connections:write",)
CONNECTIONS_OPEN = "apps.connections.open"
# Pseudo-method names for fail_next() on the two non-Web-API endpoints.
UPLOAD = "upload"
RESPONSE_URL = "response_url"
MAX_BODY = 64 * 1024 * 1024
ACCEPTED_CHARSETS = ("utf-8", "iso-8859-1")

T = TypeVar("T")


@dataclass
class Reply:
    """An HTTP answer before it becomes an aiohttp response."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    html: str | None = None

    @classmethod
    def injected(cls, injection: Injection) -> Reply:
        if injection.error is not None:
            return cls(200, {"ok": False, "error": injection.error})
        if injection.status == 429:
            return cls(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(injection.retry_after)})
        reason = HTTPStatus(injection.status).phrase
        return cls(injection.status, {}, html=HTML_ERROR_PAGE.format(status=injection.status, reason=reason))

    def to_response(self, extra_headers: dict[str, str]) -> web.Response:
        headers = {**extra_headers, **self.headers}
        if self.html is not None:
            return web.Response(status=self.status, text=self.html, content_type="text/html", headers=headers)
        return web.json_response(self.body, status=self.status, headers=headers)


async def read_api_args(request: web.Request) -> tuple[dict[str, Any], str | None]:
    """Merged args (query < body) and a token passed as an argument.

    Slack ignores a ``token`` inside JSON bodies (the header is required for JSON), so only a
    query/form token counts. Raises ApiError for Slack's content-type errors.
    """
    args: dict[str, Any] = dict(request.query.items())
    if request.body_exists:
        args.update(await _read_body_args(request))
    token = args.pop("token", None)
    return args, token if isinstance(token, str) else None


async def _read_body_args(request: web.Request) -> dict[str, Any]:
    if "Content-Type" not in request.headers:
        if await request.read():
            raise ApiError("missing_post_type")
        return {}
    if request.charset and request.charset.lower() not in ACCEPTED_CHARSETS:
        raise ApiError("invalid_charset")
    content_type = request.content_type
    if content_type == "multipart/form-data":
        form = await request.post()
        return {key: value for key, value in form.items() if isinstance(value, str)}
    raw = await request.read()
    if content_type in ("application/x-www-form-urlencoded", "text/plain"):
        return _parse_form(raw)
    if content_type == "application/json":
        return _parse_json_args(raw)
    raise ApiError("invalid_post_type")


def _parse_form(raw: bytes) -> dict[str, Any]:
    try:
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(raw)))
    except (UnicodeDecodeError, ValueError):
        raise ApiError("invalid_form_data") from None


def _parse_json_args(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw) if raw else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError("invalid_json") from None
    if not isinstance(body, dict):
        raise ApiError("invalid_json")
    body.pop("token", None)
    return body


def _bearer(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return None
    return auth.removeprefix("Bearer ").strip() or None


async def _read_upload(request: web.Request) -> bytes:
    """Raw bytes (what slack_sdk sends) or the first file part of a multipart form."""
    if request.content_type != "multipart/form-data":
        return await request.read()
    reader = await request.multipart()
    async for part in reader:
        if isinstance(part, BodyPartReader) and (part.filename or part.name in ("file", "filename")):
            return await part.read(decode=False)
    return b""


class FakeSlack:
    """A faithful-enough local Slack for tests. See the module docstring."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-token",
        scopes: tuple[str, ...] = DEFAULT_SCOPES,
        clock: Callable[[], float] = time.time,
        team_id: str = "T_TEST",
        app_token: str = DEFAULT_APP_TOKEN,
        app_scopes: tuple[str, ...] = DEFAULT_APP_SCOPES,
    ) -> None:
        self.bot_token = bot_token
        self.scopes = frozenset(scopes)
        # the app-level token (xapp-): Socket Mode only, with scopes of its own
        self.app_token = app_token
        self.app_scopes = frozenset(app_scopes)
        self.clock = clock
        self.token_revoked = False
        self.app_token_revoked = False
        self.link = SocketModeLink(APP_ID)
        self.workspace = Workspace(team_id, clock)
        self.calls: list[Call] = []
        self.response_posts: list[ResponsePost] = []
        self.base_url = ""
        self.api_url = ""
        self._hooks = HookRegistry(self.workspace)
        self._injections: dict[str, deque[Injection]] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self._changed = asyncio.Condition()
        # every change, for readers that show the workspace live (the playground's page)
        self.feed = ChangeFeed()
        self._runner: web.AppRunner | None = None

    # --- state views -------------------------------------------------------------------------

    @property
    def team_id(self) -> str:
        return self.workspace.team_id

    @property
    def messages(self) -> dict[str, list[Message]]:
        return self.workspace.messages

    @property
    def ephemerals(self) -> list[Ephemeral]:
        return self.workspace.ephemerals

    @property
    def deleted_messages(self) -> list[Message]:
        return self.workspace.deleted_messages

    @property
    def files(self) -> dict[str, UploadedFile]:
        return self.workspace.files

    @property
    def views(self) -> dict[str, OpenView]:
        """Modals opened with views.open, by view id."""
        return self.workspace.views

    @property
    def users(self) -> dict[str, User]:
        return self.workspace.users

    @property
    def channels(self) -> dict[str, Channel]:
        return self.workspace.channels

    @property
    def usergroups(self) -> dict[str, list[str]]:
        return self.workspace.usergroups

    def thread(self, channel: str, ts: str) -> list[Message]:
        """Parent and replies of the thread ``ts`` belongs to."""
        message = self.workspace.find_message(channel, ts)
        root = message.thread_ts or message.ts if message else ts
        return self.workspace.thread(channel, root)

    # --- seed data -----------------------------------------------------------------------------

    def add_user(self, id: str, name: str) -> User:
        return self.workspace.add_user(id, name)

    def add_channel(self, id: str, name: str, member: bool = True) -> Channel:
        return self.workspace.add_channel(id, name, member)

    def set_usergroup(self, id: str, users: Sequence[str]) -> None:
        self.workspace.usergroups[id] = list(users)

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/hooks/{tail:.+}", self._handle_hook)
        app.router.add_post("/upload/v1/{ticket}", self._handle_upload)
        app.router.add_get(LINK_PATH, self.link.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        self.api_url = self.base_url + "/api/"

    async def stop(self) -> None:
        # open WebSockets would hold the runner's cleanup until its shutdown timeout
        await self.link.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- test controls -------------------------------------------------------------------------

    def fail_next(
        self, method: str, n: int = 1, *, status: int = 429, retry_after: int = 1, error: str | None = None
    ) -> None:
        """Make the next ``n`` calls of ``method`` fail (queued after earlier injections).

        ``method`` may also be ``"upload"`` or ``"response_url"`` for those endpoints.
        ``error`` wins over ``status``: it produces HTTP 200 ``{"ok": false, "error": error}``.
        """
        HTTPStatus(status)  # fail here, not inside a request handler, on a typo like 5003
        queue = self._injections.setdefault(method, deque())
        queue.extend(Injection(status, retry_after, error) for _ in range(n))

    def rate_limit_channel(self, channel: str, per_second: float, burst: int) -> None:
        """Token bucket for chat.postMessage into ``channel`` (Slack: ~1/s per channel)."""
        self._buckets[channel] = TokenBucket.full(per_second, burst, self.clock())

    def revoke_token(self) -> None:
        self.token_revoked = True

    def revoke_app_token(self) -> None:
        self.app_token_revoked = True

    def reset(self) -> None:
        """Forget records, messages, files, response_urls and injections; keep seed data."""
        self.calls.clear()
        self.response_posts.clear()
        self.workspace.clear_records()
        self._hooks.urls.clear()
        self._injections.clear()
        self._buckets.clear()
        self.token_revoked = False
        self.app_token_revoked = False
        self.link.reset()
        self.feed.touch()

    # --- response_url --------------------------------------------------------------------------

    def new_response_url(
        self,
        kind: str = "commands",
        *,
        channel: str = "C_GENERAL",
        user: str = "U_ALICE",
        message_ts: str | None = None,
        is_ephemeral: bool = False,
    ) -> str:
        """A response_url pointing at this fake; ``message_ts`` is the clicked message (actions)."""
        hook = self._hooks.issue(
            self.base_url,
            kind,
            self.clock(),
            channel=channel,
            user=user,
            message_ts=message_ts,
            is_ephemeral=is_ephemeral,
        )
        return hook.url

    def show_ack(self, response_url: str, body: dict[str, Any]) -> list[str]:
        """Display a slash command's ack body as Slack would; return Slack's complaints.

        Slack renders a non-empty 200 answer as a message (ephemeral unless in_channel). It does
        not count as a response_url use. An invalid body is what the user would see as an error.
        """
        hook = self._hooks.lookup(response_url)
        if hook is None:
            return [f"unknown response_url {response_url}"]
        result = self._hooks.apply(hook, body, self.clock())
        self.feed.touch()
        if result.status == 200:
            return []
        return [str(result.body.get("error")), *result.body.get("errors", [])]

    # --- waiting -------------------------------------------------------------------------------

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 5.0,
        *,
        since: int = 0,
    ) -> Call:
        """First recorded call of ``method`` (from index ``since``) matching ``predicate``."""

        def find() -> Call | None:
            return next(
                (c for c in self.calls[since:] if c.method == method and (predicate is None or predicate(c))),
                None,
            )

        return await self._wait(find, timeout, lambda: f"no matching {method} call; calls:\n" + self._calls_summary())

    async def wait_for_response(
        self,
        predicate: Callable[[ResponsePost], bool] | None = None,
        timeout: float = 5.0,
        *,
        since: int = 0,
    ) -> ResponsePost:
        """First POST to a response_url (from index ``since``) matching ``predicate``."""

        def find() -> ResponsePost | None:
            return next((p for p in self.response_posts[since:] if predicate is None or predicate(p)), None)

        def describe() -> str:
            posts = "\n".join(f"  {p.status} {json.dumps(p.body)[:200]}" for p in self.response_posts)
            return f"no matching response_url POST; received:\n{posts or '  (none)'}"

        return await self._wait(find, timeout, describe)

    async def _wait(self, find: Callable[[], T | None], timeout: float, describe: Callable[[], str]) -> T:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: find() is not None), timeout)
            except TimeoutError:
                raise AssertionError(f"timed out after {timeout}s: {describe()}") from None
        found = find()
        assert found is not None
        return found

    def _calls_summary(self) -> str:
        lines = [
            f"  {c.method} -> {c.http_status} {c.response.get('error', 'ok')} {json.dumps(c.args, default=str)[:200]}"
            for c in self.calls
        ]
        return "\n".join(lines) or "  (none)"

    async def _record(self, item: Call | ResponsePost) -> None:
        if isinstance(item, Call):
            self.calls.append(item)
        else:
            self.response_posts.append(item)
        self.feed.touch()
        async with self._changed:
            self._changed.notify_all()

    def _take_injection(self, method: str) -> Injection | None:
        queue = self._injections.get(method)
        return queue.popleft() if queue else None

    # --- Web API -------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        now = self.clock()
        try:
            args, arg_token = await read_api_args(request)
        except ApiError as error:
            args, reply = {}, Reply(200, error.body())
        else:
            reply = self._dispatch(method, args, _bearer(request) or arg_token, now)
        await self._record(Call(method, args, dict(request.headers), now, reply.body, reply.status))
        scopes = self.app_scopes if _bearer(request) == self.app_token else self.scopes
        headers = {"x-oauth-scopes": ",".join(sorted(scopes))}
        if method in METHODS:
            headers["x-accepted-oauth-scopes"] = ",".join(METHODS[method].scopes)
        return reply.to_response(headers)

    def _dispatch(self, method: str, args: dict[str, Any], token: str | None, now: float) -> Reply:
        injection = self._take_injection(method)
        if injection is not None:
            return Reply.injected(injection)
        spec = METHODS.get(method)
        if spec is None:
            return Reply(200, {"ok": False, "error": "unknown_method"})
        if method == CONNECTIONS_OPEN and self.link.down and self.link.api_down:
            return Reply.injected(Injection(status=503))  # the edge is down: no auth check either
        try:
            scopes = self._authenticate(method, token)
            ctx = ApiContext(self.workspace, scopes, self.base_url, now, link_url=self._link_url)
            ctx.require_scope(*spec.scopes)
            limited = self._channel_rate_limit(method, args, now)
            if limited is not None:
                return limited
            decode_json_args(args)
            return Reply(200, spec.handler(ctx, args))
        except ApiError as error:
            return Reply(200, error.body())

    def _authenticate(self, method: str, token: str | None) -> frozenset[str]:
        """The token's scopes; Slack's error when the token may not call ``method``."""
        if not token:
            raise ApiError("not_authed")
        if token == self.app_token:
            if self.app_token_revoked:
                raise ApiError("token_revoked")
            # our simplification: the fake's app-level token is good for Socket Mode only
            if method != CONNECTIONS_OPEN:
                raise ApiError("not_allowed_token_type")
            return self.app_scopes
        if token != self.bot_token:
            raise ApiError("invalid_auth")
        if self.token_revoked:
            raise ApiError("token_revoked")
        if method == CONNECTIONS_OPEN:
            raise ApiError("not_allowed_token_type")  # it needs the app-level token
        return self.scopes

    def _link_url(self) -> str:
        return self.link.issue_url(self.base_url)

    def _channel_rate_limit(self, method: str, args: dict[str, Any], now: float) -> Reply | None:
        bucket = self._buckets.get(str(args.get("channel"))) if method == "chat.postMessage" else None
        wait = bucket.take(now) if bucket is not None else 0
        if not wait:
            return None
        return Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(wait)})

    # --- response_url --------------------------------------------------------------------------

    async def _handle_hook(self, request: web.Request) -> web.Response:
        now = self.clock()
        raw = await request.read()
        body = _parse_hook_body(request.content_type, raw)
        injection = self._take_injection(RESPONSE_URL)
        hook = self._hooks.lookup(request.path)
        url = hook.url if hook else str(request.url)
        if injection is not None:
            reply = Reply.injected(injection)
            await self._record(ResponsePost(url, _as_dict(body, raw), now, reply.status, reply.body))
            return reply.to_response({})
        result = self._hooks.receive(request.path, body, now)
        post = ResponsePost(url, _as_dict(body, raw), now, result.status, result.body, result.message_ts)
        await self._record(post)
        return web.json_response(result.body, status=result.status)

    # --- file upload ---------------------------------------------------------------------------

    async def _handle_upload(self, request: web.Request) -> web.Response:
        now = self.clock()
        ticket = request.match_info["ticket"]
        upload = next((f for f in self.workspace.files.values() if f.ticket == ticket), None)
        content = await _read_upload(request)
        injection = self._take_injection(UPLOAD)
        reply = self._store_upload(upload, content) if injection is None else Reply.injected(injection)
        args = {"ticket": ticket, "file_id": upload.id if upload else None, "bytes": len(content)}
        await self._record(Call(UPLOAD, args, dict(request.headers), now, reply.body, reply.status))
        if injection is not None:
            return reply.to_response({})
        return web.Response(status=reply.status, text=reply.body["text"], content_type="text/plain")

    def _store_upload(self, upload: UploadedFile | None, content: bytes) -> Reply:
        if upload is None:
            return Reply(404, {"text": "FAILED - unknown upload ticket"})
        if len(content) != upload.length:
            # our choice: a length that disagrees with getUploadURLExternal is a client bug
            text = f"FAILED - declared length {upload.length}, received {len(content)} bytes"
            return Reply(400, {"text": text})
        upload.content = content
        upload.uploaded = True
        return Reply(200, {"text": f"OK - {len(content)}"})


def _parse_hook_body(content_type: str, raw: bytes) -> object:
    """response_url bodies are JSON (or, like incoming webhooks, a form ``payload=`` field)."""
    try:
        if content_type == "application/x-www-form-urlencoded":
            payload = dict(parse_qsl(raw.decode("utf-8"))).get("payload")
            return json.loads(payload) if payload else None
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def _as_dict(body: object, raw: bytes) -> dict[str, Any]:
    if isinstance(body, dict):
        return body
    return {"_raw": raw.decode("utf-8", "replace")}
