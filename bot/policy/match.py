"""Glob patterns, container names and image references, matched exactly.

Globs are translated to regular expressions by hand rather than with ``fnmatch``
so that a bad pattern (unclosed ``[``, reversed range, a character that can
never occur in the field) is a config error instead of a silent never-match,
and so that matching is always case-sensitive and code-point exact: a Cyrillic
``а`` in a container name never matches a pattern written with a Latin ``a``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Literal characters a pattern may contain, per field (glob metacharacters aside).
NAME_CHARS = "A-Za-z0-9_.-"  # docker container names
HOST_CHARS = "A-Za-z0-9_.:-"
IMAGE_CHARS = "A-Za-z0-9_.:/@-"

# docker's own rule for container names (daemon/names.go): at least two characters.
_CONTAINER_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")


class GlobError(ValueError):
    """A pattern that cannot be used; the message says why."""


@dataclass(frozen=True)
class Glob:
    pattern: str
    regex: re.Pattern[str]

    def matches(self, value: str) -> bool:
        return self.regex.fullmatch(value) is not None

    def __str__(self) -> str:
        return self.pattern


def _check_chars(pattern: str, chars: str | None) -> None:
    if not pattern:
        raise GlobError("empty pattern")
    if chars is None:
        if not pattern.isprintable():
            raise GlobError(f"pattern {pattern!r} contains control characters")
        return
    allowed = re.compile(f"[*?\\[\\]!^{chars}]")  # chars last: they end with a literal "-"
    for c in pattern:
        if not allowed.fullmatch(c):
            why = "non-ASCII" if ord(c) > 127 else "not allowed here"
            raise GlobError(f"pattern {pattern!r}: character {c!r} is {why}")


def _class(pattern: str, start: int) -> tuple[str, int]:
    """Translate the ``[...]`` class opening at ``start``; returns (regex, index after it)."""
    j = start + 1
    negate = j < len(pattern) and pattern[j] in "!^"
    if negate:
        j += 1
    body_start = j
    if j < len(pattern) and pattern[j] == "]":
        j += 1  # a leading ] is literal, as in fnmatch
    while j < len(pattern) and pattern[j] != "]":
        j += 1
    if j >= len(pattern):
        raise GlobError(f"pattern {pattern!r}: unclosed '['")
    body = pattern[body_start:j]
    # Escape what Python's re would read as nested sets or set operations.
    body = re.sub(r"([\\\[&~|])", r"\\\1", body)
    return "[" + ("^" if negate else "") + body + "]", j + 1


def compile_glob(pattern: str, *, chars: str | None, segments: bool = False) -> Glob:
    """``*``, ``?`` and ``[...]``; with ``segments`` a ``*`` stays within one ``/`` segment and ``**`` crosses them."""
    _check_chars(pattern, chars)
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            if segments and pattern[i + 1 : i + 2] == "*":
                out.append(".*")
                i += 2
                continue
            out.append("[^/]*" if segments else ".*")
        elif c == "?":
            out.append("[^/]" if segments else ".")
        elif c == "[":
            part, i = _class(pattern, i)
            out.append(part)
            continue
        else:
            out.append(re.escape(c))
        i += 1
    try:
        regex = re.compile("(?s:" + "".join(out) + ")")
    except re.error as err:
        raise GlobError(f"pattern {pattern!r}: {err}") from None
    return Glob(pattern, regex)


def container_name(name: str) -> str | None:
    """The name docker would show (no leading ``/``), or None if docker could never have such a name.

    Names outside docker's character set (globs, spaces, look-alike letters) are
    not real container names, so they must never match a policy glob.
    """
    bare = name[1:] if name.startswith("/") else name
    return bare if _CONTAINER_NAME.fullmatch(bare) else None


# --- image references (grammar of distribution/reference) -------------------------

_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?"
_PATH = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(
    rf"(?P<name>(?:{_DOMAIN}/)?{_PATH}(?:/{_PATH})*)(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?"
)
_HEX64 = re.compile(r"[a-f0-9]{64}")
DEFAULT_DOMAIN = "docker.io"


def _is_domain(first: str) -> bool:
    # docker's splitDockerDomain: a first component is a registry if it looks like a host.
    return "." in first or ":" in first or first == "localhost" or first != first.lower()


def normalize_repository(name: str) -> str:
    """``busybox`` -> ``docker.io/library/busybox``; ``index.docker.io`` is docker.io too."""
    first, slash, rest = name.partition("/")
    if slash and _is_domain(first):
        domain, path = first, rest
    else:
        domain, path = DEFAULT_DOMAIN, name
    if domain == "index.docker.io":
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = "library/" + path
    return f"{domain}/{path}"


@dataclass(frozen=True)
class ImageRef:
    repository: str  # always with its registry: docker.io/library/busybox
    tag: str | None
    digest: str | None

    def __str__(self) -> str:
        text = self.repository
        if self.tag:
            text += ":" + self.tag
        if self.digest:
            text += "@" + self.digest
        return text


def parse_image(reference: str) -> ImageRef | None:
    """The normalized reference docker would use, or None if docker would reject it."""
    m = _REFERENCE.fullmatch(reference)
    if m is None or _HEX64.fullmatch(reference):
        return None  # invalid, or a bare image ID (not a name a policy can match)
    tag, digest = m["tag"], m["digest"]
    if tag is None and digest is None:
        tag = "latest"
    return ImageRef(normalize_repository(m["name"]), tag, digest)


@dataclass(frozen=True)
class ImagePattern:
    """A pattern over image references.

    ``busybox`` matches every tag of docker.io/library/busybox; ``busybox:1.36``
    only that tag; ``registry.example.com/payments/*`` every repository one level
    below payments (``**`` for any depth); ``*`` matches everything.
    """

    text: str
    repository: Glob | None  # None: any image
    tag: Glob | None
    digest: str | None

    def matches(self, ref: ImageRef) -> bool:
        if self.repository is None:
            return True
        if not self.repository.matches(ref.repository):
            return False
        if self.tag is not None and (ref.tag is None or not self.tag.matches(ref.tag)):
            return False
        return self.digest is None or ref.digest == self.digest


def compile_image_pattern(text: str) -> ImagePattern:
    _check_chars(text, IMAGE_CHARS)
    if text in ("*", "**"):
        return ImagePattern(text, None, None, None)
    rest, at, digest = text.partition("@")
    if at and not re.fullmatch(_DIGEST, digest):
        raise GlobError(f"pattern {text!r}: {digest!r} is not a digest (algorithm:hex)")
    tag_pattern: str | None = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag_pattern = rest[:colon], rest[colon + 1 :]
    first = rest.split("/", 1)[0]
    if "/" not in rest or not any(c in first for c in "*?["):
        rest = normalize_repository(rest)
    path = rest.split("/", 1)[1] if "/" in rest else rest
    if path != path.lower():
        raise GlobError(f"pattern {text!r}: repository names are lower-case (docker refuses {path!r})")
    repository = compile_glob(rest, chars=IMAGE_CHARS, segments=True)
    tag = compile_glob(tag_pattern, chars=IMAGE_CHARS) if tag_pattern is not None else None
    return ImagePattern(text, repository, tag, digest if at else None)
