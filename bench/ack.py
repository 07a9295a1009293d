"""Time to ack and time to full answer for `/docker ps`, beside a bare slack-bolt app that only acks.

    python -m bench.ack [-n 200] [-c 10] [--containers 50]

Starts everything it needs on this machine (a fake Slack, a redis-server, dockbell and the
floor app as separate processes; 50 labelled busybox containers on the local engine, removed
afterwards), sends N signed `/docker ps` at concurrency C to each app, and prints p50/p99.
Targets (issue 2): p99 ack <= 1.5x the floor at concurrency 10; full answer for 50 containers
quicker than one `docker ps` process on the same engine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import aiohttp

from tests.fakeslack import FakeSlack, SlackSender
from tests.rig import Containers, RedisServer, docker_client, ensure_test_image, free_port

SECRET = "bench-signing-secret-0123456789abcdef"
# The bench's user is an admin; a user group binding makes the gate do its Slack lookup too.
CONFIG = """
permissions:
  roles:
    admin: {allow: ["*"]}
    viewer: {allow: [read]}
  bindings:
    - {users: [U_ALICE], role: admin}
    - {usergroups: [S_OPS], role: viewer}
"""
TOKEN = "xoxb-bench-token"


@dataclass
class Sample:
    ack: float
    answer: float | None


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def wait_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.post(url, data=b"") as resp:
                    if resp.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def drive(sender: SlackSender, fake: FakeSlack, n: int, concurrency: int, wait_answer: bool) -> list[Sample]:
    sem = asyncio.Semaphore(concurrency)
    samples: list[Sample] = []

    async def one() -> None:
        async with sem:
            started = time.monotonic()
            ack = await sender.command("ps")
            acked = time.monotonic() - started
            if ack.status != 200:
                raise RuntimeError(f"ack failed: {ack.status} {ack.text}")
            answered = None
            if wait_answer:
                await fake.wait_for_response(lambda p: p.url == ack.response_url, timeout=30)
                answered = time.monotonic() - started
            samples.append(Sample(acked, answered))

    await asyncio.gather(*(one() for _ in range(n)))
    return samples


def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def measure(name: str, url: str, fake: FakeSlack, n: int, c: int, answer: bool) -> list[Sample]:
    await wait_http(url)
    sender = SlackSender(fake, url, SECRET)
    try:
        await drive(sender, fake, min(20, n), c, answer)  # warm-up: auth.test, connection pools
        fake.reset()
        return await drive(sender, fake, n, c, answer)
    finally:
        await sender.close()


def time_cli_ps(runs: int = 20) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.monotonic()
        subprocess.run(["docker", "ps"], stdout=subprocess.DEVNULL, check=True)
        out.append(time.monotonic() - started)
    return out


def report(label: str, values: list[float]) -> str:
    return f"{label:<34} p50 {statistics.median(values) * 1000:7.1f} ms   p99 {pct(values, 99) * 1000:7.1f} ms"


async def main_async(n: int, c: int, n_containers: int) -> None:
    api = docker_client()
    ensure_test_image(api)
    made = Containers(api)
    redis = RedisServer.start()
    fake = FakeSlack(bot_token=TOKEN)
    await fake.start()
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
    config_path = os.path.join(tempfile.mkdtemp(prefix="dockbell-bench-"), "dockbell.yml")
    with open(config_path, "w", encoding="utf-8") as f:
        f.write(CONFIG)
    env.update(
        DOCKBELL_CONFIG=config_path,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.api_url,
        REDIS_URL=redis.url,
        DOCKBELL_LOG_LEVEL="WARNING",
    )
    procs: list[subprocess.Popen[bytes]] = []
    try:
        print(f"starting {n_containers} containers ...", file=sys.stderr)
        for i in range(n_containers):
            made.run(f"bench-{i}", ["sleep", "3600"])
        bot_port, floor_port = free_port(), free_port()
        procs.append(
            spawn(
                [sys.executable, "-m", "bot", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(bot_port)],
                env,
            )
        )
        procs.append(spawn([sys.executable, "-m", "bench.floor_app", str(floor_port)], env))
        floor = await measure("floor", f"http://127.0.0.1:{floor_port}/slack/events", fake, n, c, False)
        bot = await measure("dockbell", f"http://127.0.0.1:{bot_port}/slack/events", fake, n, c, True)
        serial = await measure("dockbell", f"http://127.0.0.1:{bot_port}/slack/events", fake, min(n, 50), 1, True)
        cli = await asyncio.to_thread(time_cli_ps)
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
        await fake.stop()
        redis.stop()
        made.cleanup()

    floor_ack = [s.ack for s in floor]
    bot_ack = [s.ack for s in bot]
    answers = [s.answer for s in bot if s.answer is not None]
    print(f"/docker ps x{n} at concurrency {c}, {n_containers} running containers")
    print(report("ack, bare slack-bolt (floor)", floor_ack))
    print(report("ack, dockbell", bot_ack))
    print(report(f"full answer, dockbell (c={c})", answers))
    print(report("full answer, dockbell (c=1)", [s.answer for s in serial if s.answer is not None]))
    print(report("one `docker ps` process (x20, serial)", cli))
    print(f"p99 ack ratio dockbell/floor: {pct(bot_ack, 99) / pct(floor_ack, 99):.2f}x (target <= 1.5x)")
    print(f"p50 ack ratio dockbell/floor: {statistics.median(bot_ack) / statistics.median(floor_ack):.2f}x")
    serial_answers = [s.answer for s in serial if s.answer is not None]
    print(
        f"full answer p50 (c=1) / docker ps p50: {statistics.median(serial_answers) / statistics.median(cli):.2f}x"
        " (target < 1x)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=200, help="requests per app (default 200)")
    parser.add_argument("-c", type=int, default=10, help="concurrency (default 10)")
    parser.add_argument("--containers", type=int, default=50, help="running containers to list (default 50)")
    args = parser.parse_args(argv)
    asyncio.run(main_async(args.n, args.c, args.containers))


if __name__ == "__main__":
    main()
