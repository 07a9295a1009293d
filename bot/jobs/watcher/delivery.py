"""Delivery to one channel: paced under Slack's limit, 429s honoured, and nothing queued without bound.

Slack takes about one message per second per channel.  Each channel has an Outbox whose
pending work is keyed, so it cannot grow past one entry per incident: a post waiting for
its slot is rendered only when it is sent (so the crashes that came meanwhile are in it),
several waiting posts become one summary (coalesce.py), replies for the same thread are
folded into one, and an edit waiting for its slot is replaced by the newer one.  A 429
puts everything back and waits Retry-After; nothing is dropped for it.

Order of work: top-level posts first (they are what people see), then thread replies;
edits (chat.update, a separate Slack limit) on their own pace.  While the host is
unreachable (``held``), new top-level posts wait: they follow its "back" notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Protocol

from bot.errors import SlackRefused
from bot.jobs.watcher.coalesce import fold_lines, next_posts
from bot.slack.paced import PacedSlack, RateLimited
from bot.slack.render import Message
from bot.slack.render_notifications import thread_reply

log = logging.getLogger(__name__)

POST_EVERY = 1.05  # a shade over Slack's one per second, so a token bucket never comes up short
EDIT_EVERY = 1.0
RETRY_ERROR = 2.0
# A summary takes in the rest of its burst (edited, details in its thread) while new incidents keep
# coming within this many seconds of the last one that joined it.
SUMMARY_OPEN = 5.0
SUMMARY_KEY = "summary:"  # after a failure that is neither a refusal nor a 429 (Slack unreachable)


class Sink(Protocol):
    """What the outbox asks the watcher when the slot comes (rendering is done then, not before)."""

    def single(self, key: str) -> Message | None: ...

    def summary(self, keys: list[str]) -> Message: ...

    def details(self, keys: list[str]) -> list[Message]: ...

    def edited(self, key: str) -> tuple[str, Message] | None: ...

    def thread_of(self, key: str) -> str | None: ...

    async def posted(self, keys: list[str], ts: str, summary: bool) -> None: ...

    async def held(self) -> bool: ...


class Outbox:
    def __init__(
        self,
        channel: str,
        slack: PacedSlack,
        sink: Sink,
        *,
        burst: int = 3,
        post_every: float = POST_EVERY,
        edit_every: float = EDIT_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.channel = channel
        self.slack = slack
        self.sink = sink
        self.burst = burst
        self.post_every = post_every
        self.edit_every = edit_every
        self.clock = clock
        self.posts: list[str] = []
        self.edits: dict[str, None] = {}
        self.replies: dict[str, list[str]] = {}  # thread key -> lines
        self.thread_messages: dict[str, list[Message]] = {}  # summary ts -> prebuilt replies
        self._next_post = 0.0
        self._next_edit = 0.0
        # The summary still taking more of its burst: ts, the incidents in it, when one last joined.
        self._summary: tuple[str, list[str], float] | None = None
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.sent = 0
        self.refused = 0

    # ---- what the watcher hands in ------------------------------------------------------

    def post(self, key: str) -> None:
        if key not in self.posts:
            self.posts.append(key)
        self._poke()

    def edit(self, key: str) -> None:
        if key in self.posts:
            return  # not posted yet: it will be rendered as it is when its slot comes
        self.edits[key] = None
        self._poke()

    def reply(self, key: str, line: str) -> None:
        self.replies.setdefault(key, []).append(line)
        self._poke()

    def _poke(self) -> None:
        self._idle.clear()
        self._wake.set()

    @property
    def pending(self) -> int:
        return (
            len(self.posts)
            + len(self.edits)
            + sum(map(len, self.replies.values()))
            + sum(map(len, self.thread_messages.values()))
        )

    async def idle(self, timeout: float) -> bool:
        """Wait until nothing is pending (tests, the benchmark, a clean stop)."""
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
            return True
        except TimeoutError:
            return False

    # ---- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            try:
                wait = await self._step()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not end delivery for the channel
                log.exception("crash notification delivery to %s failed", self.channel)
                wait = RETRY_ERROR
            if wait is None:
                if self.pending == 0:
                    self._idle.set()
                self._wake.clear()
                if self.pending == 0:
                    await self._wake.wait()
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    async def _step(self) -> float | None:
        """Do one piece of work if its slot has come; how long to wait otherwise (None: nothing to do)."""
        now = self.clock()
        waits: list[float] = []
        summary_open = self._summary is not None and now - self._summary[2] < SUMMARY_OPEN
        if self.posts and summary_open and not await self.sink.held():
            await self._join_summary()
            return 0.0
        post_work = await self._post_work()
        if post_work:
            if now >= self._next_post:
                await self._send_post()
                return 0.0
            waits.append(self._next_post - now)
        if self.edits:
            if now >= self._next_edit:
                await self._send_edit()
                return 0.0
            waits.append(self._next_edit - now)
        if waits:
            return max(0.01, min(waits))
        if self.posts or self.replies:
            return 1.0  # held, or replies whose parent is not posted yet: look again soon
        return None

    async def _post_work(self) -> bool:
        if self.posts and not await self.sink.held():
            return True
        if self.thread_messages:
            return True
        return any(self.sink.thread_of(key) for key in self.replies)

    async def _send_post(self) -> None:
        self._next_post = self.clock() + self.post_every
        if self.posts and not await self.sink.held():
            await self._send_top_level()
            return
        if self.thread_messages:
            ts, messages = next(iter(self.thread_messages.items()))
            message = messages.pop(0)
            if not messages:
                del self.thread_messages[ts]
            if not await self._send(lambda: self.slack.post(self.channel, message, ts)):
                self.thread_messages.setdefault(ts, []).insert(0, message)
            return
        ready = [(key, found) for key in self.replies if (found := self.sink.thread_of(key))]
        if not ready:
            return
        key, thread = ready[0]
        taken, rest = fold_lines(self.replies.pop(key))
        if rest:
            self.replies[key] = rest
        reply = thread_reply(taken)
        if not await self._send(lambda: self.slack.post(self.channel, reply, thread)):
            self.replies[key] = taken + self.replies.get(key, [])

    async def _send_top_level(self) -> None:
        keys, rest = next_posts(self.posts, self.burst)
        self.posts = rest
        summary = len(keys) > 1
        message = self.sink.summary(keys) if summary else self.sink.single(keys[0])
        if message is None:
            return
        box: list[str] = []

        async def send() -> None:
            box.append(await self.slack.post(self.channel, message))

        if not await self._send(send):
            self.posts = keys + [k for k in self.posts if k not in keys]
            return
        if not box:
            return  # refused for good (logged): nothing to thread under
        ts = box[0]
        await self.sink.posted(keys, ts, summary)
        if summary:
            self.thread_messages[ts] = self.sink.details(keys)
            self._summary = (ts, list(keys), self.clock())

    async def _join_summary(self) -> None:
        """More of the same burst: into the open summary (edited) and its thread, not a new message."""
        assert self._summary is not None
        ts, keys, _ = self._summary
        joining, self.posts = self.posts, []
        keys += joining
        self._summary = (ts, keys, self.clock())
        await self.sink.posted(joining, ts, True)
        self.thread_messages.setdefault(ts, []).extend(self.sink.details(joining))
        self.edits[SUMMARY_KEY + ts] = None

    async def _send_edit(self) -> None:
        self._next_edit = self.clock() + self.edit_every
        key = next(iter(self.edits))
        del self.edits[key]
        if key.startswith(SUMMARY_KEY):
            ts = key.removeprefix(SUMMARY_KEY)
            keys = self._summary[1] if self._summary is not None and self._summary[0] == ts else []
            if keys and not await self._send(lambda: self.slack.update(self.channel, ts, self.sink.summary(keys))):
                self.edits.setdefault(key, None)
            return
        found = self.sink.edited(key)
        if found is None:
            return
        ts, message = found
        if not await self._send(lambda: self.slack.update(self.channel, ts, message)):
            self.edits.setdefault(key, None)

    async def _send(self, call: Callable[[], object]) -> bool:
        """True when Slack took it (or refused it for good); False to keep it for later."""
        try:
            result = call()
            if asyncio.iscoroutine(result):
                await result
            self.sent += 1
            # Paced from when Slack answered too: a slow answer must not bring the next call closer
            # than a second to this one as Slack counts them.
            self._next_post = max(self._next_post, self.clock() + self.post_every * 0.6)
            return True
        except RateLimited as err:
            log.info("Slack rate-limited channel %s: waiting %.1f s", self.channel, err.retry_after)
            self._next_post = max(self._next_post, self.clock() + err.retry_after)
            self._next_edit = max(self._next_edit, self.clock() + err.retry_after)
            return False
        except SlackRefused as err:
            self.refused += 1
            log.warning("Slack refused a crash notification for %s (%s); it is dropped", self.channel, err.code)
            return True
        except Exception as err:  # Slack unreachable: keep it, try again
            log.warning("could not reach Slack for channel %s: %s", self.channel, err)
            self._next_post = max(self._next_post, self.clock() + RETRY_ERROR)
            return False
