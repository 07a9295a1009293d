"""The audit trail: one record per command, allowed or not, in a Redis stream and the log."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("dockbell.audit")

STREAM = "dockbell:audit"


@dataclass(frozen=True)
class AuditRecord:
    time: float
    user_id: str
    user_name: str
    channel_id: str
    command: str
    host: str
    target: str  # "container web (3f2a1b0c9d8e)", "image busybox:latest", or ""
    decision: str  # "allow" | "deny" | "-" (help, parse errors)
    rule: str
    outcome: str  # ok | denied | user_error | failure | help
    duration_ms: int
    approvers: str = ""
    job_id: str = ""

    def to_fields(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}

    @classmethod
    def from_fields(cls, data: dict[str, str]) -> AuditRecord:
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            raw = data.get(f.name, "")
            kwargs[f.name] = float(raw or 0) if f.name == "time" else int(raw or 0) if f.name == "duration_ms" else raw
        return cls(**kwargs)


class AuditLog:
    def __init__(
        self, redis: aioredis.Redis, *, max_entries: int, max_age_seconds: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.redis = redis
        self.max_entries = max_entries
        self.max_age_seconds = max_age_seconds
        self.clock = clock

    async def record(self, entry: AuditRecord) -> bool:
        """Append; the structured log line is written even when Redis is down."""
        log.info(json.dumps({"audit": asdict(entry)}, ensure_ascii=False))
        try:
            fields_: dict[Any, Any] = entry.to_fields()
            await self.redis.xadd(STREAM, fields_, maxlen=self.max_entries, approximate=True)
            oldest = int((self.clock() - self.max_age_seconds) * 1000)
            await self.redis.xtrim(STREAM, minid=f"{oldest}-0", approximate=True)
        except (RedisError, OSError) as err:
            log.warning("audit record not stored in Redis: %s", err)
            return False
        return True

    async def query(self, *, since: float, limit: int = 5000) -> list[AuditRecord]:
        """Records newer than ``since``, newest first."""
        rows: Any = await self.redis.xrevrange(STREAM, max="+", min=f"{int(since * 1000)}-0", count=limit)
        out = []
        for _id, data in rows or []:
            decoded = {
                (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                for k, v in data.items()
            }
            out.append(AuditRecord.from_fields(decoded))
        return out
