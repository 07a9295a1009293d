"""`dockbell serve`, `dockbell worker`, `dockbell check` and `dockbell playground`.

Each subcommand imports only what its process needs, inside its function: serve must
never load docker-py (it faces the internet and holds no Docker socket).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot.config import load_config
from bot.errors import ConfigError, UserError
from bot.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dockbell", description="ChatOps for Docker: the docker CLI in Slack.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    serve = sub.add_parser("serve", help="run the Slack-facing app (and, by default, the default host's worker)")
    serve.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    serve.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="do not start the default host's worker (run `dockbell worker --host NAME` next to each engine)",
    )
    worker = sub.add_parser("worker", help="run the worker for one Docker host: the only holder of its socket")
    worker.add_argument("--host", required=True, help="the host's name in the config")
    worker.add_argument("--port", type=int, default=None, help="serve /livez, /healthz and /metrics on this port")
    worker.add_argument("--bind", default="0.0.0.0", help="address for --port (default 0.0.0.0)")
    sub.add_parser("check", help="validate the config and reach Slack, Redis and Docker; exit 0 when all are good")
    playground = sub.add_parser("playground", help="try dockbell in your browser: a local page that plays Slack")
    playground.add_argument("--port", type=int, default=8800, help="the page's port on 127.0.0.1 (default 8800)")
    playground.add_argument("--policy", default=None, help="its dockbell config (default: the playground policy)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.cmd == "playground":
        from bot.playground.main import playground_main

        return playground_main(args.port, args.policy)
    try:
        settings = Settings.from_env()
    except ConfigError as err:
        print(f"dockbell: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(settings.config_path)
    except ConfigError as err:
        print(f"dockbell: config: {err}", file=sys.stderr)
        return 2
    try:
        if args.cmd == "check":
            from bot.bootstrap.check import run_check

            return asyncio.run(run_check(settings, config))
        if args.cmd == "worker":
            from bot.bootstrap.worker import run_worker

            asyncio.run(run_worker(settings, config, args.host, bind=args.bind, port=args.port))
            return 0
        from bot.bootstrap.serve import run_serve

        asyncio.run(run_serve(settings, config, args.host, args.port, embed_worker=not args.no_worker))
        return 0
    except ConfigError as err:
        print(f"dockbell: {err}", file=sys.stderr)
        return 2
    except UserError as err:
        print(f"dockbell: {err.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())


