"""Long Docker jobs on a queue in Redis Streams: one stream per Docker host, worked by that host's workers.

Slack side: ``JobQueue`` (enqueue, get, list, cancel, position, watch), ``host_is_live``,
``live_workers``, ``all_hosts``.  Docker side: ``Worker`` with handlers taking a
``JobContext`` (wrapped in ``Cancellable`` when a cancel can stop them mid-run), crash
checks (``CrashCheck``, giving a ``Finding``) for what a dead worker's run did, and
``run_worker_until_signal``.  Follower leases: ``Leases``.  Key layout: ``bot.jobs.queue.keys``.
"""

from bot.jobs.queue.client import JobQueue, all_hosts, host_is_live, live_workers
from bot.jobs.queue.context import CrashCheck, Finding, JobContext, JobHandler
from bot.jobs.queue.errors import EffectUnknown, JobNotFound, QueueUnavailable
from bot.jobs.queue.lease import Leases
from bot.jobs.queue.model import Job, JobStatus, WorkerInfo, job_id_for
from bot.jobs.queue.worker import Cancellable, Worker, run_worker_until_signal

__all__ = [
    "Cancellable",
    "CrashCheck",
    "EffectUnknown",
    "Finding",
    "Job",
    "JobContext",
    "JobHandler",
    "JobNotFound",
    "JobQueue",
    "JobStatus",
    "Leases",
    "QueueUnavailable",
    "Worker",
    "WorkerInfo",
    "all_hosts",
    "host_is_live",
    "job_id_for",
    "live_workers",
    "run_worker_until_signal",
]
