"""``docker push`` progress as the CLI shows it on a terminal (cli/command/image/push.go).

The engine's push events have the pull's shape (one line per layer with ``progressDetail``,
plain status lines between), so the same fold renders them (bot.cli_output.pull); what
differs is the first line (``Using default tag: latest`` for a name without a tag), how the
push ends (``TAG: digest: sha256:... size: N`` and an ``aux`` with the digest) and what the
bar counts (bytes pushed rather than downloaded and extracted).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.cli_output.formatters.reference import Reference, parse_normalized_named
from bot.cli_output.pull import DEFAULT_TAG, PullProgress, pull_reference

__all__ = ["PushProgress", "push_reference"]

_LAYER_DONE = ("Pushed", "Layer already exists", "Mounted from")


def push_reference(text: str) -> Reference:
    """The reference ``docker push TEXT`` pushes: the CLI's parsing and wording, ``latest`` by default."""
    return pull_reference(text)


@dataclass
class PushProgress:
    """Folds ``POST /images/{name}/push`` events into the terminal's view and a fraction."""

    reference: str
    quiet: bool = False
    digest: str | None = None
    _view: PullProgress = field(default_factory=PullProgress)
    _layers: dict[str, float] = field(default_factory=dict)
    _sizes: dict[str, int] = field(default_factory=dict)
    _name_only: bool = False

    def __post_init__(self) -> None:
        pull_reference(self.reference)  # the CLI's validation and words for a bad reference
        typed = parse_normalized_named(self.reference)
        self._name_only = not typed.tag and not typed.digest  # the CLI's reference.IsNameOnly

    @property
    def error(self) -> str | None:
        return self._view.error

    @property
    def done(self) -> bool:
        return self.digest is not None and self.error is None

    def feed(self, event: Mapping[str, Any]) -> None:
        aux = event.get("aux")
        if isinstance(aux, Mapping) and aux.get("Digest"):
            self.digest = str(aux["Digest"])
        self._view.feed(event)
        ident, status = str(event.get("id") or ""), str(event.get("status") or "")
        if not ident or "progressDetail" not in event:
            return
        detail = event.get("progressDetail") or {}
        if status == "Pushing" and int(detail.get("total") or 0) > 0:
            total = int(detail["total"])
            self._sizes[ident] = total
            self._layers[ident] = max(self._layers.get(ident, 0.0), min(int(detail.get("current") or 0) / total, 1.0))
        elif status.startswith(_LAYER_DONE):
            self._layers[ident] = 1.0
        else:
            self._layers.setdefault(ident, 0.0)

    @property
    def fraction(self) -> float:
        """0..1, layers weighted by size (an unknown size counts as the mean of the known ones)."""
        if self.done:
            return 1.0
        if not self._layers:
            return 0.0
        known = list(self._sizes.values())
        mean = sum(known) / len(known) if known else 1.0
        weights = {ident: self._sizes.get(ident, mean) for ident in self._layers}
        value = sum(weights[i] * f for i, f in self._layers.items()) / sum(weights.values())
        return min(value, 0.99)

    def lines(self) -> list[str]:
        head = [f"Using default tag: {DEFAULT_TAG}"] if self._name_only and not self.quiet else []
        return head + self._view.lines()

    def render(self) -> str:
        """The terminal's text so far (``-q``: nothing until the reference at the end)."""
        if self.quiet:
            return self.final_line() if self.done else ""
        return "\n".join(self.lines())

    def final_line(self) -> str:
        """``-q`` prints only the reference pushed, fully qualified, as the CLI does."""
        ref = pull_reference(self.reference)
        return f"{ref.name}:{ref.tag}" if ref.tag else ref.name
