"""How long splitting one long word takes: dockbell's splitter beside shlex.split (issue 8, item 7).

    python -m bench.tokenize [--sizes 1M,4M] [--shlex-max 256K]

For each size and each kind of word (plain letters, backslash escapes, a double-quoted
word with escaped quotes, many short words) it times ``dispatch.read`` (Slack unescaping,
smart quotes, the split and the echo's re-quoting: everything a worker does to a command
line) and ``shellwords.split`` alone, best of three.  shlex.split is timed only up to
``--shlex-max``, since it is quadratic (a 1 MB word took 19 s); pass ``--shlex-max 1M`` to
see that.  The last column is time per MB: flat across sizes means linear.
"""

from __future__ import annotations

import argparse
import shlex
import time
from collections.abc import Callable

from bot.core import dispatch, shellwords

KINDS: dict[str, str] = {
    "plain": "x",
    "escapes": "a\\b",
    "double-quoted": '"a\\"b"',
    "words": "ab ",
}


def size(text: str) -> int:
    scale = {"K": 1 << 10, "M": 1 << 20}
    return int(text[:-1]) * scale[text[-1].upper()] if text[-1].upper() in scale else int(text)


def best_of(runs: int, work: Callable[[str], object], line: str) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work(line)
        times.append(time.perf_counter() - started)
    return min(times)


def line_of(kind: str, n: int) -> str:
    unit = KINDS[kind]
    if kind == "double-quoted":  # one quoted word: "a\"ba\"b..."
        inner = 'a\\"b'
        return '"' + inner * (n // len(inner)) + '"'
    return unit * (n // len(unit))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="256K,1M,4M")
    parser.add_argument("--shlex-max", default="256K")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sizes = [size(s) for s in args.sizes.split(",")]
    shlex_max = size(args.shlex_max)
    print(f"{'kind':<14} {'size':>8} {'what':<16} {'seconds':>9} {'s per MB':>9}")
    for kind in KINDS:
        for n in sizes:
            line = line_of(kind, n)
            mb = len(line) / (1 << 20)
            rows: list[tuple[str, Callable[[str], object]]] = [
                ("dispatch.read", lambda text: dispatch.read(text).shown),
                ("shellwords", shellwords.split),
            ]
            if n <= shlex_max:
                rows.append(("shlex.split", lambda text: shlex.split(text, comments=False, posix=True)))
            for what, work in rows:
                runs = 1 if what == "shlex.split" else args.runs
                seconds = best_of(runs, work, line)
                print(f"{kind:<14} {n >> 10:>7}K {what:<16} {seconds:>9.3f} {seconds / mb:>9.3f}")


if __name__ == "__main__":
    main()
