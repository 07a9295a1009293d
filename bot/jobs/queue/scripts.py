"""The queue's Lua scripts: every state change of a job is one atomic script.

Atomicity is what makes the semantics hold: two enqueues of one id create one job, a
cancel and a worker's start cannot interleave, a job's finish releases its lock, leaves
the queue sets, acks its stream message and publishes, all or nothing.

Every script that changes a job is safe to run twice (redis-py re-sends a command after
a dropped connection): the worker passes a random run id, and a script that finds its
own run id already applied answers as if it had just done the work.

The scripts build the names of keys they reach through a job's hash (its host's queue
sets, its lock) instead of receiving them in KEYS. That rules out Redis Cluster, which
dockbell does not use (one Redis, see docker-compose.yml).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from string import Template
from typing import Any

import redis.asyncio as aioredis

from bot.jobs.queue import keys
from bot.jobs.queue.model import text

_PRELUDE = r"""
local GROUP = '${GROUP}'
local TERMINAL = {succeeded = true, failed = true, cancelled = true, interrupted = true}

local function jget(key, field)
  local raw = redis.call('HGET', key, field)
  if not raw then return nil end
  local value = cjson.decode(raw)
  if value == cjson.null then return nil end
  return value
end

local function active(job_id)
  local status = jget('${JOB}' .. job_id, 'status')
  return status == 'queued' or status == 'running'
end

-- The whole hash as one JSON object (of JSON texts): one string to parse instead of a
-- 50-element reply, which costs the worker more than the script itself.
local function snapshot(key)
  local flat = redis.call('HGETALL', key)
  local fields = {}
  for i = 1, #flat, 2 do fields[flat[i]] = flat[i + 1] end
  return cjson.encode(fields)
end

-- Every visible change bumps the version and publishes the whole hash, so a watcher never
-- merges partial updates and can drop an event older than what it already has.
local function publish(key)
  redis.call('HINCRBY', key, 'version', 1)
  local encoded = snapshot(key)
  redis.call('PUBLISH', '${EVENTS}' .. jget(key, 'id'), encoded)
  return encoded
end

local function finish(key, status, now, result, err)
  local id, host, lock = jget(key, 'id'), jget(key, 'host'), jget(key, 'lock_key')
  redis.call('HSET', key, 'status', cjson.encode(status), 'finished_at', now,
             'result', cjson.encode(result), 'error', cjson.encode(err))
  redis.call('ZREM', '${QUEUED}' .. host, id)
  redis.call('ZREM', '${RUNNING}' .. host, id)
  if lock then
    local lock_name = '${LOCK}' .. host .. ':' .. lock
    if redis.call('GET', lock_name) == id then redis.call('DEL', lock_name) end
    redis.call('ZREM', '${LOCK_QUEUE}' .. host .. ':' .. lock, id)
  end
  local sid = jget(key, 'stream_id')
  if sid then redis.pcall('XACK', '${STREAM}' .. host, GROUP, sid) end
  redis.call('EXPIRE', key, tonumber(redis.call('HGET', key, 'keep') or '86400'))
  return publish(key)
end

local function requeue(key)
  local id, host = jget(key, 'id'), jget(key, 'host')
  redis.call('HSET', key, 'status', '"queued"', 'worker_id', 'null', 'run_id', 'null')
  redis.call('ZREM', '${RUNNING}' .. host, id)
  redis.call('ZADD', '${QUEUED}' .. host, redis.call('HGET', key, 'seq'), id)
end

-- The job this one must wait behind, or nil once it holds the lock.  Only the oldest
-- live job in the lock's queue may take it, which keeps jobs on one lock in enqueue order
-- even when several workers hold them.
local function blocker(key, ttl)
  local id, host, lock = jget(key, 'id'), jget(key, 'host'), jget(key, 'lock_key')
  if not lock then return nil end
  local lock_name = '${LOCK}' .. host .. ':' .. lock
  local holder = redis.call('GET', lock_name)
  if holder == id then
    redis.call('PEXPIRE', lock_name, ttl)
    return nil
  end
  if holder then
    if active(holder) then return holder end
    redis.call('DEL', lock_name)
  end
  local waiting = '${LOCK_QUEUE}' .. host .. ':' .. lock
  for _, other in ipairs(redis.call('ZRANGE', waiting, 0, -1)) do
    if other == id then break end
    if active(other) then return other end
    redis.call('ZREM', waiting, other)
  end
  redis.call('SET', lock_name, id, 'PX', ttl)
  return nil
end

local function try_start(key, me, run_id, now, ttl)
  local other = blocker(key, ttl)
  if other then return {'wait', other} end
  local id, host = jget(key, 'id'), jget(key, 'host')
  redis.call('HINCRBY', key, 'attempts', 1)
  redis.call('HSET', key, 'status', '"running"', 'worker_id', cjson.encode(me), 'run_id', cjson.encode(run_id),
             'started_at', now, 'heartbeat_at', now, 'progress', '{}')
  redis.call('ZREM', '${QUEUED}' .. host, id)
  redis.call('ZADD', '${RUNNING}' .. host, redis.call('HGET', key, 'seq'), id)
  return {'started', publish(key)}
end

-- What taking a job's stream message comes to: started, wait (behind a job), check (see
-- below), or a reason the message was let go (acked): gone, done, or, for a reclaimed job
-- that was running when its worker died, interrupted or failed (too many attempts).
-- ``checked``: the verbs whose target this worker can check after a crash, as ",a,b,".
local function claim(key, msg_id, stream, me, run_id, now, ttl, max_attempts, died, gave_up, checked)
  if redis.call('EXISTS', key) == 0 then
    redis.pcall('XACK', stream, GROUP, msg_id)
    return {'gone'}
  end
  local status = jget(key, 'status')
  if status == 'running' and jget(key, 'run_id') == run_id then return {'started', snapshot(key)} end
  if TERMINAL[status] then
    redis.pcall('XACK', stream, GROUP, msg_id)
    return {'done'}
  end
  if status == 'running' then
    -- Only a reclaimed message gets here: the worker running the job stopped heartbeating.
    -- The job is this worker's now, so the old run (if its worker was only slow) sees it lost.
    redis.call('HSET', key, 'worker_id', cjson.encode(me), 'run_id', cjson.encode(run_id))
    if string.find(checked, ',' .. (jget(key, 'verb') or '') .. ',', 1, true) then
      -- The dead run may well have done its work (the engine carries out a restart whatever
      -- happens to the worker that asked): the worker looks at the target before anything
      -- else, and finishes the job, or re-runs it, by what it finds (_RESUME).  The job stays
      -- running meanwhile, held by this run, its lock kept.
      redis.call('HSET', key, 'heartbeat_at', now)
      blocker(key, ttl)
      return {'check', snapshot(key)}
    end
    if not jget(key, 'idempotent') then return {'interrupted', finish(key, 'interrupted', now, '', died)} end
    if tonumber(redis.call('HGET', key, 'attempts')) >= tonumber(max_attempts) then
      return {'failed', finish(key, 'failed', now, '', gave_up)}
    end
    requeue(key)
  end
  redis.call('HSET', key, 'worker_id', cjson.encode(me), 'heartbeat_at', now)
  return try_start(key, me, run_id, now, ttl)
end
"""

# KEYS: job.  ARGV: keep seconds, max recent entries, field/value pairs of the new job.
_ENQUEUE = r"""
local key = KEYS[1]
if redis.call('EXISTS', key) == 1 then return {0, snapshot(key)} end
redis.call('HSET', key, unpack(ARGV, 3))
local id, host, lock = jget(key, 'id'), jget(key, 'host'), jget(key, 'lock_key')
local seq = redis.call('INCR', '${SEQ}')
local sid = redis.call('XADD', '${STREAM}' .. host, '*', 'job', id)
redis.call('HSET', key, 'seq', seq, 'stream_id', cjson.encode(sid), 'keep', ARGV[1], 'version', 0)
redis.call('ZADD', '${QUEUED}' .. host, seq, id)
redis.call('ZADD', '${RECENT}' .. host, redis.call('HGET', key, 'created_at'), id)
redis.call('ZREMRANGEBYRANK', '${RECENT}' .. host, 0, -tonumber(ARGV[2]) - 1)
if lock then redis.call('ZADD', '${LOCK_QUEUE}' .. host .. ':' .. lock, seq, id) end
return {1, publish(key)}
"""

# KEYS: job.  ARGV: worker, run id, now, lock TTL ms, max attempts, message id, stream, died, gave up, checked.
_CLAIM = r"""
return claim(KEYS[1], ARGV[6], ARGV[7], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[8], ARGV[9], ARGV[10])
"""

# Read up to one new message per run id given and claim each, in one round trip: under
# load this replaces XREADGROUP plus a claim per job (no BLOCK here: a script cannot wait).
# KEYS: stream.  ARGV: worker, now, lock TTL ms, max attempts, died, gave up, checked, run ids...
_FETCH = r"""
local stream, me = KEYS[1], ARGV[1]
local out = {}
local reply = redis.call('XREADGROUP', 'GROUP', GROUP, me, 'COUNT', #ARGV - 7, 'STREAMS', stream, '>')
if not reply then return out end
for i, entry in ipairs(reply[1][2]) do
  local msg_id, fields, job_id = entry[1], entry[2], ''
  for j = 1, #fields, 2 do
    if fields[j] == 'job' then job_id = fields[j + 1] end
  end
  local run_id = ARGV[7 + i]
  local step = claim('${JOB}' .. job_id, msg_id, stream, me, run_id, ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6],
                     ARGV[7])
  out[#out + 1] = {msg_id, job_id, run_id, unpack(step)}
end
return out
"""

# KEYS: job.  ARGV: worker, run id, now, lock TTL ms.
_TRY_START = r"""
local key = KEYS[1]
local status = jget(key, 'status')
if status == 'running' and jget(key, 'run_id') == ARGV[2] then return {'started', snapshot(key)} end
if status ~= 'queued' or jget(key, 'worker_id') ~= ARGV[1] then return {'lost'} end
return try_start(key, ARGV[1], ARGV[2], ARGV[3], ARGV[4])
"""

# After a check found that a dead run did not do its work, or could not tell: an idempotent
# job runs again (at most max attempts runs), like any reclaimed idempotent job.
# KEYS: job.  ARGV: worker, run id, now, lock TTL ms, max attempts, gave up.
_RESUME = r"""
local key = KEYS[1]
if jget(key, 'status') ~= 'running' or jget(key, 'run_id') ~= ARGV[2] then return {'lost'} end
if tonumber(redis.call('HGET', key, 'attempts')) >= tonumber(ARGV[5]) then
  return {'failed', finish(key, 'failed', ARGV[3], '', ARGV[6])}
end
requeue(key)
redis.call('HSET', key, 'worker_id', cjson.encode(ARGV[1]), 'heartbeat_at', ARGV[3])
return try_start(key, ARGV[1], ARGV[2], ARGV[3], ARGV[4])
"""

# KEYS: job.  ARGV: worker, progress JSON.
_WAITING = r"""
local key = KEYS[1]
if jget(key, 'status') ~= 'queued' or jget(key, 'worker_id') ~= ARGV[1] then return 0 end
redis.call('HSET', key, 'progress', ARGV[2])
publish(key)
return 1
"""

# KEYS: job.  ARGV: run id, now, progress JSON.
_PROGRESS = r"""
local key = KEYS[1]
if jget(key, 'status') ~= 'running' or jget(key, 'run_id') ~= ARGV[1] then return 0 end
redis.call('HSET', key, 'progress', ARGV[3], 'heartbeat_at', ARGV[2])
publish(key)
return 1
"""

# KEYS: job.  ARGV: run id, status, now, result, error, progress JSON.
_FINISH = r"""
local key = KEYS[1]
local status = jget(key, 'status')
if not status then return 'gone' end
if jget(key, 'run_id') ~= ARGV[1] then return 'lost' end
if TERMINAL[status] then return 'finished' end
if status ~= 'running' then return 'lost' end
redis.call('HSET', key, 'progress', ARGV[6])
finish(key, ARGV[2], ARGV[3], ARGV[4], ARGV[5])
return 'finished'
"""

# KEYS: job.  ARGV: worker, run id ('' if it never started), now, idle ms, stopped message.
_HANDBACK = r"""
local key = KEYS[1]
local me, run_id = ARGV[1], ARGV[2]
local status = jget(key, 'status')
if not status then return 'gone' end
if run_id == '' then
  if status ~= 'queued' or jget(key, 'worker_id') ~= me then return 'lost' end
  redis.call('HSET', key, 'worker_id', 'null', 'progress', '{}')
else
  if status ~= 'running' or jget(key, 'run_id') ~= run_id then return 'lost' end
  if not jget(key, 'idempotent') then
    finish(key, 'interrupted', ARGV[3], '', ARGV[5])
    return 'interrupted'
  end
  requeue(key)
  publish(key)
end
-- An idle time far past any claim_idle lets the next worker's XAUTOCLAIM take it at once.
redis.pcall('XCLAIM', '${STREAM}' .. jget(key, 'host'), GROUP, me, 0, jget(key, 'stream_id'),
            'IDLE', ARGV[4], 'JUSTID')
return 'requeued'
"""

# KEYS: job.  ARGV: user, now, what a cancel before the start leaves, the same after a requeue.
_CANCEL = r"""
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return '' end
local status = jget(key, 'status')
if status == 'queued' then
  redis.call('HSET', key, 'cancel_requested_by', cjson.encode(ARGV[1]))
  local said = ARGV[3]
  if tonumber(redis.call('HGET', key, 'attempts') or '0') > 0 then said = ARGV[4] end
  return finish(key, 'cancelled', ARGV[2], '', said)
end
if status == 'running' and not jget(key, 'cancel_requested_by') then
  -- Recorded, and published for the status message.  The worker sees it at its next
  -- heartbeat and stops the handler if a cancel can stop it; otherwise the job runs on.
  redis.call('HSET', key, 'cancel_requested_by', cjson.encode(ARGV[1]))
  return publish(key)
end
return snapshot(key)
"""

# KEYS: worker hash.  ARGV: worker, now, lock TTL ms, worker TTL ms, host, n, n field/value pairs,
# then (job id, run id, message id) per job the worker holds.
_HEARTBEAT = r"""
local me, now, ttl, host = ARGV[1], ARGV[2], ARGV[3], ARGV[5]
local stream = '${STREAM}' .. host

local function beat(job_id, run_id, msg_id)
  local key = '${JOB}' .. job_id
  if redis.call('EXISTS', key) == 0 then return 'gone' end
  local status = jget(key, 'status')
  -- Waiting for its lock the job names its worker; running, its run (the worker's run id
  -- is fixed before the claim, so a start between snapshot and beat still matches).
  local mine = false
  if status == 'queued' then
    mine = jget(key, 'worker_id') == me
  elseif status == 'running' then
    mine = jget(key, 'run_id') == run_id
  elseif jget(key, 'run_id') == run_id then
    return 'done'  -- this run finished between the worker's snapshot and this beat
  end
  -- Anything else: another worker has the job, or it ended without this run (cancelled
  -- while waiting here, or marked interrupted by a worker that took it for dead).
  if not mine then return 'lost' end
  local pending = redis.pcall('XPENDING', stream, GROUP, msg_id, msg_id, 1)
  if type(pending) == 'table' and pending[1] then
    if pending[1][2] ~= me then return 'lost' end
    -- Resetting the message's idle time is what keeps other workers' XAUTOCLAIM off it.
    redis.call('XCLAIM', stream, GROUP, me, 0, msg_id, 'JUSTID')
  end
  redis.call('HSET', key, 'heartbeat_at', now)
  local lock = jget(key, 'lock_key')
  if lock and redis.call('GET', '${LOCK}' .. host .. ':' .. lock) == job_id then
    redis.call('PEXPIRE', '${LOCK}' .. host .. ':' .. lock, ttl)
  end
  if status == 'running' then
    local by = jget(key, 'cancel_requested_by')
    if by then return 'cancel:' .. by end
  end
  return 'ok'
end

local n = tonumber(ARGV[6])
redis.call('HSET', KEYS[1], unpack(ARGV, 7, 6 + 2 * n))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('ZADD', '${WORKERS}' .. host, now, me)
redis.call('ZADD', '${HOSTS}', now, host)
local states = {}
for i = 7 + 2 * n, #ARGV, 3 do states[#states + 1] = beat(ARGV[i], ARGV[i + 1], ARGV[i + 2]) end
return states
"""

_NAMES = {
    "GROUP": keys.GROUP,
    "JOB": keys.JOB,
    "STREAM": keys.STREAM,
    "QUEUED": keys.QUEUED,
    "RUNNING": keys.RUNNING,
    "RECENT": keys.RECENT,
    "SEQ": keys.SEQ,
    "LOCK": keys.LOCK,
    "LOCK_QUEUE": keys.LOCK_QUEUE,
    "WORKERS": keys.WORKERS,
    "HOSTS": keys.HOSTS,
    "EVENTS": keys.EVENTS,
}


def _lua(body: str) -> str:
    return Template(_PRELUDE + body).substitute(_NAMES)


DIED = "the worker running it died; its effect is unknown, check with `docker ps`"
NEVER_STARTED = "it never started: nothing was done"
NOT_RERUN = "it was cancelled before it ran again; the effect of its earlier, interrupted run is unknown"
STOPPED = "the worker running it was stopped before it finished; its effect is unknown, check with `docker ps`"


def gave_up(attempts: int) -> str:
    return f"gave up after {attempts} attempts: the worker running it died each time"


def num(value: float) -> str:
    """A number as the JSON text stored in a job field (and usable as a zset score)."""
    return json.dumps(value)


@dataclass(frozen=True)
class Step:
    """What a claim or start attempt came to: started, wait (behind `other`), or a reason to let go."""

    kind: str  # started | wait | check | gone | done | interrupted | failed | lost
    fields: dict[str, str] | None = None  # the job's hash when the script changed or read it
    other: str = ""  # the job waited behind


def _step(reply: Any) -> Step:
    kind = text(reply[0])
    if kind == "wait":
        return Step(kind, other=text(reply[1]))
    if len(reply) > 1:
        return Step(kind, fields=snapshot(reply[1]))
    return Step(kind)


@dataclass(frozen=True)
class Fetched:
    msg_id: str
    job_id: str
    run_id: str
    step: Step


def snapshot(reply: Any) -> dict[str, str]:
    """A job hash as the scripts return and publish it: a JSON object of the fields' JSON texts."""
    return json.loads(reply) if reply else {}


class Scripts:
    """The scripts registered on one client; methods take and return plain values."""

    def __init__(self, redis: aioredis.Redis) -> None:
        def reg(body: str) -> Any:
            return redis.register_script(_lua(body))

        self._enqueue = reg(_ENQUEUE)
        self._claim = reg(_CLAIM)
        self._fetch = reg(_FETCH)
        self._try_start = reg(_TRY_START)
        self._resume = reg(_RESUME)
        self._waiting = reg(_WAITING)
        self._progress = reg(_PROGRESS)
        self._finish = reg(_FINISH)
        self._handback = reg(_HANDBACK)
        self._cancel = reg(_CANCEL)
        self._heartbeat = reg(_HEARTBEAT)

    async def enqueue(
        self, job_id: str, fields: dict[str, str], *, keep: int, max_recent: int
    ) -> tuple[bool, dict[str, str]]:
        flat = [x for kv in fields.items() for x in kv]
        reply = await self._enqueue(keys=[keys.job(job_id)], args=[keep, max_recent, *flat])
        return bool(int(reply[0])), snapshot(reply[1])

    async def claim(
        self,
        job_id: str,
        *,
        worker: str,
        run_id: str,
        now: float,
        lock_ttl_ms: int,
        max_attempts: int,
        msg_id: str,
        host: str,
        checked: str = ",",
    ) -> Step:
        args = [worker, run_id, num(now), lock_ttl_ms, max_attempts, msg_id, keys.stream(host), DIED]
        args += [gave_up(max_attempts), checked]
        return _step(await self._claim(keys=[keys.job(job_id)], args=args))

    async def fetch(
        self,
        host: str,
        *,
        worker: str,
        now: float,
        lock_ttl_ms: int,
        max_attempts: int,
        run_ids: list[str],
        checked: str = ",",
    ) -> list[Fetched]:
        args = [worker, num(now), lock_ttl_ms, max_attempts, DIED, gave_up(max_attempts), checked, *run_ids]
        reply = await self._fetch(keys=[keys.stream(host)], args=args)
        return [Fetched(text(r[0]), text(r[1]), text(r[2]), _step(r[3:])) for r in reply or []]

    async def try_start(self, job_id: str, *, worker: str, run_id: str, now: float, lock_ttl_ms: int) -> Step:
        return _step(await self._try_start(keys=[keys.job(job_id)], args=[worker, run_id, num(now), lock_ttl_ms]))

    async def resume(
        self, job_id: str, *, worker: str, run_id: str, now: float, lock_ttl_ms: int, max_attempts: int
    ) -> Step:
        args = [worker, run_id, num(now), lock_ttl_ms, max_attempts, gave_up(max_attempts)]
        return _step(await self._resume(keys=[keys.job(job_id)], args=args))

    async def waiting(self, job_id: str, *, worker: str, progress: dict[str, Any]) -> bool:
        return bool(await self._waiting(keys=[keys.job(job_id)], args=[worker, json.dumps(progress)]))

    async def progress(self, job_id: str, *, run_id: str, now: float, progress: dict[str, Any]) -> bool:
        reply = await self._progress(keys=[keys.job(job_id)], args=[run_id, num(now), json.dumps(progress)])
        return bool(reply)

    async def finish(
        self, job_id: str, *, run_id: str, status: str, now: float, result: str, error: str, progress: dict[str, Any]
    ) -> str:
        args = [run_id, status, num(now), result, error, json.dumps(progress)]
        return text(await self._finish(keys=[keys.job(job_id)], args=args))

    async def handback(self, job_id: str, *, worker: str, run_id: str, now: float, idle_ms: int) -> str:
        args = [worker, run_id, num(now), idle_ms, STOPPED]
        return text(await self._handback(keys=[keys.job(job_id)], args=args))

    async def cancel(self, job_id: str, *, user: str, now: float) -> dict[str, str]:
        args = [user, num(now), NEVER_STARTED, NOT_RERUN]
        return snapshot(await self._cancel(keys=[keys.job(job_id)], args=args))

    async def heartbeat(
        self,
        *,
        worker_key: str,
        worker: str,
        host: str,
        now: float,
        lock_ttl_ms: int,
        worker_ttl_ms: int,
        worker_fields: dict[str, str],
        held: list[tuple[str, str, str]],
    ) -> list[str]:
        args: list[Any] = [worker, num(now), lock_ttl_ms, worker_ttl_ms, host, len(worker_fields)]
        args += [x for kv in worker_fields.items() for x in kv]
        args += [x for triple in held for x in triple]
        return [text(s) for s in await self._heartbeat(keys=[worker_key], args=args)]
