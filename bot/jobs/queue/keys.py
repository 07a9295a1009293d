"""Every Redis name the queue uses, in one place (the Lua scripts get the same prefixes).

dockbell:job:<id>                    hash, one JSON value per field; expires `keep` s after it finishes
dockbell:jobs:<host>                 stream of {"job": <id>}, consumer group "workers"
dockbell:queued:<host>               zset id -> enqueue sequence: jobs not started yet (queue order)
dockbell:running:<host>              zset id -> enqueue sequence: jobs running now
dockbell:recent:<host>               zset id -> created_at: the host's recent jobs, for `/docker jobs`
dockbell:seq                         counter giving every job its enqueue sequence
dockbell:lock:<host>:<lock_key>      string: the id of the job holding the lock, with a TTL
dockbell:lock-queue:<host>:<key>     zset id -> sequence: jobs that need the lock, in enqueue order
dockbell:worker:<host>:<worker_id>   hash: a live worker; expires 3 heartbeats after its last beat
dockbell:workers:<host>              zset worker_id -> last beat: index of the hashes above
dockbell:hosts                       zset host -> last beat of any of its workers
dockbell:job-events:<id>             pub/sub channel: the job's hash as JSON after every change
dockbell:follower:<id>               string: who follows the job's status message (a lease, with a TTL)
dockbell:shown:<id>                  string: the job's final state is in its message ("1"), or being put
                                     there ("showing", a short TTL); see bot/jobs/desk.py
dockbell:audited:<id>                string: the job's outcome has its audit record (written once)
"""

from __future__ import annotations

import re

PREFIX = "dockbell:"
GROUP = "workers"

JOB = PREFIX + "job:"
STREAM = PREFIX + "jobs:"
QUEUED = PREFIX + "queued:"
RUNNING = PREFIX + "running:"
RECENT = PREFIX + "recent:"
SEQ = PREFIX + "seq"
LOCK = PREFIX + "lock:"
LOCK_QUEUE = PREFIX + "lock-queue:"
WORKER = PREFIX + "worker:"
WORKERS = PREFIX + "workers:"
HOSTS = PREFIX + "hosts"
EVENTS = PREFIX + "job-events:"
FOLLOWER = PREFIX + "follower:"
SHOWN = PREFIX + "shown:"
AUDITED = PREFIX + "audited:"

# Ids and host names become parts of key names: keep them to characters that cannot
# collide with the separators or smuggle glob patterns into a SCAN.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_LOCK_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199}")


def valid_name(value: str) -> bool:
    return _NAME.fullmatch(value) is not None


def valid_lock_key(value: str) -> bool:
    return _LOCK_KEY.fullmatch(value) is not None


def job(job_id: str) -> str:
    return JOB + job_id


def stream(host: str) -> str:
    return STREAM + host


def queued(host: str) -> str:
    return QUEUED + host


def running(host: str) -> str:
    return RUNNING + host


def recent(host: str) -> str:
    return RECENT + host


def lock(host: str, lock_key: str) -> str:
    return f"{LOCK}{host}:{lock_key}"


def lock_queue(host: str, lock_key: str) -> str:
    return f"{LOCK_QUEUE}{host}:{lock_key}"


def worker(host: str, worker_id: str) -> str:
    return f"{WORKER}{host}:{worker_id}"


def workers(host: str) -> str:
    return WORKERS + host


def events(job_id: str) -> str:
    return EVENTS + job_id
