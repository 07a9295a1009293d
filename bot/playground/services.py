"""The two services the playground needs on this machine: Redis and a Docker engine.

Redis: REDIS_URL when set, else a private redis-server (a temp dir, a free port on 127.0.0.1,
no persistence) when one is installed. Docker: the engine DOCKER_HOST names, or the default
socket, must answer /_ping. Either missing is a PlaygroundError that says what to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import tempfile
from dataclasses import dataclass

import aiohttp
import redis.asyncio as aioredis

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
REDIS_INSTALL_HINT = (
    "dockbell playground needs Redis: install redis-server (Debian/Ubuntu: `sudo apt-get install redis-server`, "
    "macOS: `brew install redis`) and run it again, or set REDIS_URL to a Redis you have"
)


class PlaygroundError(Exception):
    """A reason the playground cannot start, worded for the person who typed the command."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PrivateRedis:
    """A redis-server of the playground's own, removed with its directory on stop."""

    url: str
    process: asyncio.subprocess.Process
    workdir: str

    @classmethod
    async def start(cls, binary: str, timeout: float = 10.0) -> PrivateRedis:
        port = free_port()
        workdir = tempfile.mkdtemp(prefix="dockbell-playground-redis-")
        process = await asyncio.create_subprocess_exec(
            binary,
            *("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # our Ctrl-C stops it through stop(), after dockbell
        )
        server = cls(f"redis://127.0.0.1:{port}/0", process, workdir)
        try:
            await wait_for_redis(server.url, timeout, process)
        except BaseException:
            await server.stop()
            raise
        return server

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 5)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


async def wait_for_redis(url: str, timeout: float, process: asyncio.subprocess.Process | None = None) -> None:
    client = aioredis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if process is not None and process.returncode is not None:
                raise PlaygroundError(f"redis-server exited at start (status {process.returncode})")
            try:
                await client.ping()
                return
            except (aioredis.ConnectionError, OSError) as err:
                if loop.time() > deadline:
                    raise PlaygroundError(f"Redis at {url} does not answer: {err}") from None
                await asyncio.sleep(0.1)
    finally:
        await client.aclose()


async def redis_for_playground(redis_url: str | None) -> tuple[str, PrivateRedis | None]:
    """(the URL to use, the private server to stop later or None)."""
    if redis_url:
        await wait_for_redis(redis_url, 3.0)
        return redis_url, None
    binary = shutil.which("redis-server")
    if binary is None:
        raise PlaygroundError(REDIS_INSTALL_HINT)
    server = await PrivateRedis.start(binary)
    return server.url, server


async def check_docker(docker_host: str | None) -> str:
    """The engine's version; PlaygroundError when it does not answer (ssh:// and others: not checked)."""
    host = docker_host or DEFAULT_DOCKER_HOST
    if host.startswith("unix://"):
        connector: aiohttp.BaseConnector = aiohttp.UnixConnector(path=host.removeprefix("unix://"))
        base = "http://docker"
    elif host.startswith("tcp://"):
        connector = aiohttp.TCPConnector()
        base = "http://" + host.removeprefix("tcp://")
    else:
        return "unchecked"  # ssh:// and the like: the worker will say if it cannot reach it
    hint = "start dockerd (or Docker Desktop), or set DOCKER_HOST to an engine you can reach"
    try:
        timeout = aiohttp.ClientTimeout(total=5)
        async with (
            aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
            session.get(base + "/version") as response,
        ):
            if response.status != 200:
                raise PlaygroundError(f"Docker at {host} answered HTTP {response.status}: {hint}")
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, OSError, TimeoutError) as err:
        if isinstance(getattr(err, "os_error", err), PermissionError):
            raise PlaygroundError(
                f"Docker at {host}: permission denied; run as a member of the docker group, or as root"
            ) from None
        reason = str(err) or type(err).__name__
        raise PlaygroundError(f"Docker is not reachable at {host} ({reason}): {hint}") from None
    with contextlib.suppress(AttributeError):
        return str(body.get("Version", "unknown"))
    return "unknown"
