"""Serve's whole job after the ack: put a command or a click on the right host's stream.

Serve holds no Docker socket and knows no commands: it reads which host a command is
for (``-H``, else the channel's host, else the default), checks that the host has a
live worker, and enqueues a signed entry that the worker answers in full (gate, audit,
handler, rendering, reply).  The only answers serve gives itself are the ones that need
no Docker: an unknown host, a host with no live worker, Redis down.

Entries are jobs of verb ``command`` whose args say what to do: ``{"kind": "command",
"text": ...}`` or ``{"kind": "click", "action": ..., "value": ...}``.  Their id comes from
the request's ``response_url``, unique per invocation, so Slack's retried delivery of the
same request finds the first entry instead of running twice.

A message (a mention, a DM) has no response_url: its ThreadRoute (bot/core/types.py) stands in
for one, and a command typed in a thread dockbell owns carries the thread's subject
(``"subject"``: its host and container, bot/jobs/threads.py), which the worker fills in when the
command names no container.  Slack retries an event it thinks was not taken; serve takes each
message once (``dockbell:message:<channel>:<ts>``, SET NX).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

from redis.exceptions import RedisError

from bot.config import Config
from bot.core import dispatch
from bot.core.types import ReplyTo, Requester, ThreadRoute
from bot.errors import ServiceUnavailable, UnknownHost, UserError
from bot.jobs.queue import Job, JobQueue, host_is_live, job_id_for
from bot.jobs.threads import ThreadMap, ThreadSubject

log = logging.getLogger(__name__)

COMMAND_VERB = "command"
COMMAND_TIMEOUT = 120.0
TAKEN_PREFIX = "dockbell:message:"
TAKEN_TTL = 3600  # seconds: Slack's last retry comes about 5 minutes after the first delivery

# Sends a short text answer (an error serve can give without Docker) to a response_url.
Answer = Callable[[str, str], Awaitable[None]]


@dataclass(frozen=True)
class Entry:
    """What a worker reads back from a ``command`` job's args."""

    kind: str  # "command" | "click"
    text: str = ""
    action: str = ""
    value: str = ""
    trigger_id: str = ""  # a click's: lets the worker open a modal (Slack: within 3 s of the click)
    reason: str = ""  # a modal's submission: what was typed (the Deny form's reason)
    subject: ThreadSubject | None = None  # a mention in a dockbell thread: the thread's container
    thread_ts: str = ""  # a click's: the thread of the message clicked (its jobs post there)


def entry_of(job: Job) -> Entry:
    args = job.args
    return Entry(
        kind=str(args.get("kind", "command")),
        text=str(args.get("text", "")),
        action=str(args.get("action", "")),
        value=str(args.get("value", "")),
        trigger_id=str(args.get("trigger_id", "")),
        reason=str(args.get("reason", "")),
        subject=_subject_of(str(args.get("subject", ""))),
        thread_ts=str(args.get("thread_ts", "")),
    )


def _subject_of(raw: str) -> ThreadSubject | None:
    if not raw:
        return None
    try:
        data = json.loads(raw)
        return ThreadSubject(str(data["host"]), str(data["container"]), str(data["name"]), str(data["kind"]))
    except (ValueError, KeyError, TypeError):
        return None


# A host seen live is trusted for this long before its heartbeats are read again: a
# worker's heartbeat comes every second, and reading them costs serve two Redis round
# trips per command.  An entry enqueued just after its last worker died waits in the
# stream for the next worker of that host; it is not lost.
LIVE_CACHE_SECONDS = 1.0


class Inbox:
    def __init__(
        self, config: Config, queue: JobQueue, answer: Answer, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config
        self.queue = queue
        self.answer = answer
        self.clock = clock
        self._live_until: dict[str, float] = {}

    async def _is_live(self, host: str) -> bool:
        if self._live_until.get(host, 0.0) > self.clock():
            return True
        live = await host_is_live(self.queue.redis, host)
        if live:
            self._live_until[host] = self.clock() + LIVE_CACHE_SECONDS
        return live

    def host_for(self, requester: Requester, text: str) -> str:
        name = dispatch.route_host(text) or self.config.host_for_channel(requester.channel_id)
        if self.config.host_named(name) is None:
            # Names no host list: which hosts exist is not everyone's business.
            raise UnknownHost(f"unknown Docker host {name!r}. `/docker hosts` lists the hosts you can use.")
        return name

    async def command(self, requester: Requester, text: str, response_url: str) -> None:
        try:
            host = self.host_for(requester, text)
            await self.forward(host, requester, response_url, {"kind": "command", "text": text})
        except UserError as err:
            await self.answer(response_url, err.message)

    async def message(self, requester: Requester, text: str, route: ThreadRoute, typed_in: str = "") -> bool:
        """A command given in a message (a mention, a DM); False when this message was taken already.

        ``route``: where its answers go; ``typed_in``: the thread it was typed in ("" at top
        level), whose subject, if dockbell owns it, the worker fills in for a command that names
        no container.  The subject is read from Redis only: serve never asks Docker anything.
        """
        try:
            if not await self._take(route):
                return False
            subject = await ThreadMap(self.queue.redis).lookup(route.channel_id, typed_in) if typed_in else None
            what = {"kind": "command", "text": text}
            if subject is not None and not dispatch.route_host(text):
                what["subject"] = json.dumps(asdict(subject))
                host = subject.host
            else:
                host = self.host_for(requester, text)
            if self.config.host_named(host) is None:
                raise UnknownHost("This thread belongs to a host dockbell no longer knows.")
            await self.forward(host, requester, route.url, what)
        except UserError as err:
            await self.answer(route.url, err.message)
        except RedisError as err:
            log.warning("a message from %s could not be taken (Redis: %s)", requester.user_id, err)
            await self.answer(route.url, "dockbell cannot reach Redis right now, so nothing ran. Try again.")
        return True

    async def _take(self, route: ThreadRoute) -> bool:
        """Claim the message once: Slack's retries of its event (or a second event for it) find it taken."""
        key = f"{TAKEN_PREFIX}{route.channel_id}:{route.message_ts}"
        return bool(await self.queue.redis.set(key, "1", nx=True, ex=TAKEN_TTL))

    async def host_of_click(self, value: str) -> str:
        """A button's value names its host ("HOST/..."), or is a job id whose record does."""
        if "/" in value:
            return value.split("/", 1)[0]
        job = await self.queue.get(value)
        if job is None:
            raise UserError("This job is no longer known (finished jobs are kept for a day).")
        return job.host

    async def click(
        self,
        requester: Requester,
        action: str,
        value: str,
        response_url: str,
        trigger_id: str = "",
        thread_ts: str = "",
    ) -> None:
        try:
            host = await self.host_of_click(value)
            if self.config.host_named(host) is None:
                raise UnknownHost("This button belongs to a host dockbell no longer knows.")
            what = {"kind": "click", "action": action, "value": value}
            if trigger_id:
                what["trigger_id"] = trigger_id
            if thread_ts:
                what["thread_ts"] = thread_ts
            await self.forward(host, requester, response_url, what)
        except UserError as err:
            await self.answer(response_url, err.message)

    async def submission(self, requester: Requester, callback: str, value: str, reason: str, key: str) -> None:
        """A modal's submission (the Deny form): to the host its ``value`` names ("HOST/..."), as a click.

        A submission has no response_url; ``key`` (the view's id and hash) identifies it
        instead, so a retried delivery finds the first entry.  Nobody can be answered from
        here: a refusal is logged, and the worker answers everything else.
        """
        try:
            host = await self.host_of_click(value)
            if self.config.host_named(host) is None:
                raise UnknownHost("This form belongs to a host dockbell no longer knows.")
            what = {"kind": "click", "action": callback, "value": value, "reason": reason}
            await self.forward(host, requester, f"view:{key}", what)
        except UserError as err:
            log.warning("a %s submission by %s was not forwarded: %s", callback, requester.user_id, err.message)

    async def forward(self, host: str, requester: Requester, response_url: str, what: dict[str, str]) -> Job:
        """Enqueue one signed entry for ``host``'s worker; refuse at once if nothing would pick it up."""
        if not await self._is_live(host):
            raise ServiceUnavailable(
                f"host `{host}` has no live worker, so nothing can run there now "
                f"(start one with `dockbell worker --host {host}`)."
            )
        job = Job(
            id=job_id_for(host, COMMAND_VERB, response_url, what.get("action", "")),
            host=host,
            verb=COMMAND_VERB,
            requester=requester,
            # A modal's submission has no response_url ("view:..." stands in for one): none to answer to.
            # A message's ThreadRoute ("thread:...") is kept: the answers go into its thread.
            reply_to=ReplyTo(requester.channel_id, "", "" if response_url.startswith("view:") else response_url),
            args=what,
            idempotent=False,
            timeout_seconds=COMMAND_TIMEOUT,
        )
        stored, _created = await self.queue.enqueue(job)
        return stored
