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
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.config import Config
from bot.core import dispatch
from bot.core.types import ReplyTo, Requester
from bot.errors import ServiceUnavailable, UnknownHost, UserError
from bot.jobs.queue import Job, JobQueue, host_is_live, job_id_for

log = logging.getLogger(__name__)

COMMAND_VERB = "command"
COMMAND_TIMEOUT = 120.0

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


def entry_of(job: Job) -> Entry:
    args = job.args
    return Entry(
        kind=str(args.get("kind", "command")),
        text=str(args.get("text", "")),
        action=str(args.get("action", "")),
        value=str(args.get("value", "")),
        trigger_id=str(args.get("trigger_id", "")),
        reason=str(args.get("reason", "")),
    )


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

    async def host_of_click(self, value: str) -> str:
        """A button's value names its host ("HOST/..."), or is a job id whose record does."""
        if "/" in value:
            return value.split("/", 1)[0]
        job = await self.queue.get(value)
        if job is None:
            raise UserError("This job is no longer known (finished jobs are kept for a day).")
        return job.host

    async def click(
        self, requester: Requester, action: str, value: str, response_url: str, trigger_id: str = ""
    ) -> None:
        try:
            host = await self.host_of_click(value)
            if self.config.host_named(host) is None:
                raise UnknownHost("This button belongs to a host dockbell no longer knows.")
            what = {"kind": "click", "action": action, "value": value}
            if trigger_id:
                what["trigger_id"] = trigger_id
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
            reply_to=ReplyTo(requester.channel_id, "", "" if response_url.startswith("view:") else response_url),
            args=what,
            idempotent=False,
            timeout_seconds=COMMAND_TIMEOUT,
        )
        stored, _created = await self.queue.enqueue(job)
        return stored
