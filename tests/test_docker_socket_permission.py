"""A wrong DOCKER_GID: the socket refuses the worker's user, and the message says so.

Root bypasses file permissions, so the refused side runs in a child process as uid 65534 with
no groups. It keeps only CAP_DAC_READ_SEARCH, which lets it read the Python install under /root
but not write to a socket (connect(2) on a unix socket needs write permission), so the socket
refuses it exactly as docker.sock refuses a user outside the socket's group.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests.exceptions
import urllib3.exceptions

from bot.engine.gateway import DockerGateway, _permission_denied
from bot.errors import DockerUnavailable
from tests.rig import free_port

EXPECTED = "permission denied on {path}: the worker's user is not in the socket's group (DOCKER_GID)"

DROP = [
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "--inh-caps=+dac_read_search",
    "--ambient-caps=+dac_read_search",
]

# What the worker says, run as the refused user: once when the client is first made (docker-py
# asks the engine's API version) and once on a later call.
CHILD = r"""
import asyncio, os, sys
from bot.engine.gateway import DockerGateway
from bot.errors import DockerUnavailable

async def main() -> None:
    assert os.getuid() == 65534 and not os.getgroups(), (os.getuid(), os.getgroups())
    gw = DockerGateway(sys.argv[1], timeout=3)
    for _ in range(2):
        try:
            await gw.version()
        except DockerUnavailable as err:
            print("gateway:", err)
    await gw.close()

asyncio.run(main())
"""

# `dockbell check` as the refused user, with Redis and Slack pointed at closed local ports.
CHECK = r"""
import sys
from bot.cli import main
sys.exit(main(["check"]))
"""


def run_refused(code: str, socket_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    repo = Path(__file__).resolve().parent.parent
    return subprocess.run(
        [*DROP, sys.executable, "-c", code, f"unix://{socket_path}"],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def refused_socket() -> Iterator[Path]:
    """A listening unix socket, root:root mode 0660, in a folder anyone may enter."""
    folder = Path(tempfile.mkdtemp(prefix="dockbell-sock-"))
    folder.chmod(0o755)
    path = folder / "docker.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen()
    os.chmod(path, 0o660)
    try:
        yield path
    finally:
        server.close()
        shutil.rmtree(folder, ignore_errors=True)


# In CI (.ci/run runs as root and installs util-linux) these run, and fail rather than skip.
IN_CI = os.environ.get("CI") == "true"
needs_root = pytest.mark.skipif(os.geteuid() != 0 and not IN_CI, reason="dropping to another uid needs root")
needs_setpriv = pytest.mark.skipif(
    shutil.which("setpriv") is None and not IN_CI, reason="setpriv (util-linux) is not installed"
)


@pytest.mark.integration
@needs_root
@needs_setpriv
def test_wrong_group_says_permission_denied(refused_socket: Path) -> None:
    done = run_refused(CHILD, refused_socket)
    assert done.returncode == 0, done.stderr
    expected = EXPECTED.format(path=refused_socket)
    assert done.stdout.splitlines() == [f"gateway: {expected}"] * 2
    assert "Is the docker daemon running" not in done.stdout


@pytest.mark.integration
@needs_root
@needs_setpriv
def test_dockbell_check_says_permission_denied(refused_socket: Path) -> None:
    closed = str(free_port())
    done = run_refused(
        CHECK,
        refused_socket,
        DOCKER_HOST=f"unix://{refused_socket}",
        REDIS_URL=f"redis://127.0.0.1:{closed}/0",
        SLACK_API_URL=f"http://127.0.0.1:{closed}/api/",
        SLACK_BOT_TOKEN="xoxb-0-0",
        SLACK_SIGNING_SECRET="unused",
        DOCKBELL_CONFIG="config/dockbell.yml",
    )
    assert done.returncode == 1, done.stdout + done.stderr
    expected = EXPECTED.format(path=refused_socket)
    refused = [line for line in done.stdout.splitlines() if line.startswith("FAIL") and line.endswith(expected)]
    assert refused, done.stdout + done.stderr
    assert "Is the docker daemon running" not in done.stdout


@pytest.mark.unit
def test_a_missing_socket_still_says_cannot_connect(tmp_path: Path) -> None:
    gw = DockerGateway(f"unix://{tmp_path}/absent.sock", timeout=3)

    async def version() -> None:
        try:
            await gw.version()
        finally:
            await gw.close()

    with pytest.raises(DockerUnavailable) as caught:
        asyncio.run(version())
    assert str(caught.value) == (
        f"Cannot connect to the Docker daemon at unix://{tmp_path}/absent.sock. Is the docker daemon running?"
    )


@pytest.mark.unit
def test_permission_error_is_found_where_docker_py_wraps_it() -> None:
    # As requests raises it for a call: ConnectionError(ProtocolError('Connection aborted.', PermissionError)).
    wrapped = requests.exceptions.ConnectionError(
        urllib3.exceptions.ProtocolError("Connection aborted.", PermissionError(13, "Permission denied"))
    )
    assert _permission_denied(wrapped)
    # As docker-py raises it at start: DockerException(...) whose context is the ConnectionError.
    outer = RuntimeError("Error while fetching server API version")
    outer.__context__ = wrapped
    assert _permission_denied(outer)
    refused = requests.exceptions.ConnectionError(ConnectionRefusedError(111, "Connection refused"))
    assert not _permission_denied(refused)


@pytest.mark.unit
def test_only_a_unix_socket_is_named() -> None:
    denied = PermissionError(13, "Permission denied")
    assert str(DockerGateway("unix:///run/d.sock").unavailable(denied)) == EXPECTED.format(path="/run/d.sock")
    assert "Cannot connect" in str(DockerGateway("tcp://127.0.0.1:2375").unavailable(denied))
