"""The page's server: the static page, what the person does, and a WebSocket of what they see.

It listens on 127.0.0.1 only, and refuses requests whose Host is not the loopback (a web page
elsewhere cannot reach it through DNS rebinding) and POSTs that are not JSON (a cross-site form
cannot send JSON without a preflight, which this server never grants).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from bot.fakeslack import FakeSlack

from .actions import Actions, Outcome
from .people import PEOPLE
from .snapshot import snapshot

STATIC = Path(__file__).parent / "static"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
# Several changes come in bursts (an ack, then its message, then an edit): one push for them.
PUSH_COALESCE_SECONDS = 0.05
KEEPALIVE_SECONDS = 20.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def loopback_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    if host not in LOOPBACK_HOSTS:
        return web.json_response({"ok": False, "error": "the playground answers on 127.0.0.1 only"}, status=403)
    if request.method == "POST" and request.content_type != "application/json":
        return web.json_response({"ok": False, "error": "JSON only"}, status=415)
    return await handler(request)


class PageServer:
    def __init__(self, fake: FakeSlack, actions: Actions) -> None:
        self.fake = fake
        self.actions = actions
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[loopback_only])
        app.router.add_get("/", self._index)
        app.router.add_static("/static/", STATIC)
        app.router.add_get("/api/state", self._state)
        app.router.add_get("/ws", self._ws)
        app.router.add_post("/api/send", self._send)
        app.router.add_post("/api/click", self._click)
        app.router.add_post("/api/submit", self._submit)
        app.router.add_post("/api/close", self._close)
        app.router.add_get("/files/{id}/{name}", self._file)
        return app

    async def start(self, port: int) -> str:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/"
        return self.url

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- reading -------------------------------------------------------------------------------

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def _state(self, request: web.Request) -> web.Response:
        user = _person(request.query.get("as"))
        return web.json_response(snapshot(self.fake, user, self.fake.feed.version))

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        """Pushes the person's snapshot now and after every change of the fake."""
        user = _person(request.query.get("as"))
        ws = web.WebSocketResponse(heartbeat=KEEPALIVE_SECONDS)
        await ws.prepare(request)
        self._sockets.add(ws)
        reader = asyncio.create_task(_drain(ws))
        try:
            seen = -1
            while not ws.closed:
                version = self.fake.feed.version
                if version != seen:
                    await ws.send_str(json.dumps(snapshot(self.fake, user, version)))
                    seen = version
                waiter = asyncio.ensure_future(self.fake.feed.wait(seen, timeout=KEEPALIVE_SECONDS))
                done, _ = await asyncio.wait({waiter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if reader in done:
                    waiter.cancel()
                    break
                await asyncio.sleep(PUSH_COALESCE_SECONDS)
        except (ConnectionResetError, RuntimeError):
            pass  # the page went away mid-send
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            self._sockets.discard(ws)
            await ws.close()
        return ws

    async def _file(self, request: web.Request) -> web.StreamResponse:
        upload = self.fake.files.get(request.match_info["id"])
        if upload is None or not upload.completed:
            raise web.HTTPNotFound(text="no such file")
        disposition = "attachment" if request.query.get("download") else "inline"
        headers = {
            "Content-Disposition": f'{disposition}; filename="{_safe_filename(upload.filename)}"',
            "X-Content-Type-Options": "nosniff",
        }
        # always text/plain: a file's content never runs as a page here
        return web.Response(body=upload.content, content_type="text/plain", charset="utf-8", headers=headers)

    # --- doing ---------------------------------------------------------------------------------

    async def _send(self, request: web.Request) -> web.Response:
        body = await _json(request)
        outcome = await self.actions.send(
            _person(body.get("as")),
            _string(body, "channel"),
            _string(body, "text"),
            str(body["thread_ts"]) if body.get("thread_ts") else None,
        )
        return _answer(outcome)

    async def _click(self, request: web.Request) -> web.Response:
        body = await _json(request)
        outcome = await self.actions.click(_person(body.get("as")), _string(body, "ts"), _string(body, "action_id"))
        return _answer(outcome)

    async def _submit(self, request: web.Request) -> web.Response:
        body = await _json(request)
        raw = body.get("values")
        values = (
            {str(b): {str(a): str(v) for a, v in acts.items()} for b, acts in raw.items() if isinstance(acts, dict)}
            if isinstance(raw, dict)
            else {}
        )
        outcome = await self.actions.submit(_person(body.get("as")), _string(body, "view_id"), values)
        return _answer(outcome)

    async def _close(self, request: web.Request) -> web.Response:
        body = await _json(request)
        return _answer(self.actions.close_view(_person(body.get("as")), _string(body, "view_id")))


async def _drain(ws: web.WebSocketResponse) -> None:
    """Read (and ignore) what the page sends, so a close is noticed."""
    async for message in ws:
        if message.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
            break


def _person(value: object) -> str:
    if not any(p.id == value for p in PEOPLE):
        raise web.HTTPBadRequest(text="unknown person: choose one of " + ", ".join(p.id for p in PEOPLE))
    return str(value)


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="not JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="a JSON object, please")
    return body


def _string(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise web.HTTPBadRequest(text=f"{key}: a string, please")
    return value


def _answer(outcome: Outcome) -> web.Response:
    return web.json_response({"ok": outcome.ok, "error": outcome.error})


def _safe_filename(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or "file"
