"""`dockbell serve` and `dockbell check`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from bot.config import Config, load_config
from bot.errors import ConfigError, UserError
from bot.jobs.host_worker import HostWorker
from bot.jobs.queue import run_worker_until_signal
from bot.settings import Settings
from bot.slack.http import Dockbell
from bot.slack.out import SlackOut, web_client


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dockbell", description="ChatOps for Docker: the docker CLI in Slack.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    serve = sub.add_parser("serve", help="run the Slack-facing app")
    serve.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    serve.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="do not embed a worker for the default host (run `dockbell worker --host NAME` instead)",
    )
    worker = sub.add_parser("worker", help="run the job worker for one Docker host")
    worker.add_argument("--host", required=True, help="the host's name in the config")
    worker.add_argument("--concurrency", type=int, default=4, help="jobs run at once (default 4)")
    sub.add_parser("check", help="validate the config and reach Slack, Redis and Docker; exit 0 when all are good")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(settings.config_path)
    except ConfigError as err:
        print(f"dockbell: config: {err}", file=sys.stderr)
        return 2
    if args.cmd == "check":
        return asyncio.run(_check(settings, config))
    if args.cmd == "worker":
        return asyncio.run(_worker(settings, config, args.host, args.concurrency))
    try:
        settings.require_serving()
    except ConfigError as err:
        print(f"dockbell: {err}", file=sys.stderr)
        return 2
    asyncio.run(_serve(settings, config, args.host, args.port, embed_worker=not args.no_worker))
    return 0


async def _worker(settings: Settings, config: Config, host: str, concurrency: int) -> int:
    # With Slack credentials the worker also answers whole commands for its host (reads
    # included) that a `serve` without access to this engine forwards to it.
    slack = SlackOut(web_client(settings.slack_bot_token, settings.slack_api_url)) if settings.slack_bot_token else None
    try:
        worker = HostWorker(
            config,
            host,
            redis_url=settings.redis_url,
            docker_host_env=settings.docker_host,
            concurrency=concurrency,
            slack=slack,
        )
    except UserError as err:
        print(f"dockbell: {err.message}", file=sys.stderr)
        return 2
    try:
        await run_worker_until_signal(worker.worker)
    finally:
        await worker.close()
    return 0


async def _serve(settings: Settings, config: Config, host: str, port: int, *, embed_worker: bool) -> None:
    bot = Dockbell.build(settings, config, embed_worker=embed_worker)
    await bot.start(host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await bot.stop()


async def _check(settings: Settings, config: Config) -> int:
    print(f"ok    config {config.source}")
    bot = Dockbell.build(settings, config)
    try:
        results = {
            "slack": await bot.health.check_slack(use_cache=False),
            "redis": await bot.health.check_redis(),
            "docker": await bot.health.check_docker(),
        }
    finally:
        await bot.stop()
    for name, status in results.items():
        print(f"{'ok' if status.ok else 'FAIL':<5} {name:<6} {status.detail}")
    return 0 if all(s.ok for s in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
