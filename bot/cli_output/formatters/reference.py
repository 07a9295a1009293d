"""Image references as github.com/distribution/reference parses and "familiarises" them.

The CLI shows ``busybox:latest`` for ``docker.io/library/busybox:latest``, drops digests from
the IMAGE column and splits RepoTags into REPOSITORY and TAG with this grammar; a hand-rolled
``split(":")`` gets ``localhost:5000/app:1`` wrong, so the real grammar lives here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Reference", "ReferenceError", "parse_normalized_named", "truncate_id"]

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = _ALNUM + rf"(?:{_SEPARATOR}{_ALNUM})*"
_REMOTE_NAME = _PATH_COMPONENT + rf"(?:/{_PATH_COMPONENT})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = _DOMAIN_COMPONENT + rf"(?:\.{_DOMAIN_COMPONENT})*"
_HOST = rf"(?:{_DOMAIN_NAME}|\[(?:[a-fA-F0-9:]+)\])"
_DOMAIN_AND_PORT = _HOST + r"(?::[0-9]+)?"
_TAG = r"[0-9A-Za-z_][0-9A-Za-z_.-]{0,127}"  # Go's \w is ASCII-only
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"
_NAME = rf"(?:{_DOMAIN_AND_PORT}/)?{_REMOTE_NAME}"

_REFERENCE = re.compile(rf"({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?")
_ANCHORED_NAME = re.compile(rf"(?:({_DOMAIN_AND_PORT})/)?({_REMOTE_NAME})")
_IDENTIFIER = re.compile(r"[a-f0-9]{64}")
_DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}

DEFAULT_DOMAIN = "docker.io"
_LEGACY_DOMAIN = "index.docker.io"
_OFFICIAL_PREFIX = "library/"
_NAME_MAX = 255


class ReferenceError(ValueError):
    """Not a valid image reference (the CLI then falls back to the raw string)."""


@dataclass(frozen=True)
class Reference:
    domain: str
    path: str
    tag: str = ""
    digest: str = ""

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}" if self.domain else self.path

    def familiar_name(self) -> str:
        """``docker.io/library/redis`` -> ``redis``; ``docker.io/me/app`` -> ``me/app``."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        path = self.path
        if path.startswith(_OFFICIAL_PREFIX) and "/" not in path[len(_OFFICIAL_PREFIX) :]:
            path = path[len(_OFFICIAL_PREFIX) :]
        return path

    def familiar_string(self) -> str:
        text = self.familiar_name()
        if self.tag:
            text += ":" + self.tag
        if self.digest:
            text += "@" + self.digest
        return text


def _split_docker_domain(name: str) -> tuple[str, str]:
    maybe_domain, slash, maybe_remote = name.partition("/")
    if not slash:
        return DEFAULT_DOMAIN, _OFFICIAL_PREFIX + name
    if maybe_domain == "localhost":
        domain, remote = maybe_domain, maybe_remote
    elif maybe_domain == _LEGACY_DOMAIN:
        domain, remote = DEFAULT_DOMAIN, maybe_remote
    elif any(c in maybe_domain for c in ".:") or maybe_domain.lower() != maybe_domain:
        domain, remote = maybe_domain, maybe_remote
    else:
        domain, remote = DEFAULT_DOMAIN, name
    if domain == DEFAULT_DOMAIN and "/" not in remote:
        remote = _OFFICIAL_PREFIX + remote
    return domain, remote


def _check_digest(digest: str) -> None:
    algorithm, _, encoded = digest.partition(":")
    length = _DIGEST_LENGTHS.get(algorithm)
    if length is None:
        raise ReferenceError("unsupported digest algorithm")
    if len(encoded) != length or not re.fullmatch(r"[a-f0-9]+", encoded):
        raise ReferenceError("invalid checksum digest format")


def parse(text: str) -> Reference:
    """``reference.Parse``: the full grammar, no normalisation."""
    if not text:
        raise ReferenceError("repository name must have at least one component")
    match = _REFERENCE.fullmatch(text)
    if match is None:
        if text.lower() != text and _REFERENCE.fullmatch(text.lower()):
            raise ReferenceError("repository name must be lowercase")
        raise ReferenceError("invalid reference format")
    name_match = _ANCHORED_NAME.fullmatch(match.group(1))
    domain, path = (name_match.group(1) or "", name_match.group(2)) if name_match else ("", match.group(1))
    if len(path) > _NAME_MAX:
        raise ReferenceError(f"repository name must not be more than {_NAME_MAX} characters")
    digest = match.group(3) or ""
    if digest:
        _check_digest(digest)
    return Reference(domain, path, match.group(2) or "", digest)


def parse_normalized_named(text: str) -> Reference:
    """``reference.ParseNormalizedNamed``: "busybox" -> docker.io/library/busybox."""
    if _IDENTIFIER.fullmatch(text):
        raise ReferenceError(f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings")
    domain, remainder = _split_docker_domain(text)
    remote = remainder.partition(":")[0]
    if remote.lower() != remote:
        raise ReferenceError(f"invalid reference format: repository name ({remote}) must be lowercase")
    return parse(f"{domain}/{remainder}")


def truncate_id(image_or_container_id: str) -> str:
    """docker's ``TruncateID``: drop an ``algo:`` prefix, keep 12 characters."""
    _, colon, rest = image_or_container_id.partition(":")
    text = rest if colon else image_or_container_id
    return text[:12]
