"""Crash notifications: how fast a death reaches Slack, and how a storm of deaths is delivered.

    python -m bench.crash [--crashes 50] [--storm 100]

Runs a worker with its watcher in-process against the real engine, its own redis-server
and the fake Slack, which limits the alert channel as Slack does (about one message per
second, burst 1) and answers 429 past it.

* Latency: ``--crashes`` containers die one after another (``sh -c 'exit 3'``), each once
  the previous one's notification is in; the figure is the time from the container's
  death (its State.FinishedAt) to the fake Slack receiving the message naming it.
* Storm: ``--storm`` containers are started within 2 s and die at once; the figures are the
  top-level messages sent, whether every container is named in them, the time from the
  first death to the last top-level message, and the 429s the fake answered.

Targets (issue 11): p95 under 1 s; the storm of 100 in at most 5 top-level messages naming
every container, zero 429s, the last one within 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

import docker

from bot.bootstrap.worker import build_worker
from bot.fakeslack import FakeSlack
from tests.conftest import BOT_TOKEN, bot_settings
from tests.notify_rig import make_container, notify_config, prepare_slack, rate_limited, text_of, top_level
from tests.rig import TEST_IMAGE, TEST_LABEL, Containers, RedisServer, docker_client, ensure_test_image

PROGRESS = False  # print the watcher's progress during the storm
BASE = """
permissions:
  roles: {admin: {allow: ["*"], flags: ["*"]}}
  bindings: [{users: [U_ALICE], role: admin}]
"""


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def died_at(api: docker.APIClient, name: str) -> float:
    return datetime.fromisoformat(api.inspect_container(name)["State"]["FinishedAt"]).timestamp()


def posted_at(fake: FakeSlack, name: str) -> float | None:
    for call in fake.calls:
        if call.method == "chat.postMessage" and call.http_status == 200 and name in str(call.args.get("text", "")):
            return call.time
    return None


async def latency(fake: FakeSlack, api: docker.APIClient, rig: Containers, count: int) -> list[float]:
    out = []
    for i in range(count):
        name = make_container(rig, f"lat{i:03d}", ["sh", "-c", "exit 3"])
        deadline = time.monotonic() + 15
        while (at := posted_at(fake, name)) is None and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        if at is None:
            raise SystemExit(f"no notification for {name}")
        out.append(at - died_at(api, name))
        await asyncio.sleep(1.1)  # a channel takes one message a second: this is single crashes, not a burst
    return out


async def storm(fake: FakeSlack, api: docker.APIClient, rig: Containers, count: int) -> dict[str, float]:
    """``count`` containers wait for one file to appear (a bind mount), then all exit 1 at once."""
    prepare_slack(fake)
    trigger = Path(tempfile.mkdtemp(prefix="dockbell-storm-"))
    names = []
    try:
        wait = ["sh", "-c", "while [ ! -e /go/now ]; do sleep 0.5; done; echo dying; exit 1"]
        for i in range(count):
            full = f"dockbell-t{rig.session}-storm{i:03d}"
            made = api.create_container(
                TEST_IMAGE,
                wait,
                name=full,
                labels={TEST_LABEL: rig.session},
                host_config=api.create_host_config(binds=[f"{trigger}:/go:ro"]),
            )
            rig.created.append(str(made["Id"]))
            names.append(full)
        await asyncio.gather(*(asyncio.to_thread(api.start, n) for n in names))
        await asyncio.sleep(2.0)
        started = time.monotonic()
        (trigger / "now").touch()
        await _all_named(fake, names)
        start_span = time.monotonic() - started
    finally:
        shutil.rmtree(trigger, ignore_errors=True)
    first_death = min(died_at(api, n) for n in names)
    tops = [
        c for c in fake.calls if c.method == "chat.postMessage" and c.http_status == 200 and not c.args.get("thread_ts")
    ]
    text = "\n".join(text_of(m) for m in top_level(fake))
    return {
        "deaths_spread_s": round(max(died_at(api, n) for n in names) - first_death, 2),
        "all_named_after_s": round(start_span, 2),
        "top_level_messages": len(top_level(fake)),
        "all_named": float(all(n in text for n in names)),
        "last_top_level_after_s": round(max(c.time for c in tops) - first_death, 2) if tops else -1.0,
        "rate_limited_429": rate_limited(fake),
    }


async def _all_named(fake: FakeSlack, names: list[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = "\n".join(text_of(m) for m in top_level(fake))
        if all(n in text for n in names):
            return
        await asyncio.sleep(0.05)


async def main(crashes: int, storm_size: int) -> None:
    redis = RedisServer.start()
    api = docker_client()
    ensure_test_image(api)
    rig = Containers(api)
    fake = FakeSlack(bot_token=BOT_TOKEN)
    await fake.start()
    try:
        config = notify_config(BASE, rig.session, log_lines="10")
        settings = bot_settings(fake, redis.url)
        proc = build_worker(settings, config, "local")
        run = asyncio.create_task(proc.worker.run())
        watcher = proc.worker.watcher
        assert watcher is not None
        await asyncio.wait_for(watcher.caught_up.wait(), 15)
        prepare_slack(fake)
        lat = await latency(fake, api, rig, crashes)
        print(
            f"death -> notification over {crashes} crashes: p50 {pct(lat, 50) * 1000:.0f} ms, "
            f"p95 {pct(lat, 95) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms (target p95 < 1000 ms)"
        )

        async def progress() -> None:
            t0 = time.monotonic()
            while True:
                await asyncio.sleep(0.5)
                print(
                    f"  {time.monotonic() - t0:5.1f}s reported={watcher.reported} in_flight={len(watcher._in_flight)}"
                )

        prog = asyncio.create_task(progress()) if PROGRESS else None
        figures = await storm(fake, api, rig, storm_size)
        if prog:
            prog.cancel()
        print(f"storm of {storm_size}: {figures} (targets: <= 5 messages, all named, 0 x 429, last within 10 s)")
        await proc.worker.stop(5)
        with contextlib.suppress(asyncio.CancelledError):
            await run
        await proc.close()
    finally:
        rig.cleanup()
        api.close()
        await fake.stop()
        redis.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--crashes", type=int, default=50)
    parser.add_argument("--storm", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(main(args.crashes, args.storm))
