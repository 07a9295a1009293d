"""Time to ack and time to full answer for `/docker ps`, beside a bare slack-bolt app that only acks.

    python -m bench.ack [-n 400] [-c 10] [--containers 50] [--layout one|split]

Starts everything it needs on this machine, each as a process of its own: a redis-server,
a fake Slack (bench/fake_slack.py), dockbell and the floor app (bench/floor_app.py); and
N labelled busybox containers on the local engine.  All of it is removed afterwards.

Layouts:

* ``one`` (default), what `pip install . && dockbell serve` runs: ``python -m bot serve``,
  which starts and supervises the default host's worker as its child process;
* ``split``: ``serve --no-worker`` plus a separate ``python -m bot worker --host local``
  (the compose layout, on one machine).

What is measured:

* ack: request sent -> HTTP answer, for dockbell and the floor, at concurrency C.  A second
  floor runs Bolt with process_before_response=True, which skips the 10 ms ack poll that
  is most of the default floor's time (see floor_app.py): the floor for dockbell if it
  ran Bolt that way.  Floors and dockbell run in alternating rounds (``--rounds``), so a
  change in the load of this shared machine hits them alike.  A slot is held until its
  answer arrives (a user waiting for it), so dockbell's ack is measured while its worker
  is busy;
* full answer: request sent -> the response_url POST received by the fake Slack, at
  concurrency C and at concurrency 1, beside one `docker ps` process (also alternated),
  and where it went, from the timestamps serve and the worker leave in each job's hash
  (sent -> enqueued -> started -> answered -> finished);
* RSS (VmRSS, and peak VmHWM) of serve and of the worker, and their CPU time per request;
* the machine's load (/proc/loadavg) before and after, and its CPU count.

``--profile DIR`` records serve, the worker and the floor with py-spy (GIL-holding samples,
speedscope files) during the concurrency-C rounds; the figures of such a run are not clean.

Targets (issue 7): at -c 10 with 50 containers, ack p99 <= 1.2x the floor and p50 <= 1.1x;
full answer at concurrency 1 <= 0.6x one `docker ps` process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import json
import os
import secrets
import selectors
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO
from urllib.parse import urlencode

import aiohttp
import redis.asyncio as aioredis

from bot.fakeslack.signing import signed_headers
from bot.jobs.queue import keys
from bot.jobs.queue.model import job_id_for
from tests.rig import Containers, RedisServer, docker_client, ensure_test_image, free_port

SECRET = "bench-signing-secret-0123456789abcdef"
TOKEN = "xoxb-bench-token"
USER = "U_ALICE"
# The bench's user is an admin; a user group binding makes the gate do its Slack lookup too.
CONFIG = f"""
permissions:
  roles:
    admin: {{allow: ["*"]}}
    viewer: {{allow: [read]}}
  bindings:
    - {{users: [{USER}], role: admin}}
    - {{usergroups: [S_OPS], role: viewer}}
"""
PS_HEADER = "CONTAINER ID"  # an answer without it is an error message, not a ps table
ANSWER_TIMEOUT = 30.0
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 45.0  # serve gives its child worker 35 s to drain


# ---- driving requests --------------------------------------------------------------------------


@dataclass
class Sample:
    ack: float  # seconds, request sent -> HTTP answer
    answer: float | None  # seconds, request sent -> the fake received the response_url POST
    text: str = ""
    url: str = ""
    sent_at: float = 0.0  # time.time()


class Slack:
    """Plays Slack's side: signed `/docker` requests, and the fake's record of the answers."""

    def __init__(self, control_url: str) -> None:
        self.control_url = control_url
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=ANSWER_TIMEOUT + 10))

    async def close(self) -> None:
        await self.http.close()

    async def response_urls(self, n: int) -> list[str]:
        async with self.http.post(f"{self.control_url}/urls", params={"n": str(n)}) as resp:
            resp.raise_for_status()
            return [str(u) for u in await resp.json()]

    async def reset(self) -> None:
        async with self.http.post(f"{self.control_url}/reset") as resp:
            resp.raise_for_status()

    async def command(self, bot_url: str, text: str, response_url: str) -> float:
        body = urlencode(
            {
                "token": "bench",
                "team_id": "T_TEST",
                "team_domain": "fake",
                "channel_id": "C_GENERAL",
                "channel_name": "general",
                "user_id": USER,
                "user_name": "alice",
                "command": "/docker",
                "text": text,
                "api_app_id": "A_DOCKBELL",
                "is_enterprise_install": "false",
                "response_url": response_url,
                "trigger_id": secrets.token_hex(16),
            }
        )
        headers = signed_headers(SECRET, body)
        started = time.perf_counter()
        async with self.http.post(bot_url, data=body.encode(), headers=headers) as resp:
            await resp.read()
            acked = time.perf_counter() - started
            if resp.status != 200:
                raise RuntimeError(f"{bot_url} answered {resp.status} to a /docker request")
        return acked

    async def answer(self, response_url: str, sent_at: float, timeout: float = ANSWER_TIMEOUT) -> tuple[float, str]:
        """Seconds from ``sent_at`` (time.time()) to the fake's receipt of the POST, and its text."""
        params = {"url": response_url, "timeout": str(timeout)}
        async with self.http.get(f"{self.control_url}/wait", params=params) as resp:
            got = await resp.json()
            if resp.status != 200:
                raise RuntimeError(str(got.get("error")))
        return float(got["time"]) - sent_at, str(got["text"])


async def drive(slack: Slack, bot_url: str, n: int, concurrency: int, wait_answer: bool) -> list[Sample]:
    urls = await slack.response_urls(n)  # issued before the clock starts
    sem = asyncio.Semaphore(concurrency)

    async def one(url: str) -> Sample:
        async with sem:
            sent_at = time.time()  # wall clock: the fake stamps its receipt with time.time() in its process
            acked = await slack.command(bot_url, "ps", url)
            if not wait_answer:
                return Sample(acked, None)
            answered, text = await slack.answer(url, sent_at)
            return Sample(acked, answered, text, url, sent_at)

    return list(await asyncio.gather(*(one(u) for u in urls)))


async def wait_http(url: str, timeout: float = READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.post(url, data=b"") as resp:
                    if resp.status < 500:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up in {timeout:.0f} s")


async def wait_answering(slack: Slack, bot_url: str, timeout: float = READY_TIMEOUT) -> None:
    """Until a `/docker ps` gets a ps table: serve is up and its worker is live."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        [url] = await slack.response_urls(1)
        await slack.command(bot_url, "ps", url)
        _, text = await slack.answer(url, time.time())
        if PS_HEADER in text:
            return
        await asyncio.sleep(0.5)  # "no live worker" until the worker's first heartbeat
    raise RuntimeError(f"dockbell did not answer `/docker ps` with a table in {timeout:.0f} s; last answer: {text!r}")


def time_cli_ps(runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(["docker", "ps"], stdout=subprocess.DEVNULL, check=True)
        out.append(time.perf_counter() - started)
    return out


# ---- processes ---------------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: str

    @property
    def pid(self) -> int:
        return self.popen.pid


@dataclass
class Procs:
    workdir: str
    env: dict[str, str]
    started: list[Proc] = field(default_factory=list)
    # pids found under serve (its worker): serve stops them, but not if it is killed
    adopted: dict[int, str] = field(default_factory=dict)

    def spawn(self, name: str, args: list[str], *, piped: bool = False) -> Proc:
        """``piped``: stdin and stdout are pipes to this process (the fake Slack's), else its log."""
        log_path = os.path.join(self.workdir, f"{name}.log")
        with open(log_path, "wb") as log:
            pipe_or_log = subprocess.PIPE if piped else log
            stdin = subprocess.PIPE if piped else subprocess.DEVNULL
            popen = subprocess.Popen(args, env=self.env, stdin=stdin, stdout=pipe_or_log, stderr=log)
        proc = Proc(name, popen, log_path)
        self.started.append(proc)
        return proc

    def adopt(self, pid: int) -> None:
        self.adopted[pid] = cmdline(pid)

    def stop_all(self) -> None:
        # Newest first: dockbell before the fake Slack and Redis it would complain about.
        for proc in reversed(self.started):
            if proc.popen.poll() is None:
                proc.popen.send_signal(signal.SIGTERM)
                try:
                    proc.popen.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    print(f"{proc.name} (pid {proc.pid}) did not stop in time; killing it", file=sys.stderr)
                    proc.popen.kill()
                    proc.popen.wait()
            for stream in (proc.popen.stdin, proc.popen.stdout):
                if stream is not None:
                    stream.close()
        for pid, line in self.adopted.items():
            if cmdline(pid) == line:  # still that process, not a reused pid
                print(f"pid {pid} outlived its parent; killing it", file=sys.stderr)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def check_alive(self) -> None:
        for proc in self.started:
            code = proc.popen.poll()
            if code is not None:
                raise RuntimeError(f"{proc.name} exited with {code}; its log: {proc.log_path}\n{tail(proc.log_path)}")


def tail(path: str, lines: int = 15) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return "".join(f.readlines()[-lines:])


def read_line(stream: IO[bytes] | None, timeout: float) -> str:
    """One line of a child's stdout, or RuntimeError after ``timeout`` (a child that hangs at start)."""
    assert stream is not None
    with selectors.DefaultSelector() as sel:
        sel.register(stream, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise RuntimeError(f"no line from a child in {timeout:.0f} s")
    return stream.readline().decode().strip()


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def children(pid: int) -> list[int]:
    """Direct children, from /proc (Linux >= 3.5 with CONFIG_PROC_CHILDREN)."""
    found: list[int] = []
    for path in glob.glob(f"/proc/{pid}/task/*/children"):
        with contextlib.suppress(OSError), open(path, encoding="ascii") as f:
            found.extend(int(p) for p in f.read().split())
    return found


def mem_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) in kB."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def loadavg() -> str:
    with open("/proc/loadavg", encoding="ascii") as f:
        return " ".join(f.read().split()[:3])


async def find_worker(serve_pid: int, timeout: float = READY_TIMEOUT) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in children(serve_pid):
            if " worker " in f" {cmdline(pid)} ":
                return pid
        await asyncio.sleep(0.1)
    raise RuntimeError(f"serve (pid {serve_pid}) started no worker child in {timeout:.0f} s")


async def stages(redis_url: str, samples: list[Sample]) -> dict[str, list[float]]:
    """Where each answer's time went, from the job hashes (stamped with time.time() by serve and the worker).

    sent -> enqueued: serve (ack path, liveness check, enqueue); enqueued -> started: the
    queue (the worker's read and claim); started -> answered: gate, handler, rendering and
    the response_url POST; answered -> finished: the worker's bookkeeping after the answer.
    """
    out: dict[str, list[float]] = {"sent -> enqueued": [], "enqueued -> started": [], "started -> answered": []}
    out["answered -> finished"] = []
    redis = aioredis.from_url(redis_url)
    try:
        for s in samples:
            if s.answer is None:
                continue
            raw = await redis.hmget(
                keys.job(job_id_for("local", "command", s.url, "")), ["created_at", "started_at", "finished_at"]
            )
            stamps = [float(json.loads(v)) for v in raw if v is not None]
            if len(stamps) != 3:
                continue
            created, started, finished = stamps
            answered = s.sent_at + s.answer
            out["sent -> enqueued"].append(created - s.sent_at)
            out["enqueued -> started"].append(started - created)
            out["started -> answered"].append(answered - started)
            out["answered -> finished"].append(finished - answered)
    finally:
        await redis.aclose()
    return out


@contextlib.contextmanager
def profiling(directory: str | None, targets: dict[str, int]) -> Iterator[None]:
    """py-spy on each target while the block runs (speedscope files in ``directory``)."""
    if directory is None:
        yield
        return
    spy = shutil.which("py-spy")
    if spy is None:
        raise RuntimeError("--profile needs py-spy (pip install py-spy)")
    os.makedirs(directory, exist_ok=True)
    spies = [
        subprocess.Popen(
            [spy, "record", "-g", "-p", str(pid), "-r", "250", "-f", "speedscope", "-o", f"{directory}/{name}.json"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in targets.items()
    ]
    try:
        time.sleep(1.0)  # py-spy attaches
        yield
    finally:
        for p in spies:
            p.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        for p in spies:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


# ---- the run -----------------------------------------------------------------------------------


@dataclass
class Results:
    layout: str
    n: int
    c: int
    containers: int
    running: int
    floor: list[Sample]
    floor_nopoll: list[Sample]
    bot: list[Sample]
    serial: list[Sample]
    cli: list[float]
    mem: dict[str, dict[str, int]]
    cpu: dict[str, float]  # seconds over the measured dockbell requests
    floor_cpu: float  # the floor's seconds over its measured requests
    stages: dict[str, list[float]]
    serial_stages: dict[str, list[float]]
    load_before: str
    load_after: str


def split_evenly(total: int, parts: int) -> list[int]:
    parts = max(1, min(parts, total))
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


async def run(args: argparse.Namespace, workdir: str) -> Results:
    api = docker_client()
    ensure_test_image(api)
    made = Containers(api)
    redis = RedisServer.start()
    config_path = os.path.join(workdir, "dockbell.yml")
    with open(config_path, "w", encoding="utf-8") as f:
        f.write(CONFIG)
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.pop("DOCKBELL_QUEUE_SECRET", None)  # one-command: serve makes one for its child
    procs = Procs(workdir, env)
    slack: Slack | None = None
    try:
        # stdin=PIPE: the fake stops when it closes, even if this process is killed.
        fake = procs.spawn("fake_slack", [sys.executable, "-m", "bench.fake_slack"], piped=True)
        api_url, control_url = read_line(fake.popen.stdout, READY_TIMEOUT).split()
        env.update(
            DOCKBELL_CONFIG=config_path,
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=api_url,
            REDIS_URL=redis.url,
            DOCKBELL_LOG_LEVEL="WARNING",
        )
        print(f"starting {args.containers} containers ...", file=sys.stderr)
        for i in range(args.containers):
            made.run(f"bench-{i}", ["sleep", "3600"])
        running = len(api.containers(quiet=True))

        bot_port, floor_port = free_port(), free_port()
        bind = ["--host", "127.0.0.1", "--port", str(bot_port)]
        if args.layout == "one":
            serve = procs.spawn("serve", [sys.executable, "-m", "bot", "serve", *bind])
        else:
            env["DOCKBELL_QUEUE_SECRET"] = secrets.token_hex(32)
            serve = procs.spawn("serve", [sys.executable, "-m", "bot", "serve", "--no-worker", *bind])
            split_worker = procs.spawn("worker", [sys.executable, "-m", "bot", "worker", "--host", "local"])
        floor_proc = procs.spawn("floor", [sys.executable, "-m", "bench.floor_app", str(floor_port)])
        nopoll_port = free_port()
        nopoll_args = [sys.executable, "-m", "bench.floor_app", str(nopoll_port), "--before-response"]
        procs.spawn("floor_nopoll", nopoll_args)
        nopoll_url = f"http://127.0.0.1:{nopoll_port}/slack/events"
        bot_url = f"http://127.0.0.1:{bot_port}/slack/events"
        floor_url = f"http://127.0.0.1:{floor_port}/slack/events"

        if args.layout == "one":
            worker_pid = await find_worker(serve.pid)
            procs.adopt(worker_pid)
        else:
            worker_pid = split_worker.pid
        await wait_http(floor_url)
        await wait_http(nopoll_url)
        await wait_http(bot_url)
        slack = Slack(control_url)
        await wait_answering(slack, bot_url)
        procs.check_alive()

        # Warm-up: connection pools, auth.test, the policy's group lookup, imports on first use.
        await drive(slack, floor_url, min(20, args.n), args.c, False)
        await drive(slack, nopoll_url, min(20, args.n), args.c, False)
        await drive(slack, bot_url, min(20, args.n), args.c, True)
        await drive(slack, bot_url, 5, 1, True)
        await slack.reset()

        load_before = loadavg()
        pids = {"serve": serve.pid, "worker": worker_pid, "floor": floor_proc.pid, "fake Slack": fake.pid}
        floor: list[Sample] = []
        nopoll: list[Sample] = []
        bot: list[Sample] = []
        bot_cpu = dict.fromkeys(pids, 0.0)
        floor_cpu = 0.0
        print(f"measuring: {args.n} requests each, concurrency {args.c}, {args.rounds} rounds ...", file=sys.stderr)
        with profiling(args.profile, {"serve": serve.pid, "worker": worker_pid, "floor": floor_proc.pid}):
            for chunk in split_evenly(args.n, args.rounds):
                before_floor = cpu_seconds(floor_proc.pid)
                floor += await drive(slack, floor_url, chunk, args.c, False)
                floor_cpu += cpu_seconds(floor_proc.pid) - before_floor
                nopoll += await drive(slack, nopoll_url, chunk, args.c, False)
                before = {name: cpu_seconds(pid) for name, pid in pids.items()}
                bot += await drive(slack, bot_url, chunk, args.c, True)
                for name, pid in pids.items():
                    bot_cpu[name] += cpu_seconds(pid) - before[name]
                await slack.reset()
        serial: list[Sample] = []
        cli: list[float] = []
        print(f"measuring: {args.serial} requests at concurrency 1, beside `docker ps` ...", file=sys.stderr)
        for chunk in split_evenly(args.serial, args.rounds):
            serial += await drive(slack, bot_url, chunk, 1, True)
            cli += await asyncio.to_thread(time_cli_ps, max(1, args.cli_runs // args.rounds))
        mem = {"serve": mem_kb(serve.pid), "worker": mem_kb(worker_pid), "floor": mem_kb(floor_proc.pid)}
        load_after = loadavg()
        procs.check_alive()
        return Results(
            args.layout,
            args.n,
            args.c,
            args.containers,
            running,
            floor,
            nopoll,
            bot,
            serial,
            cli,
            mem,
            bot_cpu,
            floor_cpu,
            await stages(redis.url, bot),
            await stages(redis.url, serial),
            load_before,
            load_after,
        )
    finally:
        if slack is not None:
            await slack.close()
        print("cleaning up ...", file=sys.stderr)
        await asyncio.to_thread(procs.stop_all)
        redis.stop()
        made.cleanup()


# ---- the report --------------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def line(label: str, values: list[float]) -> str:
    return f"{label:<40} p50 {statistics.median(values) * 1000:7.1f} ms   p99 {pct(values, 99) * 1000:7.1f} ms"


def verdict(ratio: float, target: float) -> str:
    return f"{ratio:.2f}x (target <= {target}x: {'met' if ratio <= target else 'MISSED'})"


def report(r: Results) -> list[str]:
    floor_ack = [s.ack for s in r.floor]
    nopoll_ack = [s.ack for s in r.floor_nopoll]
    bot_ack = [s.ack for s in r.bot]
    answers = [s.answer for s in r.bot if s.answer is not None]
    serial = [s.answer for s in r.serial if s.answer is not None]
    layout = "serve + its child worker" if r.layout == "one" else "serve --no-worker + a separate worker"
    out = [
        f"/docker ps x{r.n} at concurrency {r.c}; {r.containers} bench containers ({r.running} running on the engine)",
        f"layout: {layout}",
        line("ack, bare slack-bolt (floor)", floor_ack),
        line("ack, slack-bolt without the ack poll", nopoll_ack),
        line("ack, dockbell", bot_ack),
        f"p99 ack ratio dockbell/floor: {verdict(pct(bot_ack, 99) / pct(floor_ack, 99), 1.2)}",
        f"p50 ack ratio dockbell/floor: {verdict(statistics.median(bot_ack) / statistics.median(floor_ack), 1.1)}",
        f"ack ratios dockbell/floor without the poll: p99 {pct(bot_ack, 99) / pct(nopoll_ack, 99):.2f}x,"
        f" p50 {statistics.median(bot_ack) / statistics.median(nopoll_ack):.2f}x",
        line(f"full answer, dockbell (c={r.c})", answers),
        line(f"full answer, dockbell (c=1, x{len(serial)})", serial),
        line(f"one `docker ps` process (x{len(r.cli)}, serial)", r.cli),
        f"full answer p50 (c=1) / docker ps p50: {verdict(statistics.median(serial) / statistics.median(r.cli), 0.6)}",
        f"full answer p50 (c={r.c}) / docker ps p50: {statistics.median(answers) / statistics.median(r.cli):.2f}x",
    ]
    for name, m in r.mem.items():
        out.append(f"RSS {name:<7} {m['VmRSS'] / 1024:6.1f} MiB (peak {m['VmHWM'] / 1024:6.1f} MiB)")
    per = ", ".join(f"{name} {sec / len(r.bot) * 1000:.2f}" for name, sec in r.cpu.items())
    out.append(f"CPU ms per dockbell request (c={r.c} rounds): {per}")
    out.append(f"CPU ms per floor request: {r.floor_cpu / len(r.floor) * 1000:.2f}")
    for label, parts in ((f"c={r.c}", r.stages), ("c=1", r.serial_stages)):
        out.append(f"answer path, p50 / p99 in ms ({label}):")
        for stage, values in parts.items():
            if values:
                out.append(f"  {stage:<22} {statistics.median(values) * 1000:7.1f} / {pct(values, 99) * 1000:7.1f}")
    out.append(f"load average before {r.load_before}, after {r.load_after}; {os.cpu_count()} CPUs")
    bad = [s.text for s in r.bot + r.serial if PS_HEADER not in s.text]
    if bad:
        out.append(f"ANSWERS THAT ARE NOT A ps TABLE: {len(bad)}; first: {bad[0][:200]!r}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=400, help="requests per app at concurrency C (default 400)")
    parser.add_argument("-c", type=int, default=10, help="concurrency (default 10)")
    parser.add_argument("--containers", type=int, default=50, help="running containers to list (default 50)")
    parser.add_argument("--layout", choices=("one", "split"), default="one", help="see above (default one)")
    parser.add_argument("--serial", type=int, default=50, help="requests at concurrency 1 (default 50)")
    parser.add_argument("--cli-runs", type=int, default=20, help="`docker ps` processes to time (default 20)")
    parser.add_argument("--rounds", type=int, default=4, help="alternations of floor/dockbell (default 4)")
    parser.add_argument("--profile", metavar="DIR", help="py-spy serve, worker and floor in the c=C rounds")
    parser.add_argument("--deadline", type=float, default=900.0, help="give up after this many seconds")
    args = parser.parse_args(argv)
    if shutil.which("docker") is None:
        print("bench.ack: the docker CLI is needed for the `docker ps` comparison", file=sys.stderr)
        return 2
    workdir = tempfile.mkdtemp(prefix="dockbell-bench-")

    async def bounded() -> Results:
        async with asyncio.timeout(args.deadline):
            return await run(args, workdir)

    try:
        results = asyncio.run(bounded())
    except (RuntimeError, TimeoutError) as err:
        why = str(err) or f"gave up after --deadline {args.deadline:.0f} s"
        print(f"bench.ack: {why} (logs kept in {workdir})", file=sys.stderr)
        return 1
    lines = report(results)
    print("\n".join(lines))
    shutil.rmtree(workdir, ignore_errors=True)
    return 1 if lines[-1].startswith("ANSWERS THAT ARE NOT") else 0


if __name__ == "__main__":
    sys.exit(main())
