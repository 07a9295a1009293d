"""Globs, container names, image references and capability patterns match exactly."""

from __future__ import annotations

import pytest

from bot.policy.caps import normalize_capability, parse_cap_pattern, touches_docker_socket
from bot.policy.match import (
    HOST_CHARS,
    NAME_CHARS,
    GlobError,
    compile_glob,
    compile_image_pattern,
    container_name,
    parse_image,
)


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("web-*", "web-1", True),
        ("web-*", "web-", True),
        ("web-*", "Web-1", False),  # case-sensitive, like docker names
        ("web-*", "wеb-1", False),  # Cyrillic е
        ("web-?", "web-12", False),
        ("web-[0-9]", "web-7", True),
        ("web-[!0-9]", "web-7", False),
        ("db-[]x]", "db-]", True),
        ("a[&&b]", "a&", True),  # not a Python set operation
        ("*", "anything", True),
    ],
)
def test_globs(pattern: str, value: str, expected: bool) -> None:
    assert compile_glob(pattern, chars=None).matches(value) is expected


@pytest.mark.parametrize("pattern", ["", "web-[", "web-[z-a]", "wеb-*", "web name", "web/*", "we\\b"])
def test_bad_globs_are_errors(pattern: str) -> None:
    with pytest.raises(GlobError):
        compile_glob(pattern, chars=NAME_CHARS)


def test_host_globs() -> None:
    assert compile_glob("prod-*", chars=HOST_CHARS).matches("prod-eu-1")
    assert not compile_glob("prod-*", chars=HOST_CHARS).matches("staging")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("/web-1", "web-1"),
        ("web-1", "web-1"),
        ("web-*", None),
        ('"web-1"', None),
        ("wеb-1", None),
        ("w", None),  # docker needs two characters
        ("//web", None),
        ("", None),
    ],
)
def test_container_names(name: str, expected: str | None) -> None:
    assert container_name(name) == expected


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("busybox", "docker.io/library/busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36"),
        ("library/busybox", "docker.io/library/busybox:latest"),
        ("docker.io/busybox", "docker.io/library/busybox:latest"),
        ("index.docker.io/library/busybox", "docker.io/library/busybox:latest"),
        ("me/app", "docker.io/me/app:latest"),
        ("localhost/app", "localhost/app:latest"),
        ("registry:5000/app:v1", "registry:5000/app:v1"),
        ("busybox@sha256:" + "a" * 64, "docker.io/library/busybox@sha256:" + "a" * 64),
        ("BusyBox", None),
        ("a" * 64, None),  # an image ID is not a name
        ("busybox ", None),
        ("bus​ybox", None),  # zero-width space
        ("", None),
    ],
)
def test_image_references(reference: str, expected: str | None) -> None:
    ref = parse_image(reference)
    assert (str(ref) if ref else None) == expected


@pytest.mark.parametrize(
    ("pattern", "reference", "expected"),
    [
        ("busybox", "busybox", True),
        ("busybox", "docker.io/library/busybox:1.36", True),
        ("busybox", "busybox@sha256:" + "a" * 64, True),
        ("busybox:1.36", "busybox", False),
        ("busybox:1.*", "busybox:1.36", True),
        ("busybox", "evil/busybox", False),
        ("busybox", "registry.example.com/busybox", False),
        ("registry.example.com/team/*", "registry.example.com/team/app:v2", True),
        ("registry.example.com/team/*", "registry.example.com/team/app/sub", False),
        ("registry.example.com/team/**", "registry.example.com/team/app/sub", True),
        ("registry.example.com/team/*", "registry.example.com.evil.io/team/app", False),
        ("registry.example.com/team/*", "evil.io/registry.example.com/team/app", False),
        ("*/team/*", "registry.example.com/team/app", True),
        ("*", "anything.io/x/y:z", True),
    ],
)
def test_image_patterns(pattern: str, reference: str, expected: bool) -> None:
    ref = parse_image(reference)
    assert ref is not None
    assert compile_image_pattern(pattern).matches(ref) is expected


@pytest.mark.parametrize("pattern", ["BusyBox", "busybox@md5:x", "bus box", "registry/[a"])
def test_bad_image_patterns(pattern: str) -> None:
    with pytest.raises(GlobError):
        compile_image_pattern(pattern)


@pytest.mark.parametrize(
    ("pattern", "cap", "expected"),
    [
        ("cap-add:CAP_NET_ADMIN", "cap-add:NET_ADMIN", True),
        ("cap-add:net_admin", "cap-add:NET_ADMIN", True),
        ("cap-add:NET_ADMIN", "cap-add:NET_RAW", False),
        ("cap-add:NET_ADMIN", "cap-add:ALL", False),
        ("cap-add:*", "cap-add:ALL", True),
        ("bind:/srv/data", "bind:/srv/data", True),
        ("bind:/srv/data/", "bind:/srv/data", True),
        ("bind:/srv/data", "bind:/srv/data/sub", False),
        ("bind:/srv/data", "bind:/srv/database", False),
        ("bind:/srv/data/**", "bind:/srv/data/sub/x", True),
        ("bind:/srv/data/**", "bind:/srv/data", True),
        ("bind:/srv/data/**", "bind:/srv/database", False),
        ("bind:/srv/data/**", "bind:/srv/data/../../etc", False),
        ("bind:/srv/data/**", "bind:./srv/data", False),
        ("bind:/", "bind:/etc", False),
        ("bind:/**", "bind:relative", False),
        ("bind:*", "bind:relative", True),
        ("user:0", "user:root", True),
        ("pid:HOST", "pid:host", True),
        ("privileged", "privileged", True),
        ("privileged", "exec-privileged", False),
        ("docker-socket", "docker-socket", True),
        ("*", "docker-socket", True),
    ],
)
def test_capability_patterns(pattern: str, cap: str, expected: bool) -> None:
    assert parse_cap_pattern(pattern).matches(normalize_capability(cap)) is expected


@pytest.mark.parametrize(
    "pattern",
    [
        "privilegd",
        "privileged:true",
        "cap-add",
        "cap-add:",
        "cap-add:NET_*",
        "bind:srv",
        "bind:/srv/*",
        "bind:/srv/../etc",
        "pid:private",
        "user:alice",
        "sysctl:net.*",
    ],
)
def test_bad_capability_patterns(pattern: str) -> None:
    with pytest.raises(ValueError):
        parse_cap_pattern(pattern)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", True),
        ("/var", True),
        ("/var/run", True),
        ("/run", True),
        ("/run/user/1000", True),
        ("/var/run/docker.sock", True),
        ("/srv/docker.sock", True),
        ("/proc/1/root", True),
        ("/srv/data/../../var/run", True),
        ("relative", True),
        ("~/x", True),
        ("/srv/data", False),
        ("/etc", False),
        ("/var/lib/app", False),
    ],
)
def test_socket_detection(path: str, expected: bool) -> None:
    assert touches_docker_socket(path) is expected
