"""The policy's ``on:`` selectors for other parts of the config (notification routes, what is watched).

One grammar and one matcher for "which containers": a route written ``on: {labels: {team:
payments}}`` selects exactly the containers a role with the same ``on:`` would cover.
"""

from __future__ import annotations

from bot.policy.evaluate import _selects
from bot.policy.loader import Lines, Path, Problem, _Checker
from bot.policy.model import Selector, Target


class SectionChecker(_Checker):
    """The policy loader's checker for another section: every problem kept, each with its line."""

    def __init__(self, source: str, lines: Lines, prefix: Path) -> None:
        super().__init__(source, lines, prefix)

    @property
    def found(self) -> list[Problem]:
        return self.problems


def covers(selector: Selector, host: str, target: Target) -> bool:
    """Does ``selector`` cover ``target`` on ``host``, as a role's ``on:`` would?"""
    return _selects(selector, host, target, untargeted_ok=False)
