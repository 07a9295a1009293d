"""Marks that a dockbell job is acting on a container (or a compose project), so its stop is not a crash.

The host's worker sets one when a job starts (bot/jobs/host_worker.py) and shortens it when
the job ends: the engine's die/stop events of that job may reach the watcher a moment later.
The watcher reads the mark by container ID, name, and compose project.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass

import redis.asyncio as aioredis

from bot.jobs.queue import Cancellable, JobContext, JobHandler
from bot.jobs.watcher import keys

AFTER_JOB = 60  # seconds a mark outlives its job
PROJECT = "project:"


@dataclass(frozen=True)
class Intent:
    verb: str
    user: str
    job: str


class Intents:
    def __init__(self, redis: aioredis.Redis, host: str) -> None:
        self.redis = redis
        self.host = host

    async def mark(self, ref: str, intent: Intent, ttl: float) -> None:
        value = json.dumps({"verb": intent.verb, "user": intent.user, "job": intent.job})
        await self.redis.set(keys.intent(self.host, ref), value, ex=max(1, int(ttl) + AFTER_JOB))

    async def ended(self, ref: str) -> None:
        await self.redis.expire(keys.intent(self.host, ref), AFTER_JOB)

    async def find(self, *refs: str) -> Intent | None:
        wanted = [keys.intent(self.host, r) for r in refs if r]
        if not wanted:
            return None
        for raw in await self.redis.mget(wanted):
            if raw:
                try:
                    data = json.loads(raw)
                    return Intent(str(data.get("verb", "")), str(data.get("user", "")), str(data.get("job", "")))
                except ValueError:
                    continue
        return None


def intent_refs(verb: str, target: str) -> list[str]:
    """What a job of ``verb`` on ``target`` marks: the container, or the compose project."""
    if not target:
        return []
    if verb.startswith("compose-"):
        return [PROJECT + target]
    return [target]


def marking(handler: JobHandler, intents: Intents | None) -> JobHandler:
    """``handler`` with its target marked for the watcher while it runs (a Cancellable stays Cancellable)."""
    if intents is None:
        return handler
    if isinstance(handler, Cancellable):
        return Cancellable(marking(handler.handler, intents), handler.effect)
    inner = handler

    async def run(ctx: JobContext) -> str:
        job = ctx.job
        refs = intent_refs(job.verb, job.target)
        intent = Intent(job.verb, job.requester.user_id, job.id)
        for ref in refs:
            with contextlib.suppress(Exception):  # Redis away: a crash alert is the worse outcome, not a failed job
                await intents.mark(ref, intent, job.timeout_seconds)
        try:
            return await inner(ctx)
        finally:
            for ref in refs:
                with contextlib.suppress(Exception):
                    await intents.ended(ref)

    return run
