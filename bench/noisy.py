"""An admin's answer latency while viewers' hostile templates run (issue 8, item 1: no noisy neighbour).

    python -m bench.noisy [--samples 40] [--viewers 2] [--each 4] [--inline]
    python -m bench.noisy --calibrate

Starts what it needs in this process, as the tests do (tests/stack.py): a redis-server, the
fake Slack, serve's front and the local worker; and a few labelled busybox containers, removed
afterwards.  Then, with signed requests:

1. baseline: the admin sends ``ps -a --filter label=...`` ``--samples`` times, one after the
   other, and each full answer's latency (request sent -> response_url POST received) is kept;
2. under load: ``--viewers`` viewers (users with only the viewer role of channel C_OPS) each
   keep ``--each`` hostile templates in flight (the issue's, in turn), while the admin sends
   the same ``ps`` again.

It prints p50 and max of both, how the hostile commands were answered, and how long they
took.  ``--inline`` evaluates everything on the worker's event loop (the budget still holds):
what the pool in bot.cli_output.offload buys.

``--calibrate`` prints, for templates that stress each price in the budget, the time per
work unit (a unit is meant to be about a nanosecond; see bot/cli_output/gotemplate/budget.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

HOSTILE = [
    """version -f '{{range 3000}}{{if (join (split (printf "%0100000d" 0) "") ",")}}{{end}}{{end}}'""",
    """version -f '{{range 2000}}{{printf "%02000d" 0}}{{end}}'""",
    """ps -a -n 3 --format '{{range 2000}}{{printf "%02000d" 0}}{{end}}'""",
    """version -f '{{range 100000}}{{$x := printf "%01000d" 0}}{{end}}'""",
]

CALIBRATION = [
    "{{range 100000}}{{end}}",
    '{{range 100000}}{{$x := 1}}{{$y := "a"}}{{end}}',
    '{{range 3000}}{{if (join (split (printf "%0100000d" 0) "") ",")}}{{end}}{{end}}',
    '{{range 1000}}{{len (printf "%01000000d" 0)}}{{end}}',
    "{{range 1000}}{{lower $.a}}{{end}}",
    "{{range 1000}}{{json $.a}}{{end}}",
    "{{range 200}}{{json $.l}}{{end}}",
    '{{range 200}}{{printf "%v" $.l}}{{end}}',
    '{{range 3000}}{{len (join $.l ",")}}{{end}}',
    "{{range 100000}}{{$.a}}{{end}}",
]


@dataclass
class Latencies:
    admin: list[float] = field(default_factory=list)
    admin_failed: Counter[str] = field(default_factory=Counter)  # answers that were not the table
    hostile: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)


def calibrate() -> None:
    from bot.cli_output import gotemplate
    from bot.cli_output.gotemplate.budget import MAX_WORK, Budget, using

    data = {"a": "x" * 1000, "l": ["y" * 10] * 1000}
    print(f"{'ms':>8} {'units':>8} {'ns/unit':>8}  template")
    for text in CALIBRATION:
        template = gotemplate.parse(text)
        budget = Budget()
        started = time.perf_counter()
        with using(budget), contextlib.suppress(gotemplate.GoTemplateError):
            template.execute(data)
        elapsed = time.perf_counter() - started
        used = MAX_WORK - budget.work
        print(f"{elapsed * 1000:8.1f} {used / 1e6:7.0f}M {elapsed * 1e9 / max(used, 1):8.2f}  {text[:70]}")


def outcome(text: str) -> str:
    for words in ("too expensive", "output longer than", "a value longer than", "stopped this command"):
        if words in text:
            return words
    return text[:80]


async def measure(args: argparse.Namespace) -> tuple[Latencies, Latencies]:
    from bot.cli_output import offload
    from bot.fakeslack import FakeSlack, SlackSender
    from tests.conftest import SIGNING_SECRET, bot_settings, make_test_config, wait_for_worker
    from tests.helpers import all_text
    from tests.rig import TEST_LABEL, Containers, RedisServer, docker_client, ensure_test_image
    from tests.stack import start_stack

    if args.inline:
        offload.INLINE_WORK = 10**15  # everything on the loop; the budget still bounds it
    api = docker_client()
    ensure_test_image(api)
    made = Containers(api)
    redis = RedisServer.start()
    fake = FakeSlack(bot_token="xoxb-test-token")
    fake.set_usergroup("S_AUDIT", ["U_CAROL"])  # the test config's group
    await fake.start()
    stack = None
    try:
        for i in range(5):
            made.run(f"noisy-{i}", ["sleep", "3600"])
        stack = await start_stack(bot_settings(fake, redis.url), make_test_config())
        await wait_for_worker(redis.url, "local")
        slack = SlackSender(fake, stack.url + "/slack/events", SIGNING_SECRET)
        admin_ps = f"ps -a --filter label={TEST_LABEL}={made.session}"

        async def timed(text: str, user: str, channel: str) -> tuple[float, str]:
            started = time.perf_counter()
            ack = await slack.command(text, user_id=user, channel_id=channel)
            post = await fake.wait_for_response(lambda p: p.url == ack.response_url, timeout=120)
            return time.perf_counter() - started, all_text(dict(post.body))

        async def admin_samples(into: Latencies) -> None:
            for _ in range(args.samples):
                took, text = await timed(admin_ps, "U_ALICE", "C_GENERAL")
                into.admin.append(took)
                if "CONTAINER ID" not in text:
                    into.admin_failed[text[:100]] += 1

        baseline, loaded = Latencies(), Latencies()
        await timed(HOSTILE[0], "U_WARMUP", "C_OPS")  # the evaluation processes start on first use
        await admin_samples(baseline)

        done = asyncio.Event()

        async def viewer(n: int, slot: int) -> None:
            turn = slot
            while not done.is_set():
                took, text = await timed(HOSTILE[turn % len(HOSTILE)], f"U_VIEWER{n}", "C_OPS")
                loaded.hostile.append(took)
                loaded.outcomes[outcome(text)] += 1
                turn += 1

        hostile = [asyncio.create_task(viewer(n, s)) for n in range(args.viewers) for s in range(args.each)]
        await asyncio.sleep(0.5)  # the hostile commands are running
        await admin_samples(loaded)
        done.set()
        await asyncio.gather(*hostile)
        await slack.close()
        return baseline, loaded
    finally:
        if stack is not None:
            await stack.stop()
        await fake.stop()
        redis.stop()
        made.cleanup()
        api.close()


def line(label: str, values: list[float]) -> str:
    if not values:
        return f"{label:<34} (none)"
    ms = sorted(v * 1000 for v in values)
    return f"{label:<34} n={len(ms):<4} p50 {statistics.median(ms):7.0f} ms   max {ms[-1]:7.0f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=40, help="admin ps commands per phase")
    parser.add_argument("--viewers", type=int, default=2, help="hostile viewers")
    parser.add_argument("--each", type=int, default=4, help="hostile commands each viewer keeps in flight")
    parser.add_argument("--inline", action="store_true", help="evaluate on the event loop (no pool)")
    parser.add_argument("--calibrate", action="store_true", help="time per work unit of the budget's prices")
    args = parser.parse_args(argv)
    if args.calibrate:
        calibrate()
        return 0
    baseline, loaded = asyncio.run(measure(args))
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    where = "on the event loop (--inline)" if args.inline else "inline within a slice, else in the pool"
    print(f"evaluation: {where}; {args.viewers} viewers x {args.each} hostile commands in flight; load {load}")
    print(line("admin ps, alone", baseline.admin))
    print(line("admin ps, while hostile templates run", loaded.admin))
    for words, count in (baseline.admin_failed + loaded.admin_failed).most_common():
        print(f"  {count:4} admin answers were not the table: {words}")
    print(line("hostile commands (answered)", loaded.hostile))
    for words, count in loaded.outcomes.most_common():
        print(f"  {count:4} answered: {words}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
