"""Approval requests in Redis: what was asked (signed), and where it stands (moved only by Lua).

A request's state machine; every arrow is one Lua script, so two clicks at once, a double
click or a retried delivery each find the state the other left::

    (posting) ──stored──▶ PENDING ──approve (count reached)──▶ APPROVED ──launch──▶ RUNNING ──▶ DONE
                            │  └─approve (below count): PENDING, one more approver   │
                            ├─deny──▶ DENIED                                          └─▶ VOID (bound
                            ├─cancel (the requester)──▶ CANCELLED                         target changed)
                            ├─expire (past ttl; the worker's sweep)──▶ EXPIRED
                            └─void──▶ VOID

DENIED, CANCELLED, EXPIRED, VOID and DONE are final.  ``launch`` moves APPROVED to RUNNING
once, whoever tries: the click that completed the count, or a sweep after that worker died.

Redis is not trusted with identity (as for queue entries, bot/jobs/queue/signing.py): the
request part (who asked, the command, the host, the rule, the bound targets) is HMAC-signed
by the worker that created it, and each approval carries a MAC by the worker that checked
the approver's eligibility.  A request is launched only when its signature and ``count``
distinct approvals, none the requester's, all verify.

Keys::

    dockbell:approval:<id>           hash: the request (JSON values) and its state
    dockbell:approvals:pending       zset id -> expires_at: requests waiting for approvers
    dockbell:approvals:approved      zset id -> approved_at: approved, not launched yet
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import redis.asyncio as aioredis

from bot.core.types import Requester
from bot.jobs.queue.model import text

PREFIX = "dockbell:approval:"
PENDING = "dockbell:approvals:pending"
APPROVED = "dockbell:approvals:approved"
KEEP_SECONDS = 2 * 86400  # a closed request is kept this long: `/docker audit` and its message refer to it
POSTING_TTL = 120  # a creation claim whose holder died before storing the request lapses


class State(StrEnum):
    POSTING = "posting"
    PENDING = "pending"
    APPROVED = "approved"
    RUNNING = "running"
    DONE = "done"
    DENIED = "denied"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    VOID = "void"

    @property
    def open(self) -> bool:
        return self in (State.POSTING, State.PENDING)


@dataclass(frozen=True)
class Bound:
    """One target as it was when the request was made; the approval holds only for this object."""

    kind: str  # container | image | volume | network | project
    name: str
    id: str = ""  # "" for a target that did not exist (a missing name, the container `run` makes)
    image_id: str = ""  # a container's image, or an image's own ID (also for `run`'s image)
    created: str = ""  # a volume's CreatedAt: recreated under its name, it is another volume


@dataclass(frozen=True)
class Request:
    """What was asked: signed when stored, and never changed afterwards (the message ts aside)."""

    id: str
    host: str
    requester: Requester
    response_url: str
    text: str  # the command line as Slack sent it: what is run again once approved
    shown: str  # the command as echoed
    rule_ref: str
    rule_name: str
    approver_users: tuple[str, ...]
    approver_groups: tuple[str, ...]
    count: int
    ttl_seconds: int
    created_at: float
    bound: tuple[Bound, ...]
    preview: dict[str, Any] = field(default_factory=dict, hash=False)  # the blast radius, for the message

    @property
    def expires_at(self) -> float:
        return self.created_at + self.ttl_seconds

    def to_fields(self) -> dict[str, str]:
        data = dataclasses.asdict(self)
        out = {k: json.dumps(v, separators=(",", ":"), sort_keys=True) for k, v in data.items()}
        out["expires_at"] = repr(self.expires_at)
        out["requester_id"] = self.requester.user_id  # plain, for the Lua scripts
        out["count_n"] = str(self.count)
        return out

    @classmethod
    def from_fields(cls, raw: Mapping[str, str]) -> Request:
        data = {f.name: json.loads(raw[f.name]) for f in dataclasses.fields(cls) if f.name in raw}
        data["requester"] = Requester(**data["requester"])
        data["bound"] = tuple(Bound(**b) for b in data["bound"])
        data["approver_users"] = tuple(data["approver_users"])
        data["approver_groups"] = tuple(data["approver_groups"])
        return cls(**data)


@dataclass(frozen=True)
class Vote:
    user: str
    at: str  # the time as the Lua script stored it (a string, so the MAC is over the same bytes)
    mac: str

    @property
    def time(self) -> float:
        return float(self.at)


@dataclass(frozen=True)
class Approval:
    """A stored request and where it stands."""

    request: Request
    sig: str
    state: State
    votes: tuple[Vote, ...] = ()
    channel: str = ""
    ts: str = ""  # the request message
    closed_at: float = 0.0
    closed_by: str = ""
    reason: str = ""  # a denial's reason, or why it is void
    launched_at: float = 0.0
    job_ids: tuple[str, ...] = ()
    result: str = ""  # the approved run, in words, when it did not end in jobs (exec; a refusal)

    @property
    def id(self) -> str:
        return self.request.id

    @property
    def approvers(self) -> tuple[str, ...]:
        return tuple(v.user for v in self.votes)


def approval_id_for(host: str, response_url: str) -> str:
    """Stable per invocation (Slack gives each its own response_url): a retried delivery finds the first."""
    return "a-" + hashlib.sha256(f"{host}\x1f{response_url}".encode()).hexdigest()[:10]


class Seal:
    """The HMACs over requests and approvals, with a key of their own derived from the queue's."""

    def __init__(self, queue_key: bytes) -> None:
        self._key = hashlib.sha256(b"dockbell approvals v1\x00" + queue_key).digest()

    def _mac(self, data: bytes) -> str:
        return "v1=" + hmac.new(self._key, data, hashlib.sha256).hexdigest()

    def sign(self, request: Request) -> str:
        data = dataclasses.asdict(request)
        return self._mac(json.dumps(data, sort_keys=True, separators=(",", ":")).encode())

    def vote(self, approval_id: str, user: str, at: str) -> str:
        return self._mac(f"vote\x1f{approval_id}\x1f{user}\x1f{at}".encode())

    def problem(self, approval: Approval, *, need_votes: bool) -> str | None:
        """Why this stored approval must not be acted on, or None."""
        if not hmac.compare_digest(approval.sig, self.sign(approval.request)):
            return "its record in Redis does not match its signature (altered or forged)"
        if not need_votes:
            return None
        users: set[str] = set()
        for vote in approval.votes:
            if not hmac.compare_digest(vote.mac, self.vote(approval.id, vote.user, vote.at)):
                return "an approval in its record does not match its signature"
            if vote.user == approval.request.requester.user_id:
                return "its requester is among its approvers"
            users.add(vote.user)
        if len(users) < approval.request.count:
            return f"it has {len(users)} valid approval(s) of the {approval.request.count} it needs"
        return None


_CREATE = """
if redis.call('HSETNX', KEYS[1], 'state', 'posting') == 0 then return 0 end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1
"""

# ARGV: the request's fields as name, value pairs, then sig, channel, ts, expires_at, id
_STORE = """
if redis.call('HGET', KEYS[1], 'state') ~= 'posting' then return 0 end
local n = #ARGV
for i = 1, n - 5, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[1], 'sig', ARGV[n - 4], 'channel', ARGV[n - 3], 'ts', ARGV[n - 2],
           'state', 'pending', 'votes', '[]')
redis.call('PERSIST', KEYS[1])
redis.call('ZADD', KEYS[2], tonumber(ARGV[n - 1]), ARGV[n])
return 1
"""

# KEYS: record, pending, approved; ARGV: user, now (string), mac, id
_APPROVE = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'closed:missing', '0'} end
local votes = cjson.decode(redis.call('HGET', KEYS[1], 'votes') or '[]')
if state ~= 'pending' then return {'closed:' .. state, tostring(#votes)} end
if tonumber(ARGV[2]) >= tonumber(redis.call('HGET', KEYS[1], 'expires_at')) then
  return {'due', tostring(#votes)}
end
if redis.call('HGET', KEYS[1], 'requester_id') == ARGV[1] then return {'self', tostring(#votes)} end
for _, v in ipairs(votes) do
  if v['user'] == ARGV[1] then return {'already', tostring(#votes)} end
end
table.insert(votes, {user = ARGV[1], at = ARGV[2], mac = ARGV[3]})
redis.call('HSET', KEYS[1], 'votes', cjson.encode(votes))
if #votes >= tonumber(redis.call('HGET', KEYS[1], 'count_n')) then
  redis.call('HSET', KEYS[1], 'state', 'approved', 'closed_at', ARGV[2])
  redis.call('ZREM', KEYS[2], ARGV[4])
  redis.call('ZADD', KEYS[3], tonumber(ARGV[2]), ARGV[4])
  return {'approved', tostring(#votes)}
end
return {'counted', tostring(#votes)}
"""

# KEYS: record, pending, approved; ARGV: from-states (comma separated), to, now, by, reason, id, keep,
# requester-only ("1": only the requester may), due-only ("1": only once expired)
_CLOSE = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'missing' end
local allowed = false
for s in string.gmatch(ARGV[1], '[^,]+') do if s == state then allowed = true end end
if not allowed then return state end
if ARGV[8] == '1' and redis.call('HGET', KEYS[1], 'requester_id') ~= ARGV[4] then return 'not_yours' end
if ARGV[9] == '1' and tonumber(ARGV[3]) < tonumber(redis.call('HGET', KEYS[1], 'expires_at')) then
  return 'not_due'
end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'closed_at', ARGV[3], 'closed_by', ARGV[4], 'reason', ARGV[5])
redis.call('ZREM', KEYS[2], ARGV[6])
redis.call('ZREM', KEYS[3], ARGV[6])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[7]))
return 'ok'
"""

# KEYS: record, approved; ARGV: now, id
_LAUNCH = """
if redis.call('HGET', KEYS[1], 'state') ~= 'approved' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'running', 'launched_at', ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
"""

# KEYS: record; ARGV: job ids (JSON), result, keep, final ("1": DONE)
_RAN = """
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'job_ids', ARGV[1], 'result', ARGV[2])
if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'state', 'done') end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""


@dataclass(frozen=True)
class Outcome:
    """What an approval did: "counted", "approved" (this one completed the count), "already", "self",
    "due" (its ttl is over), or "closed:STATE"; and the number of approvals counted after it."""

    result: str
    votes: int = 0


class ApprovalStore:
    def __init__(self, redis: aioredis.Redis, seal: Seal) -> None:
        self.redis = redis
        self.seal = seal
        self._create = redis.register_script(_CREATE)
        self._store = redis.register_script(_STORE)
        self._approve = redis.register_script(_APPROVE)
        self._close = redis.register_script(_CLOSE)
        self._launch = redis.register_script(_LAUNCH)
        self._ran = redis.register_script(_RAN)

    async def claim(self, approval_id: str) -> bool:
        """Reserve ``approval_id`` before its message is posted: False if it exists (a retried delivery)."""
        return bool(await self._create(keys=[PREFIX + approval_id], args=[POSTING_TTL]))

    async def release(self, approval_id: str) -> None:
        """Give a claim back (its message could not be posted)."""
        await self.redis.delete(PREFIX + approval_id)

    async def store(self, request: Request, *, channel: str, ts: str) -> bool:
        args: list[str] = []
        for name, value in request.to_fields().items():
            args += [name, value]
        args += [self.seal.sign(request), channel, ts, repr(request.expires_at), request.id]
        return bool(await self._store(keys=[PREFIX + request.id, PENDING], args=args))

    async def get(self, approval_id: str) -> Approval | None:
        raw = await self.redis.hgetall(PREFIX + approval_id)
        fields = {text(k): text(v) for k, v in raw.items()}
        if fields.get("state") in (None, State.POSTING) or "sig" not in fields:
            return None
        return _approval(fields)

    async def approve(self, approval: Approval, user: str, now: float) -> Outcome:
        at = repr(now)
        reply = await self._approve(
            keys=[PREFIX + approval.id, PENDING, APPROVED],
            args=[user, at, self.seal.vote(approval.id, user, at), approval.id],
        )
        return Outcome(text(reply[0]), int(text(reply[1])))

    async def close(
        self,
        approval_id: str,
        to: State,
        *,
        now: float,
        by: str,
        reason: str = "",
        from_states: Sequence[State] = (State.PENDING,),
        requester_only: bool = False,
        due_only: bool = False,
    ) -> str:
        """Move to a final state from one of ``from_states``: "ok", else the state found ("missing"...)."""
        reply = await self._close(
            keys=[PREFIX + approval_id, PENDING, APPROVED],
            args=[
                ",".join(from_states),
                str(to),
                repr(now),
                by,
                reason,
                approval_id,
                KEEP_SECONDS,
                "1" if requester_only else "0",
                "1" if due_only else "0",
            ],
        )
        return text(reply)

    async def launch(self, approval_id: str, now: float) -> bool:
        """APPROVED -> RUNNING, once: True for the one caller that gets to run it."""
        return bool(await self._launch(keys=[PREFIX + approval_id, APPROVED], args=[repr(now), approval_id]))

    async def ran(self, approval_id: str, job_ids: Sequence[str], result: str, *, final: bool) -> None:
        await self._ran(
            keys=[PREFIX + approval_id], args=[json.dumps(list(job_ids)), result, KEEP_SECONDS, "1" if final else "0"]
        )

    async def finish(self, approval_id: str) -> None:
        """RUNNING -> DONE once its jobs have all ended (their outcome is in the message)."""
        await self.redis.hset(PREFIX + approval_id, "state", str(State.DONE))

    async def pending(self) -> list[Approval]:
        return await self._many(await self.redis.zrange(PENDING, 0, -1))

    async def due(self, now: float) -> list[str]:
        return [text(i) for i in await self.redis.zrangebyscore(PENDING, "-inf", repr(now))]

    async def stalled(self, before: float) -> list[str]:
        """Approved requests nobody launched (the approving worker died in between)."""
        return [text(i) for i in await self.redis.zrangebyscore(APPROVED, "-inf", repr(before))]

    async def _many(self, ids: Sequence[Any]) -> list[Approval]:
        found = [await self.get(text(i)) for i in ids]
        return [a for a in found if a is not None]


def _approval(fields: dict[str, str]) -> Approval:
    votes = tuple(Vote(str(v["user"]), str(v["at"]), str(v["mac"])) for v in json.loads(fields.get("votes") or "[]"))
    return Approval(
        request=Request.from_fields(fields),
        sig=fields.get("sig", ""),
        state=State(fields["state"]),
        votes=votes,
        channel=fields.get("channel", ""),
        ts=fields.get("ts", ""),
        closed_at=float(fields.get("closed_at") or 0),
        closed_by=fields.get("closed_by", ""),
        reason=fields.get("reason", ""),
        launched_at=float(fields.get("launched_at") or 0),
        job_ids=tuple(json.loads(fields.get("job_ids") or "[]")),
        result=fields.get("result", ""),
    )
