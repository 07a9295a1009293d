"""Pure helpers for the Docker side of jobs: image references and pull progress.

No I/O here: the gateway streams the engine's events, the job worker feeds them to
:class:`PullProgress`, and Slack shows what it renders. The rendering follows the docker CLI
on a terminal (``cli/cli/command/image/pull.go`` and ``moby/pkg/jsonmessage``): one line per
layer, redrawn in place, so the finished text is what ``docker pull`` leaves on the screen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.cli_output.formatters.reference import Reference, ReferenceError, parse_normalized_named
from bot.cli_output.units import human_size
from bot.errors import NotAvailableYet, ParseError

__all__ = ["DEFAULT_TAG", "PullProgress", "parse_image_ref", "pull_reference"]

DEFAULT_TAG = "latest"
_ALL_TAGS = ("-a", "--all-tags")


def _is_all_tags(text: str) -> bool:
    if text in _ALL_TAGS or text.startswith("--all-tags="):
        return True
    # A shorthand cluster such as -qa: pflag reads it as -q -a.
    return text.startswith("-") and not text.startswith("--") and "a" in text[1:].partition("=")[0]


def _parse(text: str) -> Reference:
    if _is_all_tags(text):
        raise NotAvailableYet("`pull --all-tags` is not available yet: pull one tag at a time")
    if text.startswith("-"):
        # Flags are the CLI parser's business; a word that still starts with "-" here is no
        # reference (the CLI says the same of `docker pull -- -x`).
        raise ParseError("invalid reference format")
    try:
        return parse_normalized_named(text)
    except ReferenceError as err:
        # The CLI's own words: "invalid reference format", "invalid reference format:
        # repository name (library/Busybox) must be lowercase".
        raise ParseError(str(err)) from None


def pull_reference(text: str) -> Reference:
    """The reference ``docker pull TEXT`` pulls, normalised as the CLI does.

    ``busybox`` -> ``docker.io/library/busybox:latest``. The tag is only defaulted when there
    is no digest either: ``name@sha256:...`` pulls that digest, and ``name:tag@digest`` pulls
    the digest (the engine ignores the tag), as docker does.
    """
    ref = _parse(text)
    if not ref.tag and not ref.digest:
        ref = Reference(ref.domain, ref.path, DEFAULT_TAG)
    return ref


def parse_image_ref(text: str) -> tuple[str, str]:
    """``(repository, tag)`` for the Engine API's ``fromImage``/``tag``.

    The tag defaults to ``latest`` (never all tags); for a reference with a digest the "tag" is
    the digest, which is how the API takes it. The repository keeps the familiar spelling
    (``busybox``, ``127.0.0.1:5000/team/app``), which the engine normalises the same way.
    """
    ref = pull_reference(text)
    return ref.familiar_name(), ref.digest or ref.tag


def _cli_reference_line(text: str) -> str:
    # The CLI ends a pull with the reference it pulled, fully qualified:
    # ``docker.io/library/busybox:latest``, ``127.0.0.1:5000/app:v1@sha256:...``.
    ref = pull_reference(text)
    out = ref.name
    if ref.tag:
        out += ":" + ref.tag
    if ref.digest:
        out += "@" + ref.digest
    return out


def progress_bar(current: int, total: int) -> str:
    """``JSONProgress.String()`` on a wide terminal: ``[=====>     ]  17.53MB/20.98MB``.

    The pull events carry no start time, so there is never a time-left box; ``units`` and
    ``hidecounts`` are not used by pulls.
    """
    if current <= 0 and total <= 0:
        return ""
    if total <= 0:
        return f"{human_size(current, 4):>8}"
    percentage = min(int(current / total * 100) // 2, 50)
    bar = "[" + "=" * percentage + ">" + " " * (50 - percentage) + "] "
    numbers = f"{human_size(current, 4):>8}"
    if current <= total:
        numbers += "/" + human_size(total, 4)
    return bar + numbers


# How much of a layer's share of the bar each phase is worth. Downloading is most of the
# wait over a real network; extracting is local disk work.
_DOWNLOAD_SHARE = 0.75
_DONE = frozenset({"Already exists", "Pull complete"})
_DOWNLOADED = frozenset({"Verifying Checksum", "Download complete"})


@dataclass
class LayerState:
    """The latest event of one layer (keyed by its short id) and what it means for the bar."""

    id: str
    status: str
    current: int = 0
    total: int = 0
    size: int = 0  # the layer's size, learnt from its first Downloading event
    fraction: float = 0.0

    def update(self, status: str, detail: Mapping[str, Any]) -> None:
        self.status = status
        self.current = int(detail.get("current") or 0)
        self.total = int(detail.get("total") or 0)
        if status == "Downloading" and self.total > 0:
            self.size = self.total
            self.fraction = max(self.fraction, _DOWNLOAD_SHARE * min(self.current / self.total, 1.0))
        elif status in _DOWNLOADED:
            self.fraction = max(self.fraction, _DOWNLOAD_SHARE)
        elif status == "Extracting" and self.total > 0:
            self.size = self.size or self.total
            extracted = min(self.current / self.total, 1.0)
            self.fraction = max(self.fraction, _DOWNLOAD_SHARE + (1 - _DOWNLOAD_SHARE) * extracted)
        elif status in _DONE:
            self.fraction = 1.0

    def line(self) -> str:
        bar = progress_bar(self.current, self.total)
        return f"{self.id}: {self.status} {bar}".rstrip()


@dataclass
class _Row:
    text: str = ""
    layer: LayerState | None = None

    def render(self) -> str:
        return self.layer.line() if self.layer else self.text


@dataclass
class PullProgress:
    """Folds the engine's pull events into the CLI's terminal view and an overall fraction.

    ``reference`` is the text the user typed after ``pull``; with it, the view starts with
    ``Using default tag: latest`` when the CLI would print it and ends with the reference line
    the CLI prints after a successful pull.
    """

    reference: str | None = None
    error: str | None = None
    digest: str | None = None
    status: str | None = None
    events: int = 0
    _rows: list[_Row] = field(default_factory=list)
    # Like the CLI: only the layers since the last line without progress are redrawn in
    # place; a later line without progress starts a fresh group.
    _group: dict[str, _Row] = field(default_factory=dict)
    _layers: dict[str, LayerState] = field(default_factory=dict)
    _fraction: float = 0.0

    def __post_init__(self) -> None:
        if self.reference is not None:
            ref = _parse(self.reference)
            if not ref.tag and not ref.digest:  # the CLI's reference.IsNameOnly
                self._rows.append(_Row(f"Using default tag: {DEFAULT_TAG}"))

    def feed(self, event: Mapping[str, Any]) -> None:
        """Take one decoded event of ``POST /images/create``."""
        self.events += 1
        if "error" in event:
            # The CLI stops at the first error and prints only its message.
            self.error = str(event.get("error") or event.get("errorDetail", {}).get("message", ""))
            return
        if "aux" in event and "status" not in event:
            return
        status = str(event.get("status") or "")
        ident = str(event.get("id") or "")
        if status.startswith("Digest: "):
            self.digest = status[len("Digest: ") :]
        elif status.startswith("Status: "):
            self.status = status
        if ident and "progressDetail" in event:
            row = self._group.get(ident)
            if row is None:
                # A new line, even for an id seen in an earlier group: the CLI leaves that
                # older line as it was.
                layer = self._layers[ident] = LayerState(ident, status)
                row = self._group[ident] = _Row(layer=layer)
                self._rows.append(row)
            assert row.layer is not None
            row.layer.update(status, event.get("progressDetail") or {})
        else:
            self._group = {}
            self._rows.append(_Row(f"{ident}: {status}" if ident else status))

    @property
    def done(self) -> bool:
        """The engine said how it ended (``Status: Downloaded newer image ...`` or up to date)."""
        return self.status is not None and self.error is None

    @property
    def updated(self) -> bool:
        return bool(self.status and self.status.startswith("Status: Downloaded newer image"))

    @property
    def layers(self) -> list[LayerState]:
        return list(self._layers.values())

    @property
    def fraction(self) -> float:
        """0..1 for a progress bar, weighting layers by size.

        Layers that already exist cost this pull nothing and are left out. A layer's size is
        known from its first Downloading event; until then it counts as the mean known size.
        It never moves backwards: a newly learnt size may shift the weights, but a bar that
        shrinks reads as a fault.
        """
        if self.done:
            return 1.0
        layers = [layer for layer in self.layers if layer.status != "Already exists"]
        if layers:
            sizes = [layer.size for layer in layers if layer.size > 0]
            mean = sum(sizes) / len(sizes) if sizes else 1.0
            weights = [layer.size or mean for layer in layers]
            value = sum(w * layer.fraction for w, layer in zip(weights, layers, strict=True)) / sum(weights)
            self._fraction = max(self._fraction, min(value, 0.99))
        return self._fraction

    def lines(self) -> list[str]:
        out = [row.render() for row in self._rows]
        if self.done and self.reference is not None:
            out.append(_cli_reference_line(self.reference))
        return out

    def render(self) -> str:
        """The text the CLI's terminal shows at this point (errors are not part of it)."""
        return "\n".join(self.lines())
