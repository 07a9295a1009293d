"""The test rig's real parts: a redis-server of our own, the Docker engine, a busybox image.

Used by conftest.py; kept here so benchmarks can start the same parts.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import docker

TEST_IMAGE = "dockhand-test/busybox:latest"
TEST_LABEL = "dockhand.test"
BUSYBOX_PATHS = ("/bin/busybox", "/usr/bin/busybox")
APPLETS = ("sh", "sleep", "echo", "cat", "ls", "ps", "yes", "head", "seq", "env", "true", "false", "printf")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes]
    workdir: str

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @classmethod
    def start(cls, port: int | None = None) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        port = port or free_port()
        workdir = tempfile.mkdtemp(prefix="dockhand-redis-")
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        server = cls(port, proc, workdir)
        server.wait_ready()
        return server

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def restart(self) -> None:
        self.stop()
        fresh = RedisServer.start(self.port)
        self.process, self.workdir = fresh.process, fresh.workdir


def docker_client() -> docker.APIClient:
    return docker.APIClient(
        base_url=os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock", version="auto", timeout=60
    )


def busybox_tarball() -> bytes:
    """A root filesystem holding only the static busybox binary and a few applet links."""
    source = next((p for p in BUSYBOX_PATHS if Path(p).exists()), None)
    if source is None:
        raise RuntimeError("static busybox not found (apt-get install busybox-static)")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(source, arcname="bin/busybox")
        for applet in APPLETS:
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type = tarfile.SYMTYPE
            info.linkname = "busybox"
            tar.addfile(info)
        for d in ("tmp", "proc", "sys", "dev", "etc"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if d == "tmp" else 0o755
            tar.addfile(info)
    return buf.getvalue()


def ensure_test_image(api: docker.APIClient) -> str:
    try:
        return str(api.inspect_image(TEST_IMAGE)["Id"])
    except docker.errors.ImageNotFound:
        pass
    repo, tag = TEST_IMAGE.rsplit(":", 1)
    api.import_image_from_data(
        busybox_tarball(), repository=repo, tag=tag, changes=['CMD ["sh"]', 'LABEL dockhand.test.image="1"']
    )
    return str(api.inspect_image(TEST_IMAGE)["Id"])


class Containers:
    """Creates containers for one test session, always named and labelled, and removes only those."""

    def __init__(self, api: docker.APIClient) -> None:
        self.api = api
        self.session = uuid.uuid4().hex[:8]
        self.created: list[str] = []

    def run(
        self,
        name: str,
        cmd: list[str],
        *,
        labels: dict[str, str] | None = None,
        start: bool = True,
        env: list[str] | None = None,
        ports: dict[int, int | None] | None = None,
        wait_exit: bool = False,
    ) -> str:
        full = f"dockhand-t{self.session}-{name}"
        host_config = self.api.create_host_config(
            port_bindings={p: ("127.0.0.1", h) if h else None for p, h in (ports or {}).items()} or None,
        )
        container = self.api.create_container(
            TEST_IMAGE,
            cmd,
            name=full,
            labels={TEST_LABEL: self.session, **(labels or {})},
            environment=env,
            host_config=host_config,
            ports=list(ports or {}),
        )
        cid = str(container["Id"])
        self.created.append(cid)
        if start:
            self.api.start(cid)
        if wait_exit:
            self.api.wait(cid, timeout=30)
        return full

    def cleanup(self) -> None:
        for cid in self.created:
            with contextlib.suppress(docker.errors.NotFound):
                self.api.remove_container(cid, force=True)
        self.created.clear()
