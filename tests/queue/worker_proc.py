"""A worker in a process of its own, for the kill -9 and SIGTERM tests.

python -m tests.queue.worker_proc REDIS_URL HOST WORKER_ID [--drain SECONDS]
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from bot.jobs.queue import run_worker_until_signal
from tests.queue.helpers import connect, recording_handlers, worker


async def main(url: str, host: str, worker_id: str, drain: float) -> None:
    redis = connect(url)
    try:
        fast = worker(redis, host, recording_handlers(redis, worker_id), worker_id=worker_id)
        await run_worker_until_signal(fast, drain_timeout=drain)
    finally:
        await redis.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("host")
    parser.add_argument("worker_id")
    parser.add_argument("--drain", type=float, default=0.2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker_proc %(levelname)s %(message)s")
    asyncio.run(main(args.url, args.host, args.worker_id, args.drain))
