"""Start and stop the playground: fake Slack, Redis, the real dockbell, and the page.

dockbell runs as it does in production: `dockbell serve` as a child process (which starts and
supervises the default host's worker, its own child), configured only through its environment:
SLACK_API_URL points at the fake, and the fake's page server sends it signed requests. Child
processes rather than one loop: dockbell is then exactly what users run (nothing patched, no
docker-py in this process), a crash of it cannot take the page down, and Ctrl-C stops it the
way it is stopped in production, with SIGTERM and its drain.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bot.fakeslack import FakeSlack, SlackSender

from .actions import Actions
from .page import PageServer
from .people import seed
from .services import PlaygroundError, PrivateRedis, check_docker, free_port, redis_for_playground

DEFAULT_PORT = 8800
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 40.0  # serve gives its worker 35 s to drain
POLICY_NAME = "playground-policy.yml"


def default_policy() -> Path:
    """The shipped policy: in the wheel beside this module, or config/ of a clone."""
    packaged = Path(__file__).parent / POLICY_NAME
    if packaged.exists():
        return packaged
    return Path(__file__).resolve().parents[2] / "config" / POLICY_NAME


@dataclass
class Options:
    port: int = DEFAULT_PORT
    policy: Path = field(default_factory=default_policy)
    redis_url: str | None = None
    docker_host: str | None = None
    log_level: str = "WARNING"


@dataclass
class Playground:
    options: Options
    fake: FakeSlack = field(init=False)
    page: PageServer | None = None
    serve: asyncio.subprocess.Process | None = None
    redis: PrivateRedis | None = None
    sender: SlackSender | None = None
    url: str = ""
    docker_version: str = ""

    async def start(self) -> str:
        """Everything up and answering; the page's URL. PlaygroundError says what is missing."""
        if not self.options.policy.exists():
            raise PlaygroundError(f"no playground policy at {self.options.policy} (pass --policy PATH)")
        self.docker_version = await check_docker(self.options.docker_host)
        redis_url, self.redis = await redis_for_playground(self.options.redis_url)
        bot_token = "xoxb-playground-" + secrets.token_hex(8)
        signing_secret = secrets.token_hex(16)
        self.fake = FakeSlack(bot_token=bot_token, team_id="T_PLAYGROUND")
        seed(self.fake)
        await self.fake.start()
        serve_port = free_port()
        bot_url = f"http://127.0.0.1:{serve_port}/slack/events"
        self.sender = SlackSender(self.fake, bot_url, signing_secret, team_id=self.fake.team_id)
        # the page first: a port already taken is said before dockbell is started for nothing
        self.page = PageServer(self.fake, Actions(self.fake, self.sender))
        self.url = await self.page.start(self.options.port)
        self.serve = await self._spawn_serve(serve_port, bot_token, signing_secret, redis_url)
        await self._wait_ready(serve_port)
        return self.url

    async def _spawn_serve(
        self, port: int, bot_token: str, signing_secret: str, redis_url: str
    ) -> asyncio.subprocess.Process:
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": bot_token,
            "SLACK_SIGNING_SECRET": signing_secret,
            "SLACK_API_URL": self.fake.api_url,
            "REDIS_URL": redis_url,
            "DOCKBELL_CONFIG": str(self.options.policy),
            "DOCKBELL_QUEUE_SECRET": secrets.token_hex(32),
            "DOCKBELL_LOG_LEVEL": self.options.log_level,
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("SLACK_APP_TOKEN", "SLACK_APP_TOKEN_FILE", "SLACK_BOT_TOKEN_FILE", "SLACK_SIGNING_SECRET_FILE",
                     "REDIS_URL_FILE", "DOCKBELL_QUEUE_SECRET_FILE", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
                     "https_proxy", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
            env.pop(name, None)  # HTTP mode against the fake only: no Socket Mode, no proxy, no OAuth
        if self.options.docker_host:
            env["DOCKER_HOST"] = self.options.docker_host
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # stopped by us with SIGTERM, not by the terminal's Ctrl-C
        )

    async def _wait_ready(self, port: int) -> None:
        """Until serve's /healthz is 200: Redis, the fake's auth.test and the worker's heartbeat."""
        assert self.serve is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_TIMEOUT
        last = "no answer yet"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while loop.time() < deadline:
                if self.serve.returncode is not None:
                    raise PlaygroundError(f"dockbell serve exited at start (status {self.serve.returncode}); see above")
                try:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                        if response.status == 200:
                            return
                        last = await response.text()
                except (aiohttp.ClientError, OSError, TimeoutError) as err:
                    last = str(err) or type(err).__name__
                await asyncio.sleep(0.2)
        raise PlaygroundError(f"dockbell did not become ready in {READY_TIMEOUT:.0f}s: {last}")

    async def stop(self) -> None:
        if self.page is not None:
            await self.page.stop()
        if self.sender is not None:
            await self.sender.close()
        if self.serve is not None and self.serve.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.serve.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.serve.wait(), STOP_TIMEOUT)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.serve.pid, signal.SIGKILL)
                await self.serve.wait()
        if hasattr(self, "fake"):
            await self.fake.stop()
        if self.redis is not None:
            await self.redis.stop()


BANNER = """\
dockbell playground: {url}

  Open it in your browser. dockbell (serve and the local host's worker) runs against the
  Docker engine {engine} (version {version}), with Redis at {redis}.
  People: Alice (admin), Oscar (operator), Vera (viewer), Adam (approver); policy: {policy}
  Ctrl-C stops it and everything it started.
"""


async def run_playground(options: Options) -> None:
    playground = Playground(options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        url = await playground.start()
        redis = options.redis_url or (playground.redis.url if playground.redis else "?")
        print(
            BANNER.format(
                url=url,
                engine=options.docker_host or "unix:///var/run/docker.sock",
                version=playground.docker_version,
                redis=redis if options.redis_url else f"{redis} (private, removed on exit)",
                policy=options.policy,
            ),
            flush=True,
        )
        # until Ctrl-C, or until dockbell itself ends (then the page would only say it does not answer)
        assert playground.serve is not None
        stopped = asyncio.create_task(stop.wait())
        exited = asyncio.create_task(playground.serve.wait())
        await asyncio.wait({stopped, exited}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        exited.cancel()
        if playground.serve.returncode is not None:
            raise PlaygroundError(f"dockbell serve exited (status {playground.serve.returncode}); see its log above")
        print("dockbell playground: stopping", flush=True)
    finally:
        await playground.stop()
