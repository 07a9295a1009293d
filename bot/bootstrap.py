"""Building the command service from settings and config: one recipe for `serve` and `worker`."""

from __future__ import annotations

import redis.asyncio as aioredis

import handlers.access
import handlers.containers
import handlers.images
import handlers.jobs
import handlers.lifecycle
import handlers.system
from bot.config import Config
from bot.core.registry import Registry
from bot.core.shares import ShareStore
from bot.engine.hosts import DockerHosts
from bot.jobs.desk import JobDesk
from bot.jobs.gate import Gate, GroupDirectory
from bot.jobs.queue import JobQueue
from bot.jobs.runner import Services
from bot.ops.audit import AuditLog
from bot.ops.metrics import Metrics
from bot.slack.out import SlackOut

HANDLER_MODULES = (
    handlers.containers,
    handlers.images,
    handlers.system,
    handlers.access,
    handlers.lifecycle,
    handlers.jobs,
)


def build_registry() -> Registry:
    return Registry.from_modules(HANDLER_MODULES)


def build_services(config: Config, hosts: DockerHosts, slack: SlackOut, redis: aioredis.Redis) -> Services:
    """``redis`` must belong to the loop the service will run on."""
    audit = AuditLog(redis, max_entries=config.audit.max_entries, max_age_seconds=config.audit.max_age_seconds)
    return Services(
        registry=build_registry(),
        hosts=hosts,
        slack=slack,
        shares=ShareStore(redis, config.output.share_ttl_seconds),
        config=config,
        metrics=Metrics(),
        gate=Gate(config.policy, hosts, GroupDirectory(slack)),
        audit=audit,
        jobs=JobDesk(JobQueue(redis), redis, slack, audit),
    )
