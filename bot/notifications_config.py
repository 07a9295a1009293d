"""The ``notifications:`` section of the YAML config: where crash notifications go, and how noisy they may be.

Validated like the policy: every problem is reported at once, each with its file, line and
key.  Without the section there is no watcher (nothing is posted anywhere).  docs/notifications.md
documents every key; config/dockbell.yml carries a commented example.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.errors import ConfigError
from bot.policy.loader import Lines, Problem
from bot.policy.model import Selector
from bot.policy.selector import SectionChecker

KEYS = (
    "channel",
    "routes",
    "log_lines",
    "watch",
    "exit_zero",
    "unhealthy_after",
    "unhealthy_checks",
    "loop_window",
    "breaker",
    "recovered_after",
    "burst",
    "host_down_after",
)
ROUTE_KEYS = ("on", "channel")
BREAKER_KEYS = ("crashes", "within")
RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")
_CHANNEL = re.compile(r"[CGD][A-Z0-9_]{2,}")
MAX_LOG_LINES = 200


@dataclass(frozen=True)
class Route:
    on: Selector
    channel: str


@dataclass(frozen=True)
class Breaker:
    """After ``crashes`` crashes within ``within_seconds`` under restart always/unless-stopped: a loop."""

    crashes: int = 5
    within_seconds: int = 600


@dataclass(frozen=True)
class NotificationsConfig:
    channel: str
    routes: tuple[Route, ...] = ()
    log_lines: int = 20
    watch: Selector = field(default_factory=Selector)  # only these containers (default: all)
    # Restart policies under which a clean exit (0) is a crash: the container was meant to keep running.
    exit_zero: frozenset[str] = frozenset({"always", "unless-stopped"})
    # Unhealthy is reported once it has lasted this long, or this many checks failed in a row.
    unhealthy_after_seconds: int = 30
    unhealthy_checks: int = 3
    # Crashes of one container within this window update one message (a crash loop).
    loop_window_seconds: int = 600
    breaker: Breaker = field(default_factory=Breaker)
    # Running this long after its last crash (or healthy again): recovered.
    recovered_after_seconds: int = 60
    # This many new incidents waiting for one channel's next message become one summary.
    burst: int = 3
    # A host whose workers have all missed their heartbeats this long gets one "unreachable" alert.
    host_down_after_seconds: int = 15

    @property
    def channels(self) -> list[str]:
        return list(dict.fromkeys([self.channel, *(r.channel for r in self.routes)]))


_DURATION = re.compile(r"(?:\d+[smhd])+")
_PART = re.compile(r"(\d+)([smhd])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class _Section:
    def __init__(self, checker: SectionChecker) -> None:
        self.c = checker

    def channel(self, value: object, path: tuple[str | int, ...]) -> str:
        if isinstance(value, str) and _CHANNEL.fullmatch(value):
            return value
        self.c.error(path, f"expected a Slack channel ID like C0ALERTS (IDs: names can change); got {value!r}")
        return "C_INVALID"

    def whole(self, value: object, path: tuple[str | int, ...], low: int, high: int) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            return value
        self.c.error(path, f"expected a whole number from {low} to {high}; got {value!r}")
        return low

    def seconds(self, value: object, path: tuple[str | int, ...], high: int = 7 * 86400) -> int:
        seconds = 0
        if isinstance(value, int) and not isinstance(value, bool):
            seconds = value
        elif isinstance(value, str) and _DURATION.fullmatch(value.strip()):
            seconds = sum(int(n) * _SECONDS[u] for n, u in _PART.findall(value))
        if 0 < seconds <= high:
            return seconds
        self.c.error(path, f"expected a duration such as 30s, 10m or 1h (up to {high} s); got {value!r}")
        return 1

    def policies(self, value: object, path: tuple[str | int, ...]) -> frozenset[str]:
        if not isinstance(value, list):
            self.c.error(path, f"expected a list of restart policies ({', '.join(RESTART_POLICIES)}); got {value!r}")
            return frozenset()
        out: set[str] = set()
        for i, item in enumerate(value):
            if item in RESTART_POLICIES:
                out.add(str(item))
            else:
                self.c.error((*path, i), f"unknown restart policy {item!r}; one of {', '.join(RESTART_POLICIES)}")
        return frozenset(out)

    def routes(self, value: object, path: tuple[str | int, ...]) -> tuple[Route, ...]:
        if not isinstance(value, list):
            self.c.error(path, f"expected a list of {{on: ..., channel: ...}}; got {value!r}")
            return ()
        out = []
        for i, item in enumerate(value):
            where = (*path, i)
            spec = self.c.mapping(item, where, ROUTE_KEYS)
            if spec is None:
                continue
            missing = [k for k in ROUTE_KEYS if k not in spec]
            if missing:
                self.c.error(where, f"a route needs {' and '.join(missing)}")
                continue
            out.append(
                Route(self.c.selector(spec["on"], (*where, "on")), self.channel(spec["channel"], (*where, "channel")))
            )
        return tuple(out)

    def breaker(self, value: object, path: tuple[str | int, ...]) -> Breaker:
        spec = self.c.mapping(value, path, BREAKER_KEYS)
        if spec is None:
            return Breaker()
        d = Breaker()
        return Breaker(
            crashes=self.whole(spec.get("crashes", d.crashes), (*path, "crashes"), 2, 1000),
            within_seconds=self.seconds(spec.get("within", d.within_seconds), (*path, "within")),
        )


def parse_notifications(
    data: object, source: str, lines: Lines | None = None, prefix: tuple[str, ...] = ("notifications",)
) -> NotificationsConfig | None:
    """The section as config; None when it is absent.  Raises ConfigError naming every problem."""
    if data is None:
        return None
    checker = SectionChecker(source, lines or {}, prefix)
    s = _Section(checker)
    spec = checker.mapping(data, (), KEYS)
    if spec is None:
        raise _error(source, checker.found)
    if "channel" not in spec:
        checker.error((), "channel is required: the default channel for crash notifications")
    d = NotificationsConfig(channel="")
    get: Mapping[str, Any] = spec
    config = NotificationsConfig(
        channel=s.channel(get["channel"], ("channel",)) if "channel" in get else "C_INVALID",
        routes=s.routes(get["routes"], ("routes",)) if "routes" in get else (),
        log_lines=s.whole(get.get("log_lines", d.log_lines), ("log_lines",), 0, MAX_LOG_LINES),
        watch=checker.selector(get["watch"], ("watch",)) if "watch" in get else Selector(),
        exit_zero=s.policies(get["exit_zero"], ("exit_zero",)) if "exit_zero" in get else d.exit_zero,
        unhealthy_after_seconds=s.seconds(get.get("unhealthy_after", d.unhealthy_after_seconds), ("unhealthy_after",)),
        unhealthy_checks=s.whole(get.get("unhealthy_checks", d.unhealthy_checks), ("unhealthy_checks",), 1, 100),
        loop_window_seconds=s.seconds(get.get("loop_window", d.loop_window_seconds), ("loop_window",)),
        breaker=s.breaker(get["breaker"], ("breaker",)) if "breaker" in get else d.breaker,
        recovered_after_seconds=s.seconds(get.get("recovered_after", d.recovered_after_seconds), ("recovered_after",)),
        burst=s.whole(get.get("burst", d.burst), ("burst",), 2, 50),
        host_down_after_seconds=s.seconds(get.get("host_down_after", d.host_down_after_seconds), ("host_down_after",)),
    )
    if checker.found:
        raise _error(source, checker.found)
    return config


class NotificationsConfigError(ConfigError):
    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.problems = problems
        count = len(problems)
        head = f"{source}: {count} problem{'s' if count != 1 else ''} in notifications:"
        super().__init__("\n".join([head, *("  " + p.render(source) for p in problems)]))


def _error(source: str, problems: list[Problem]) -> NotificationsConfigError:
    return NotificationsConfigError(source, problems)
