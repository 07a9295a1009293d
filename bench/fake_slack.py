"""The fake Slack of bench/ack.py, in a process of its own.

    python -m bench.fake_slack

Prints one line, ``<api_url> <control_url>``, once both servers listen, then serves until
SIGTERM or SIGINT (or until its stdin closes: the bench died without stopping it).

Why a process of its own: receiving and validating the answers (50-row Block Kit
messages) would otherwise run on the bench's event loop, between the reads of the acks
it is timing, and inflate dockbell's ack figures beside the floor's, which has no answers.
Real Slack is not on the bot's machine; here it at least stays off the measuring loop.

The control app (bench use only):

* ``POST /urls?n=N``: N fresh response_urls (JSON list);
* ``GET /wait?url=U&timeout=S``: blocks until U has received a POST, then answers
  ``{"time": <time.time() when the fake received it>, "status": ..., "text": ...}``
  (404 after S seconds);
* ``POST /reset``: forget recorded calls and posts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from typing import Any

from aiohttp import web

from bot.fakeslack import FakeSlack, ResponsePost

TOKEN = "xoxb-bench-token"
TEXT_CHARS = 400  # of an answer's text, enough to tell a ps table from an error


class BenchSlack(FakeSlack):
    """FakeSlack that also wakes a waiter per response_url (the base class scans every post)."""

    def __init__(self) -> None:
        super().__init__(bot_token=TOKEN)
        self.arrived: dict[str, asyncio.Future[ResponsePost]] = {}

    def _future(self, url: str) -> asyncio.Future[ResponsePost]:
        if url not in self.arrived:
            self.arrived[url] = asyncio.get_running_loop().create_future()
        return self.arrived[url]

    async def _record(self, item: Any) -> None:
        await super()._record(item)
        if isinstance(item, ResponsePost):
            future = self._future(item.url)
            if not future.done():  # the first post is the answer; later ones (edits) are not timed
                future.set_result(item)

    def reset(self) -> None:
        super().reset()
        self.arrived.clear()


def _text_of(post: ResponsePost) -> str:
    parts = [str(post.body.get("text", ""))]
    for block in post.body.get("blocks") or []:
        if isinstance(block, dict) and isinstance(block.get("text"), dict):
            parts.append(str(block["text"].get("text", "")))
    return "\n".join(parts)[:TEXT_CHARS]


def control_app(fake: BenchSlack) -> web.Application:
    async def urls(request: web.Request) -> web.Response:
        n = int(request.query.get("n", "1"))
        return web.json_response([fake.new_response_url("commands") for _ in range(n)])

    async def wait(request: web.Request) -> web.Response:
        url = request.query["url"]
        timeout = float(request.query.get("timeout", "30"))
        try:
            post = await asyncio.wait_for(asyncio.shield(fake._future(url)), timeout)
        except TimeoutError:
            return web.json_response({"error": f"no POST to {url} in {timeout} s"}, status=404)
        return web.json_response({"time": post.time, "status": post.status, "text": _text_of(post)})

    async def reset(_request: web.Request) -> web.Response:
        fake.reset()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/urls", urls)
    app.router.add_get("/wait", wait)
    app.router.add_post("/reset", reset)
    return app


async def main_async() -> None:
    fake = BenchSlack()
    await fake.start()
    runner = web.AppRunner(control_app(fake), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    control_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    print(fake.api_url, control_url, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # stdin closing means the bench is gone (even by kill -9): stop instead of lingering.
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not os.read(sys.stdin.fileno(), 1) else None)
    try:
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            loop.remove_reader(sys.stdin.fileno())
        await runner.cleanup()
        await fake.stop()


def main() -> None:
    asyncio.run(main_async())


if __name__ == "__main__":
    main()
