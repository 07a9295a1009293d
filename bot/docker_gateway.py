"""The only module that imports docker-py.

docker-py is blocking, so every call runs in a dedicated thread pool: the default
executor has only min(32, cpus + 4) threads and a slow call (``stats`` waits ~2 s
for a second sample) must not starve the rest.  Results are the Engine API's plain
JSON; errors become dockhand's, worded as the docker CLI words them.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import docker
import docker.errors
import requests.exceptions

from bot.errors import DockerError, DockerUnavailable, NotFound

T = TypeVar("T")

DEFAULT_SOCKET = "unix:///var/run/docker.sock"


def _daemon_message(err: docker.errors.APIError) -> str:
    explanation = err.explanation
    if isinstance(explanation, bytes):
        explanation = explanation.decode("utf-8", "replace")
    return str(explanation or err).strip()


class DockerGateway:
    """Async facade over one Docker engine."""

    def __init__(self, base_url: str | None = None, *, timeout: float = 30.0, threads: int = 16) -> None:
        self.base_url = base_url or DEFAULT_SOCKET
        self._timeout = timeout
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="docker")
        self._client: docker.APIClient | None = None
        self._lock = threading.Lock()

    def _api(self) -> docker.APIClient:
        # Created lazily and re-created after a failed start, so the bot starts (and
        # recovers) while the engine is down instead of needing a restart.
        with self._lock:
            if self._client is None:
                self._client = docker.APIClient(base_url=self.base_url, version="auto", timeout=self._timeout)
            return self._client

    def unavailable(self) -> DockerUnavailable:
        return DockerUnavailable(
            f"Cannot connect to the Docker daemon at {self.base_url}. Is the docker daemon running?"
        )

    async def call(self, fn: Callable[[docker.APIClient], T], *, not_found: str | None = None) -> T:
        """Run ``fn(api)`` in the pool; translate failures in one place."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, functools.partial(self._run, fn))
        except docker.errors.NotFound as err:
            message = _daemon_message(err)
            raise NotFound(f"Error response from daemon: {message}") from None
        except docker.errors.APIError as err:
            raise DockerError(f"Error response from daemon: {_daemon_message(err)}") from None
        except (requests.exceptions.ConnectionError, ConnectionError, FileNotFoundError):
            raise self.unavailable() from None
        except docker.errors.DockerException as err:
            if "Error while fetching server API version" in str(err):
                raise self.unavailable() from None
            raise DockerError(f"error during connect: {err}") from None

    def _run(self, fn: Callable[[docker.APIClient], T]) -> T:
        return fn(self._api())

    # One thin method per Engine API call the handlers use: keeps docker-py's
    # signatures (and its traps: tail must be an int, since an epoch) in this file.

    async def ping(self) -> bool:
        return bool(await self.call(lambda api: api.ping()))

    async def version(self) -> dict[str, Any]:
        return dict(await self.call(lambda api: api.version()))

    async def info(self) -> dict[str, Any]:
        return dict(await self.call(lambda api: api.info()))

    async def containers(
        self, *, all: bool = False, limit: int = -1, size: bool = False, filters: dict[str, list[str]] | None = None
    ) -> list[dict[str, Any]]:
        return list(
            await self.call(lambda api: api.containers(all=all, limit=limit, size=size, filters=filters or None))
        )

    async def images(self, *, all: bool = False, filters: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
        return list(await self.call(lambda api: api.images(all=all, filters=filters or None)))

    async def inspect_container(self, ref: str) -> dict[str, Any]:
        return dict(await self.call(lambda api: api.inspect_container(ref)))

    async def inspect_image(self, ref: str) -> dict[str, Any]:
        return dict(await self.call(lambda api: api.inspect_image(ref)))

    async def logs(
        self,
        ref: str,
        *,
        tail: int | None,
        since: float | None,
        until: float | None,
        timestamps: bool,
    ) -> bytes:
        def fetch(api: docker.APIClient) -> bytes:
            kwargs: dict[str, Any] = {"stdout": True, "stderr": True, "timestamps": timestamps}
            kwargs["tail"] = "all" if tail is None or tail < 0 else int(tail)
            if since is not None:
                kwargs["since"] = since
            if until is not None:
                kwargs["until"] = until
            out = api.logs(ref, **kwargs)
            return out if isinstance(out, bytes) else bytes(out)

        return await self.call(fetch)

    async def top(self, ref: str, ps_args: str | None) -> dict[str, Any]:
        return dict(await self.call(lambda api: api.top(ref, ps_args=ps_args)))

    async def stats(self, ref: str) -> dict[str, Any]:
        return dict(await self.call(lambda api: api.stats(ref, stream=False)))

    async def close(self) -> None:
        client = self._client
        if client is not None:
            client.close()
        self._executor.shutdown(wait=False, cancel_futures=True)
