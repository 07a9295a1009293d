"""Live streams (issue 12): line latency into Slack, and memory under a flood.

    python -m bench.streams [--duration 60] [--rate 4] [--line-chars 80] [--flood-seconds 30]
                            [--flood-mb 10] [--line-bytes 200] [--batch 1.5] [--only latency|memory]

Everything runs on this machine and is removed afterwards: a redis-server (tests/rig.py),
a fake Slack and dockbell's whole stack in this process (tests/stack.py: serve's front and
the ``local`` worker, on one loop), and busybox containers on the local engine, named
``dockbell-bench-…`` and labelled ``dockbell.test=bench``.  The streams are started as a
person would, by a signed ``/docker logs -f NAME`` from an admin.

The fake Slack rate-limits chat.postMessage in the channel like Slack (about one a second,
short bursts: ``--slack-rate``, ``--slack-burst``; ``--slack-rate 0`` turns it off).

What is measured (figures only, nothing is asserted):

* **latency**: a container prints ``seq N ....`` (``--line-chars`` long, so that the thread
  fills several messages) at a steady ``--rate`` lines/s for ``--duration`` seconds.  A
  line's write time is the engine's own receive stamp (``docker logs -t``, ns); its
  appearance is the fake Slack's receipt time of the first chat.postMessage or chat.update
  whose blocks carry it.  p50/p95/max, and a check of the thread's final text:
  every line once, in order;
* **memory**: a container writes ``--flood-mb`` MB/s (10**6 bytes) of ``--line-bytes`` lines
  for ``--flood-seconds``, in ten slices a second.  Reported: the rate the stream actually
  read (LiveStream.buffer.bytes_seen), this process's RSS (VmRSS sampled every 0.2 s on a
  thread: the worker is in-process, with the front and the fake) before, at its peak and
  after, the LineBuffer's peak against its bound, lines seen/shown/skipped, Slack calls,
  429s and other refusals, the CPU of the stream's engine thread and of the loop's; then, as
  floors for the read rate, the same finished log read again by the docker CLI and by
  docker-py's frame reader alone (what bot/engine/follow.py iterates);
* in both: the event loop's worst lag (a task that sleeps 0.05 s and measures its
  oversleep), and the load average before and after (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import calendar
import contextlib
import gc
import itertools
import json
import os
import re
import signal
import statistics
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import docker
import redis.asyncio as aioredis

from bot.config import Config, parse_config
from bot.fakeslack import FakeSlack, SlackSender
from bot.fakeslack.records import Call
from bot.jobs.queue import host_is_live
from bot.jobs.streams.desk import StreamDesk
from bot.jobs.streams.live import LiveStream
from bot.policy import yaml_with_lines
from bot.settings import Settings
from tests.rig import TEST_IMAGE, TEST_LABEL, RedisServer, docker_client, ensure_test_image
from tests.stack import Stack, start_stack

BOT_TOKEN = "xoxb-bench-token"
SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"
QUEUE_SECRET = "bench-queue-secret-0123456789abcdef"
USER = "U_ALICE"
CHANNEL = "C_GENERAL"
HOST = "local"
LABEL_VALUE = "bench"
LAG_TICK = 0.05  # the loop-lag probe's sleep
RSS_EVERY = 0.2  # seconds between RSS samples
LEAD = 3.0  # seconds a container waits before its first line (the stream connects meanwhile)

SEQ_LINE = re.compile(r"^seq (\d+)(?: [^\n]*)?$", re.MULTILINE)
END_LINE = "bench-end"
SKIP_MARK = re.compile(r"^\u22ef ([\d,]+) lines? skipped")

# slack_sdk ignores NO_PROXY, and Bolt turns on OAuth when these are set (as tests/conftest.py).
for _var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
    os.environ.pop(_var, None)


def make_config(batch: float) -> Config:
    text = f"""
hosts:
  {HOST}: {{}}
permissions:
  roles:
    admin: {{allow: ["*"], flags: ["*"]}}
  bindings:
    - {{users: [{USER}], role: admin}}
streams:
  batch_every: {batch}s
  max_duration: 2h
"""
    data, lines = yaml_with_lines(text, "bench-streams.yml")
    return parse_config(data, "bench-streams.yml", lines)


def make_settings(fake: FakeSlack, redis_url: str) -> Settings:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
        "REDIS_URL": redis_url,
        "DOCKBELL_QUEUE_SECRET": QUEUE_SECRET,
        "DOCKBELL_LOG_LEVEL": "WARNING",
        **({"DOCKER_HOST": os.environ["DOCKER_HOST"]} if os.environ.get("DOCKER_HOST") else {}),
    }
    return Settings.from_env(env)


# ---- figures -----------------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def mib(kb: int) -> str:
    return f"{kb / 1024:,.1f} MiB"


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def thread_cpu(native_id: int | None) -> float:
    """CPU seconds (user + system) of one thread of this process; 0 once it is gone."""
    if native_id is None:
        return 0.0
    try:
        with open(f"/proc/self/task/{native_id}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_cpu() -> float:
    times = os.times()
    return times.user + times.system


def rss_kb() -> dict[str, int]:
    out: dict[str, int] = {}
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


class LoopLag:
    """A task that sleeps LAG_TICK and records how much longer it took (the loop's stalls)."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.lags = []
        self._task = asyncio.create_task(self._run(), name="bench loop-lag probe")

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(LAG_TICK)
            self.lags.append(time.perf_counter() - started - LAG_TICK)

    async def stop(self) -> list[float]:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        return self.lags

    @staticmethod
    def describe(lags: list[float]) -> str:
        if not lags:
            return "no samples"
        over = sum(1 for x in lags if x > 0.1)
        spread = f"worst {ms(max(lags))}, p99 {ms(pct(lags, 99))}, p50 {ms(pct(lags, 50))}"
        return f"{spread}; {over} of {len(lags)} ticks over 100 ms"


@dataclass
class Sampler:
    """On a thread, so a stalled loop cannot hide its own peak: RSS, and the stream's bytes read."""

    stream: LiveStream | None = None
    rss: list[tuple[float, int]] = field(default_factory=list)
    read: list[tuple[float, int]] = field(default_factory=list)
    reader_cpu: float = 0.0  # the stream's engine thread (bot/engine/streams.py run_stream)
    _reader_tid: int | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="bench sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.time()
            self.rss.append((now, rss_kb()["VmRSS"]))
            if self.stream is not None:
                self.read.append((now, self.stream.buffer.bytes_seen))
            if self._reader_tid is None:
                self._reader_tid = next(
                    (t.native_id for t in threading.enumerate() if t.name.startswith("docker-logs -f")), None
                )
            self.reader_cpu = max(self.reader_cpu, thread_cpu(self._reader_tid))
            self._stop.wait(RSS_EVERY)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


# ---- the rig -----------------------------------------------------------------------------------


class Bench:
    def __init__(self, fake: FakeSlack, stack: Stack, api: docker.APIClient, args: argparse.Namespace) -> None:
        self.fake = fake
        self.stack = stack
        self.api = api
        self.args = args
        self.session = uuid.uuid4().hex[:8]
        self.created: list[str] = []
        self.sender = SlackSender(fake, stack.url + "/slack/events", SIGNING_SECRET)

    @property
    def desk(self) -> StreamDesk:
        streams = self.stack.workers[HOST].worker.streams
        assert streams is not None
        return streams

    def container(self, name: str, script: str, env: dict[str, str] | None = None) -> tuple[str, str]:
        """Created, not started: (its name, its ID)."""
        full = f"dockbell-bench-{self.session}-{name}"
        made = self.api.create_container(
            TEST_IMAGE,
            ["sh", "-c", script],
            name=full,
            labels={TEST_LABEL: LABEL_VALUE},
            environment=env,
        )
        cid = str(made["Id"])
        self.created.append(cid)
        return full, cid

    def cleanup(self) -> None:
        for cid in self.created:
            with contextlib.suppress(docker.errors.NotFound):
                self.api.remove_container(cid, force=True)
        self.created.clear()

    async def start_stream(self, name: str, cid: str, seconds: float) -> LiveStream:
        """Start the container, then `/docker logs -f NAME`; the live stream once it runs."""
        await asyncio.to_thread(self.api.start, cid)
        ack = await self.sender.command(f"logs -f {name} --duration {int(seconds)}s", user_id=USER, channel_id=CHANNEL)
        if ack.status != 200:
            raise RuntimeError(f"the command was answered {ack.status}: {ack.text}")
        post = await self.fake.wait_for_response(lambda p: p.url == ack.response_url, timeout=30)
        if "Streaming" not in json.dumps(post.body):
            raise RuntimeError(f"the stream did not start: {post.body}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for stream in self.desk.live:
                if stream.record.container_id == cid:
                    return stream
            await asyncio.sleep(0.05)
        raise RuntimeError("the stream was announced but is not live on the worker")

    async def wait_end(self, stream: LiveStream, timeout: float) -> bool:
        """True if the stream ended by itself within ``timeout`` (else it is stopped)."""
        try:
            await asyncio.wait_for(stream.done.wait(), timeout)
            return True
        except TimeoutError:
            await self.desk.stop(stream.record.id, USER)
            return False

    def channel_calls(self, since: int) -> list[Call]:
        """Every chat.postMessage and chat.update in the channel since call ``since``: the header,
        its edits, the output in its thread and the end (one stream runs at a time)."""
        methods = ("chat.postMessage", "chat.update")
        return [c for c in self.fake.calls[since:] if c.method in methods and c.args.get("channel") == CHANNEL]

    def thread_text(self, stream: LiveStream) -> list[str]:
        """The output lines of the stream's thread as it ends up (code blocks of its replies)."""
        lines: list[str] = []
        for message in self.fake.thread(CHANNEL, stream.record.header_ts):
            if message.ts == stream.record.header_ts:
                continue
            for block in message.blocks or []:
                text = (block.get("text") or {}).get("text", "")
                if text.startswith("```"):
                    lines.extend(text.removeprefix("```\n").removesuffix("\n```").split("\n"))
        return lines


def blocks_text(call: Call) -> str:
    blocks = call.args.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    parts = []
    for block in blocks:
        if isinstance(block, dict) and isinstance(block.get("text"), dict):
            parts.append(str(block["text"].get("text", "")))
    return "\n".join(parts)


def engine_stamp(stamp: str) -> float:
    """RFC 3339 with nanoseconds, as `docker logs -t` writes it, to Unix seconds."""
    whole, _, frac = stamp.rstrip("Z").partition(".")
    seconds = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
    return seconds + (int(frac.ljust(9, "0")[:9]) / 1e9 if frac else 0.0)


def written_times(api: docker.APIClient, cid: str) -> dict[int, float]:
    raw = api.logs(cid, stdout=True, stderr=True, timestamps=True).decode("utf-8", "replace")
    out: dict[int, float] = {}
    for line in raw.splitlines():
        stamp, _, text = line.partition(" ")
        if (m := SEQ_LINE.match(text)) is not None:
            out[int(m.group(1))] = engine_stamp(stamp)
    return out


def output_gaps(calls: list[Call], header_ts: str) -> str:
    """The longest wait between two accepted calls that showed output in the thread."""
    shown = [
        c.time
        for c in calls
        if c.ok
        and (c.args.get("thread_ts") == header_ts or (c.method == "chat.update" and c.args.get("ts") != header_ts))
        and "```" in blocks_text(c)
    ]
    if len(shown) < 2:
        return f"{len(shown)} accepted output calls"
    gaps = [b - a for a, b in itertools.pairwise(shown)]
    return f"{len(shown)} accepted output calls, longest gap between two {max(gaps):.1f} s"


def call_mix(calls: list[Call], seconds: float) -> str:
    methods = Counter(c.method for c in calls)
    per_min = ", ".join(f"{m} {n} ({n / seconds * 60:.0f}/min)" for m, n in sorted(methods.items()))
    limited = sum(1 for c in calls if c.http_status == 429)
    return f"{len(calls)} calls: {per_min or 'none'}; {limited} answered 429"


def print_refused(calls: list[Call]) -> None:
    refused = Counter(str(c.response.get("error")) for c in calls if not c.ok)
    if refused:
        print(f"   refused by Slack: {', '.join(f'{n} {e}' for e, n in refused.most_common())}")


# ---- 1. latency ---------------------------------------------------------------------------------


async def latency(bench: Bench) -> None:
    args = bench.args
    count = int(args.duration * args.rate)
    pause = int(1_000_000 / args.rate)
    # The loop's own work (a test, an addition, an echo) is far below a millisecond: the rate holds.
    script = f'sleep {LEAD}; i=1; while [ $i -le {count} ]; do echo "seq $i $PAD"; i=$((i+1)); usleep {pause}; done'
    pad = "." * max(1, args.line_chars - len(f"seq {count} "))
    name, cid = await asyncio.to_thread(bench.container, "latency", script, {"PAD": pad})
    lag = LoopLag()
    lag.start()
    calls_before = len(bench.fake.calls)
    load_before = loadavg()
    stream = await bench.start_stream(name, cid, args.duration + 120)
    ended = await bench.wait_end(stream, args.duration + LEAD + 60)
    lags = await lag.stop()
    load_after = loadavg()

    written = await asyncio.to_thread(written_times, bench.api, cid)
    calls = bench.channel_calls(calls_before)
    appeared: dict[int, float] = {}
    for call in calls:
        if not call.ok:
            continue
        for m in SEQ_LINE.finditer(blocks_text(call)):
            appeared.setdefault(int(m.group(1)), call.time)
    delays = [appeared[n] - t for n, t in written.items() if n in appeared]
    final = bench.thread_text(stream)
    expected = [f"seq {n} {pad}" for n in range(1, count + 1)]
    seen = Counter(final)
    twice = sum(1 for line in expected if seen[line] > 1)
    missing = sum(1 for line in expected if seen[line] == 0)
    numbers = [int(hit.group(1)) for x in final if (hit := SEQ_LINE.match(x)) is not None]
    in_order = all(a < b for a, b in itertools.pairwise(numbers))
    marked = sum(int(mark.group(1).replace(",", "")) for x in final if (mark := SKIP_MARK.search(x)) is not None)
    stamps = sorted(written.values())
    actual_rate = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0
    took = time.time() - stream.record.started_at

    print("== latency: a line written in the container -> its first appearance in Slack")
    print(
        f"   {count} lines at {args.rate:g}/s asked, {actual_rate:.2f}/s written (engine stamps), "
        f"batch_every {stream.batch:g} s"
    )
    print(f"   load average before {load_before}, after {load_after}")
    if delays:
        print(
            f"   latency over {len(delays)} lines: p50 {ms(pct(delays, 50))}, p95 {ms(pct(delays, 95))}, "
            f"max {ms(max(delays))}, min {ms(min(delays))}, mean {ms(statistics.fmean(delays))}"
        )
    else:
        print("   no line appeared")
    print(
        f"   thread's final text: {len(numbers)} of the {count} lines, {missing} missing "
        f"({marked} counted in skip markers), {twice} shown twice, in order: {in_order}, "
        f"exactly all: {final == expected}"
    )
    print(f"   stream ended by itself: {ended}; {stream.writer.messages} output messages")
    print(f"   Slack calls in the channel: {call_mix(calls, took)}")
    print(f"   output in the thread: {output_gaps(calls, stream.record.header_ts)}")
    print_refused(calls)
    print(f"   event loop lag: {LoopLag.describe(lags)}")


# ---- 2. memory ----------------------------------------------------------------------------------


async def memory(bench: Bench) -> None:
    args = bench.args
    line = ("x" * (args.line_bytes - 1))[: max(1, args.line_bytes - 1)]
    per_line = len(line) + 1
    slice_bytes = max(per_line, int(args.flood_mb * 1_000_000 / 10) // per_line * per_line)
    # Ten slices a second, each as fast as the pipe takes; a slice never spills into the next second.
    script = (
        f"sleep {LEAD}; n=0; end=$(( $(date +%s) + {int(args.flood_seconds)} )); "
        "while [ $(date +%s) -lt $end ]; do s=$(date +%s); k=0; "
        f'while [ $k -lt 10 ] && [ $(date +%s) -eq $s ]; do yes "$LINE" | head -c {slice_bytes}; '
        "n=$((n+1)); k=$((k+1)); usleep 50000; done; "
        "while [ $(date +%s) -eq $s ]; do usleep 10000; done; done; "
        f'echo "{END_LINE} slices=$n"'
    )
    name, cid = await asyncio.to_thread(bench.container, "flood", script, {"LINE": line})
    gc.collect()
    await asyncio.sleep(1)
    before = rss_kb()
    sampler = Sampler()
    sampler.start()
    lag = LoopLag()
    lag.start()
    calls_before = len(bench.fake.calls)
    load_before = loadavg()
    loop_tid = threading.main_thread().native_id
    cpu_before, loop_cpu_before = process_cpu(), thread_cpu(loop_tid)
    stream = await bench.start_stream(name, cid, args.flood_seconds + 300)
    sampler.stream = stream
    ended = await bench.wait_end(stream, args.flood_seconds + LEAD + 240)
    lags = await lag.stop()
    load_after = loadavg()
    cpu, loop_cpu = process_cpu() - cpu_before, thread_cpu(loop_tid) - loop_cpu_before
    took = time.time() - stream.record.started_at
    gc.collect()
    await asyncio.sleep(2)
    sampler.stop()
    after = rss_kb()

    buf, writer = stream.buffer, stream.writer
    logs_tail = (await asyncio.to_thread(bench.api.logs, cid, tail=1)).decode("utf-8", "replace").strip()
    slices = int(m.group(1)) if (m := re.search(rf"{END_LINE} slices=(\d+)", logs_tail)) else -1
    written = slices * slice_bytes if slices >= 0 else -1
    reads = [(t, b) for t, b in sampler.read if b > 0]
    rate_line = "no bytes read"
    if len(reads) > 1:
        first_t = reads[0][0]
        last_t = next(t for t, b in reads if b == reads[-1][1])  # when the count stopped growing
        mean = (reads[-1][1] - reads[0][1]) / max(1e-9, last_t - first_t)
        per_second = [(b2 - b1) / (t2 - t1) for (t1, b1), (t2, b2) in zip(reads, reads[5:], strict=False) if t2 > t1]
        rate_line = (
            f"read {buf.bytes_seen / 1e6:,.1f} MB in {last_t - first_t:.1f} s: mean {mean / 1e6:.2f} MB/s, "
            f"best 1-s window {max(per_second, default=0) / 1e6:.2f} MB/s"
        )
    peak_rss = max((kb for _, kb in sampler.rss), default=0)
    calls = bench.channel_calls(calls_before)
    final = bench.thread_text(stream)
    markers = [SKIP_MARK.search(x) for x in final]
    shown_in_thread = sum(1 for m in markers if m is None)
    skipped_in_thread = sum(int(m.group(1).replace(",", "")) for m in markers if m is not None)
    accounted = writer.shown + writer.skipped

    print(f"== memory: a container writing {args.flood_mb:g} MB/s of {per_line}-byte lines, {args.flood_seconds:g} s")
    print(f"   load average before {load_before}, after {load_after}; batch_every {stream.batch:g} s")
    wrote = f"{written / 1e6:,.1f} MB ({slices} slices of {slice_bytes:,} B)" if written >= 0 else "unknown"
    print(f"   container wrote {wrote}; stream {rate_line}")
    print(
        f"   RSS (this process: front, worker, fake Slack): before {mib(before['VmRSS'])}, "
        f"peak {mib(peak_rss)} (+{mib(peak_rss - before['VmRSS'])}), after {mib(after['VmRSS'])}; "
        f"VmHWM {mib(after['VmHWM'])}"
    )
    print(f"   LineBuffer peak {buf.peak_bytes:,} B of its {buf.max_bytes:,} B bound")
    print(
        f"   lines: {buf.lines_seen:,} seen, {writer.shown:,} shown ({shown_in_thread:,} in the thread's final text), "
        f"{writer.skipped:,} skipped ({buf.lines_skipped:,} by the buffer; "
        f"{skipped_in_thread:,} in the thread's markers); "
        f"shown + skipped - seen = {accounted - buf.lines_seen:,}; "
        f"the writer {'had shown everything' if writer.idle else 'still held unshown lines'} at the end"
    )
    print(
        f"   CPU: process {cpu:.1f} s in {took:.1f} s; the stream's engine thread {sampler.reader_cpu:.1f} s, "
        f"the event loop's thread {loop_cpu:.1f} s"
    )
    print(f"   stream ended by itself: {ended}, after {took:.1f} s; {writer.messages} output messages")
    print(f"   Slack calls in the channel: {call_mix(calls, took)}")
    print(f"   output in the thread: {output_gaps(calls, stream.record.header_ts)}")
    print_refused(calls)
    print(f"   event loop lag: {LoopLag.describe(lags)}")
    lag.start()
    cli, py_read, py_bytes = await asyncio.to_thread(read_floors, bench.api, cid)
    floor_lags = await lag.stop()
    print(
        f"   the same (finished) log read again: `docker logs` CLI {buf.bytes_seen / 1e6 / cli:.1f} MB/s; "
        f"docker-py's frame reader alone, on a thread, loop idle: {py_bytes / 1e6 / py_read:.1f} MB/s"
    )
    print(f"   event loop lag meanwhile (no stream, only that reader thread): {LoopLag.describe(floor_lags)}")


def read_floors(api: docker.APIClient, cid: str) -> tuple[float, float, int]:
    """Seconds for the docker CLI to read the container's whole log, seconds and bytes for docker-py
    (its multiplexed frame reader, as bot/engine/follow.py uses, with no sink behind it)."""
    started = time.perf_counter()
    subprocess.run(["docker", "logs", cid], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    cli = time.perf_counter() - started
    started = time.perf_counter()
    total = 0
    for chunk in api.logs(cid, stream=True, follow=False):
        total += len(chunk)
    return cli, time.perf_counter() - started, total


# ---- main ---------------------------------------------------------------------------------------


async def wait_for_worker(redis_url: str, timeout: float = 20.0) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + timeout
        while not await host_is_live(client, HOST):
            if time.monotonic() > deadline:
                raise RuntimeError(f"no live worker for host {HOST} after {timeout:.0f} s")
            await asyncio.sleep(0.1)
    finally:
        await client.aclose()


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer.start()
    try:
        yield server
    finally:
        server.stop()


async def main_async(args: argparse.Namespace) -> None:
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    api = docker_client()
    api.ping()
    await asyncio.to_thread(ensure_test_image, api)
    with redis_server() as redis:
        fake = FakeSlack(bot_token=BOT_TOKEN)
        await fake.start()
        if args.slack_rate > 0:
            fake.rate_limit_channel(CHANNEL, args.slack_rate, args.slack_burst)
        stack = await start_stack(make_settings(fake, redis.url), make_config(args.batch))
        bench = Bench(fake, stack, api, args)
        try:
            await wait_for_worker(redis.url)
            print(f"bench.streams: {os.cpu_count()} CPUs, load average {loadavg()}, session {bench.session}")
            limit = f"{args.slack_rate:g}/s, burst {args.slack_burst}" if args.slack_rate > 0 else "off"
            print(f"   fake Slack's chat.postMessage limit in {CHANNEL}: {limit}")
            if args.only in (None, "latency"):
                await latency(bench)
            if args.only in (None, "memory"):
                await memory(bench)
        finally:
            await bench.sender.close()
            await stack.stop()
            await fake.stop()
            await asyncio.to_thread(bench.cleanup)
            api.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.streams", description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of steady lines (latency)")
    parser.add_argument("--rate", type=float, default=4.0, help="lines a second (latency)")
    parser.add_argument("--line-chars", type=int, default=80, help="characters per line (latency), `seq N ...`")
    parser.add_argument("--flood-seconds", type=float, default=30.0, help="seconds of flood (memory)")
    parser.add_argument("--flood-mb", type=float, default=10.0, help="MB (10**6 B) a second (memory)")
    parser.add_argument("--line-bytes", type=int, default=200, help="bytes per flood line, newline included")
    parser.add_argument("--batch", type=float, default=1.5, help="streams.batch_every, seconds (1 to 30)")
    parser.add_argument("--slack-rate", type=float, default=1.0, help="chat.postMessage per second in the channel")
    parser.add_argument("--slack-burst", type=int, default=3, help="burst of that limit")
    parser.add_argument("--only", choices=("latency", "memory"), default=None)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
