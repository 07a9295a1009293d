"""`dockbell playground`'s entry: options from the command line and environment, errors as one line."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

from .run import Options, default_policy, run_playground
from .services import PlaygroundError


def playground_main(port: int, policy: str | None) -> int:
    # dockbell's own logs come from its processes; this one says only what goes wrong
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options = Options(
        port=port,
        policy=Path(policy) if policy else default_policy(),
        redis_url=os.environ.get("REDIS_URL") or None,
        docker_host=os.environ.get("DOCKER_HOST") or None,
        log_level=(os.environ.get("DOCKBELL_LOG_LEVEL") or "WARNING").upper(),
    )
    try:
        asyncio.run(run_playground(options))
    except PlaygroundError as err:
        print(f"dockbell playground: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # the page's port is taken, most often
        print(f"dockbell playground: {err.strerror or err} (try --port)", file=sys.stderr)
        return 2
    return 0
