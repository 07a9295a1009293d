"""Hide secret-looking values in what dockbell shows.

An environment variable whose name looks secret (``*TOKEN*``, ``*SECRET*``,
``*PASSWORD*``, ``*KEY*``, ...) has its value replaced, and that value is then
replaced wherever else it shows up (a command line, a log line), because a secret
leaks just as well from ``Args`` as from ``Env``.  Passwords inside URLs
(``postgres://user:pw@db``) are hidden too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MASK = "[REDACTED]"
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|KEY|CREDENTIAL|PRIVATE", re.IGNORECASE)
# The lookbehind makes a scheme start only where a word does: without it, every position of a
# long run of letters starts a match attempt that scans to the run's end (quadratic in the run).
_URL_PASSWORD = re.compile(
    r"(?<![a-zA-Z0-9+.-])(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]+:)(?P<pw>[^@\s/]+)(?P<at>@)"
)
# Short values ("1", "yes") would turn unrelated text into noise if masked everywhere.
MIN_SECRET_LENGTH = 4


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        ordered = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(s) for s in ordered)) if ordered else None

    @classmethod
    def from_env(cls, env: Iterable[str] | None) -> Redactor:
        return cls(value for name, value in _split_env(env or ()) if value and SECRET_NAME.search(name))

    def text(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        if "://" not in text:
            return text
        return _URL_PASSWORD.sub(lambda m: m["head"] + MASK + m["at"], text)

    def env(self, env: list[str]) -> list[str]:
        out = []
        for name, value in _split_env(env):
            if value is None:
                out.append(name)
            elif SECRET_NAME.search(name):
                out.append(f"{name}={MASK}")
            else:
                out.append(f"{name}={self.text(value)}")
        return out

    def document(self, doc: Any) -> Any:
        """A copy of an inspect document with Env entries and every secret occurrence masked."""
        if isinstance(doc, dict):
            return {k: self.env(v) if k == "Env" and isinstance(v, list) else self.document(v) for k, v in doc.items()}
        if isinstance(doc, list):
            return [self.document(v) for v in doc]
        if isinstance(doc, str):
            return self.text(doc)
        return doc


def _split_env(env: Iterable[str]) -> Iterable[tuple[str, str | None]]:
    for entry in env:
        name, eq, value = entry.partition("=")
        yield name, (value if eq else None)
