"""A few Prometheus metrics in the text exposition format; small enough not to need a client library."""

from __future__ import annotations

import bisect
from collections import defaultdict

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _labels(pairs: tuple[tuple[str, str], ...]) -> str:
    if not pairs:
        return ""
    inner = ",".join(f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"' for k, v in pairs)
    return "{" + inner + "}"


class Counter:
    def __init__(self, name: str, help_text: str) -> None:
        self.name, self.help = name, help_text
        self.values: dict[tuple[tuple[str, str], ...], float] = defaultdict(float)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        self.values[tuple(sorted(labels.items()))] += amount

    def expose(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        lines += [f"{self.name}{_labels(k)} {v:g}" for k, v in sorted(self.values.items())]
        return lines


class Histogram:
    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...] = _BUCKETS) -> None:
        self.name, self.help, self.buckets = name, help_text, buckets
        self.counts: dict[tuple[tuple[str, str], ...], list[int]] = {}
        self.sums: dict[tuple[tuple[str, str], ...], float] = defaultdict(float)

    def observe(self, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        counts = self.counts.setdefault(key, [0] * (len(self.buckets) + 1))
        counts[bisect.bisect_left(self.buckets, value)] += 1
        self.sums[key] += value

    def expose(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        for key, counts in sorted(self.counts.items()):
            running = 0
            for bound, n in zip((*self.buckets, float("inf")), counts, strict=True):
                running += n
                le = "+Inf" if bound == float("inf") else f"{bound:g}"
                lines.append(f"{self.name}_bucket{_labels((*key, ('le', le)))} {running}")
            lines.append(f"{self.name}_sum{_labels(key)} {self.sums[key]:.6f}")
            lines.append(f"{self.name}_count{_labels(key)} {running}")
        return lines


class Metrics:
    def __init__(self) -> None:
        self.commands = Counter("dockbell_commands_total", "Slash commands handled, by command and outcome")
        self.command_seconds = Histogram("dockbell_command_seconds", "Time from request to answer delivered")
        self.slack_errors = Counter("dockbell_slack_errors_total", "Failed Slack API calls, by method")
        self.down = Counter("dockbell_dependency_down_total", "Health checks that found a dependency down")

    def expose(self) -> str:
        lines: list[str] = []
        for metric in (self.commands, self.command_seconds, self.slack_errors, self.down):
            lines += metric.expose()
        return "\n".join(lines) + "\n"
