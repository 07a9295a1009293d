"""The test rig's real parts: a redis-server of our own, the Docker engine, a busybox image,
a second engine, a local registry, a slow link to it and the docker CLI in a terminal.

Used by conftest.py; kept here so benchmarks can start the same parts.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import io
import ipaddress
import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import tarfile
import tempfile
import termios
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker

TEST_IMAGE = "dockbell-test/busybox:latest"
TEST_LABEL = "dockbell.test"
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
        workdir = tempfile.mkdtemp(prefix="dockbell-redis-")
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
        busybox_tarball(), repository=repo, tag=tag, changes=['CMD ["sh"]', 'LABEL dockbell.test.image="1"']
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
        full = f"dockbell-t{self.session}-{name}"
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


# --- A second engine, a local registry, a slow link, a terminal -----------------------------------
#
# Issue 4 (one worker per Docker host) needs a second host to send jobs to, and pull jobs need a
# registry; both must run offline on a CI machine, so the rig starts its own. Everything below
# removes exactly what it created and nothing else: the first engine and its docker0 bridge are
# never touched.

ENGINE_READY_TIMEOUT = 30.0
# 10.213.N.0/24 for the second engine's bridge: a range no Docker default pool
# (172.17-31/16, 192.168/16) and no usual LAN plan uses; N is the first free one.
BRIDGE_PREFIX = "dh-br"
BRIDGE_NET = "10.213.{n}.0/24"


def _tool(name: str) -> str:
    # /usr/sbin is not on every PATH (sudo-less shells), but ip and dockerd live there.
    found = shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/sbin/{name}") if Path(p).exists()), None)
    if found is None:
        raise RuntimeError(f"{name} is not installed (see scripts/test)")
    return found


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_tool("ip"), *args], capture_output=True, text=True, timeout=10, check=False)


def _networks_in_use() -> list[ipaddress.IPv4Network]:
    used: list[ipaddress.IPv4Network] = []
    for link in json.loads(_ip("-j", "-4", "addr").stdout or "[]"):
        for addr in link.get("addr_info", []):
            used.append(ipaddress.IPv4Network(f"{addr['local']}/{addr['prefixlen']}", strict=False))
    for route in json.loads(_ip("-j", "-4", "route").stdout or "[]"):
        if route.get("dst", "default") != "default":
            used.append(ipaddress.IPv4Network(route["dst"], strict=False))
    return used


def _add_bridge() -> tuple[str, ipaddress.IPv4Network]:
    """Create and bring up dh-brN with 10.213.N.1/24 for the first N whose name and subnet are free."""
    for n in range(1, 255):
        name, net = f"{BRIDGE_PREFIX}{n}", ipaddress.IPv4Network(BRIDGE_NET.format(n=n))
        if any(net.overlaps(used) for used in _networks_in_use()):
            continue
        if _ip("link", "add", name, "type", "bridge").returncode != 0:
            continue  # the name is taken (another test session's engine): try the next one
        gateway = f"{next(net.hosts())}/{net.prefixlen}"
        for step in (("addr", "add", gateway, "dev", name), ("link", "set", name, "up")):
            done = _ip(*step)
            if done.returncode != 0:
                _ip("link", "del", name)
                raise RuntimeError(f"ip {' '.join(step)}: {done.stderr.strip()}")
        return name, net
    raise RuntimeError("no free dh-brN bridge / 10.213.N.0/24 subnet")


def _mounts_under(root: Path) -> list[str]:
    prefix = str(root) + "/"
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point == str(root) or point.startswith(prefix):
                points.append(point)
    return sorted(points, key=len, reverse=True)  # deepest first


def _processes_mentioning(text: str) -> list[int]:
    """PIDs whose command line contains ``text`` (our dockerd, its containerd and shims)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if text in cmdline:
            pids.append(int(entry.name))
    return pids


def _dockerd_major(dockerd: str) -> int:
    out = subprocess.run([dockerd, "--version"], capture_output=True, text=True, timeout=10, check=False).stdout
    match = re.search(r"version (\d+)\.", out)
    return int(match.group(1)) if match else 0


def _spawn_dockerd(dockerd: str, workdir: Path, bridge: str) -> subprocess.Popen[bytes]:
    log = open(workdir / "dockerd.log", "ab")  # noqa: SIM115 - closed below, the child keeps its copy
    try:
        return subprocess.Popen(
            [
                dockerd,
                f"--host=unix://{workdir / 'docker.sock'}",
                f"--data-root={workdir / 'data'}",
                f"--exec-root={workdir / 'x'}",
                f"--pidfile={workdir / 'docker.pid'}",
                f"--config-file={workdir / 'daemon.json'}",
                "--iptables=false",
                "--ip-masq=false",
                f"--bridge={bridge}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own session: a Ctrl-C on pytest must not kill it before the fixture's
            # teardown has stopped its containers and removed the bridge.
            start_new_session=True,
        )
    finally:
        log.close()


@dataclass
class SecondEngine:
    """A second dockerd beside the first, for multi-host tests (needs root).

    Own socket, data root, exec root, pidfile, containerd and bridge (``dh-brN``, created here
    with ``ip``). Never ``--bridge=none``: that makes dockerd delete docker0, the first engine's
    bridge. ``--iptables=false`` keeps it off the first engine's NAT rules, so its containers
    reach each other and the host but not the outside; tests need no more. The paths are short
    on purpose: a unix socket path is limited to 108 bytes.

    Use as ``with SecondEngine.start() as engine:`` or start()/stop() in a session fixture.
    """

    workdir: Path
    bridge: str
    subnet: ipaddress.IPv4Network
    process: subprocess.Popen[bytes]

    @property
    def socket_path(self) -> str:
        return str(self.workdir / "docker.sock")

    @property
    def base_url(self) -> str:
        return f"unix://{self.socket_path}"

    def client(self, timeout: int = 60) -> docker.APIClient:
        return docker.APIClient(base_url=self.base_url, version="auto", timeout=timeout)

    @classmethod
    def start(cls) -> SecondEngine:
        if os.geteuid() != 0:
            raise RuntimeError("SecondEngine needs root (dockerd and ip link)")
        dockerd = _tool("dockerd")
        workdir = Path(tempfile.mkdtemp(prefix="dh-", dir="/tmp"))
        bridge, subnet = _add_bridge()
        config: dict[str, str] = {}
        if _dockerd_major(dockerd) < 23:
            # dockerd <= 22 derives its engine ID from /etc/docker/key.json: shared with the first
            # engine, both would report the same ID. A key of its own gives it its own identity.
            config["deprecated-key-path"] = str(workdir / "key.json")
        # An explicit (nearly empty) config file, so that a host /etc/docker/daemon.json (hosts,
        # bridge, data-root...) cannot clash with the flags below.
        (workdir / "daemon.json").write_text(json.dumps(config))
        try:
            process = _spawn_dockerd(dockerd, workdir, bridge)
        except OSError:
            _ip("link", "del", bridge)
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        engine = cls(workdir, bridge, subnet, process)
        try:
            engine.wait_ready()
            api = engine.client()
            try:
                ensure_test_image(api)
            finally:
                api.close()
        except BaseException:
            engine.stop()
            raise
        return engine

    def restart(self) -> None:
        """Stop this dockerd (it stops its containers, as on a host's reboot) and start it again on
        the same data: its containers are still there, its events from before are not."""
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.process = _spawn_dockerd(_tool("dockerd"), self.workdir, self.bridge)
        self.wait_ready()

    def wait_ready(self, timeout: float = ENGINE_READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the second dockerd exited ({self.process.returncode}):\n{self.log_tail()}")
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as s:
                s.settimeout(1)
                s.connect(self.socket_path)
                s.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
                if b"\r\n\r\nOK" in s.recv(1024):
                    return
            time.sleep(0.05)
        raise RuntimeError(f"the second dockerd did not answer /_ping in {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join((self.workdir / "dockerd.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def processes(self) -> list[int]:
        """PIDs of this engine's dockerd, containerd and shims (all mention its directory)."""
        return _processes_mentioning(str(self.workdir))

    def stop(self) -> None:
        if self.process.poll() is None:
            # Kill its containers first: dockerd would otherwise give each one its stop
            # timeout (10 s for a `sleep` that ignores SIGTERM) before exiting.
            with contextlib.suppress(Exception):
                api = docker.APIClient(base_url=self.base_url, version="auto", timeout=10)
                try:
                    for c in api.containers():
                        with contextlib.suppress(docker.errors.APIError):
                            api.kill(c["Id"])
                finally:
                    api.close()
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        # A dockerd that was killed leaves its containerd and shims behind: they all name our
        # directory on their command line, which no other process does.
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        # dockerd bind-mounts its data root onto itself and unmounts it on a clean exit only.
        for point in _mounts_under(self.workdir):
            subprocess.run(["umount", "-l", point], capture_output=True, timeout=10, check=False)
        _ip("link", "del", self.bridge)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> SecondEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


REGISTRY_CONFIG = """\
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


@dataclass
class LocalRegistry:
    """Debian's ``docker-registry`` (distribution 2.x) on 127.0.0.1, storing in a temp dir.

    dockerd treats registries on 127.0.0.0/8 as insecure-allowed by default, so both engines
    push and pull over plain HTTP without any daemon configuration.
    """

    port: int
    process: subprocess.Popen[bytes]
    workdir: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def ref(self, repo: str, tag: str = "v1") -> str:
        return f"{self.address}/{repo}:{tag}"

    @classmethod
    def start(cls, port: int | None = None) -> LocalRegistry:
        binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"
        if not Path(binary).exists():
            raise RuntimeError("docker-registry is not installed (apt-get install docker-registry)")
        port = port or free_port()
        workdir = Path(tempfile.mkdtemp(prefix="dockbell-registry-"))
        config = workdir / "config.yml"
        config.write_text(REGISTRY_CONFIG.format(root=workdir / "storage", port=port))
        with open(workdir / "registry.log", "wb") as log:
            proc = subprocess.Popen(
                [binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=log, start_new_session=True
            )
        registry = cls(port, proc, workdir)
        try:
            registry.wait_ready()
        except BaseException:
            registry.stop()
            raise
        return registry

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.workdir / "registry.log").read_text(errors="replace")
                raise RuntimeError(f"docker-registry exited ({self.process.returncode}): {log}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"GET /v2/ HTTP/1.0\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.0 200"):
                    return
            time.sleep(0.05)
        raise RuntimeError(f"docker-registry on port {self.port} did not start")

    def push(self, api: docker.APIClient, source: str, repo: str, tag: str = "v1", *, keep_local: bool = False) -> str:
        """Tag ``source`` as ``ADDRESS/repo:tag``, push it, return its manifest digest.

        Unless ``keep_local``, the local tag is removed again, so that a pull must fetch it.
        """
        target = f"{self.address}/{repo}"
        api.tag(source, target, tag)
        digest = ""
        for item in api.push(target, tag=tag, stream=True, decode=True):
            if "error" in item:  # docker-py does not raise mid-stream errors
                raise RuntimeError(f"push {target}:{tag}: {item['error']}")
            digest = item.get("aux", {}).get("Digest", digest)
        if not keep_local:
            api.remove_image(f"{target}:{tag}")
        return str(digest)

    def push_big_image(
        self, api: docker.APIClient, repo: str = "dockbell-test/big", tag: str = "v1", *, size: int = 8_000_000
    ) -> str:
        """Push a two-layer image: the test busybox plus ``size`` bytes of random data.

        Random, so the layer does not compress and its download takes several progress events;
        built on the test image, so a pull shows that layer as ``Already exists``. Built with the
        legacy builder from a context in memory: no network, no base image to fetch.
        """
        ensure_test_image(api)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for name, data in (
                ("Dockerfile", f"FROM {TEST_IMAGE}\nCOPY blob /blob\n".encode()),
                ("blob", os.urandom(size)),
            ):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        buf.seek(0)
        local = f"dockbell-test/build-{uuid.uuid4().hex[:8]}:latest"
        for item in api.build(
            fileobj=buf, custom_context=True, tag=local, rm=True, forcerm=True, decode=True, labels={TEST_LABEL: "rig"}
        ):
            if "error" in item:
                raise RuntimeError(f"build: {item['error']}")
        try:
            return self.push(api, local, repo, tag)
        finally:
            api.remove_image(local)

    def blob_path(self, digest: str) -> Path:
        """Where the registry keeps a blob (tests corrupt one to get a mid-pull error)."""
        algo, _, hexa = digest.partition(":")
        return self.workdir / "storage/docker/registry/v2/blobs" / algo / hexa[:2] / hexa / "data"

    def remove_local_images(self, api: docker.APIClient, *addresses: str) -> None:
        """Remove from an engine every tag under this registry's address (or the ones given)."""
        prefixes = tuple(f"{a}/" for a in (addresses or (self.address,)))
        for image in api.images():
            for tag in image.get("RepoTags") or []:
                if tag.startswith(prefixes):
                    with contextlib.suppress(docker.errors.NotFound):
                        api.remove_image(tag)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> LocalRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ThrottledProxy:
    """A TCP forwarder to 127.0.0.1:``target_port`` whose answers flow at ``rate`` bytes/s.

    A pull from the local registry takes a fraction of a second, and the engine reports
    progress at most every 100 ms; through this proxy (``127.0.0.1:<proxy port>`` is another
    insecure-allowed registry to the engine) a pull lasts long enough to show many Downloading
    events and to be cancelled halfway.
    """

    CHUNK = 16 * 1024

    def __init__(self, target_port: int, rate: int) -> None:
        self.target_port = target_port
        self.rate = rate
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self.connections = 0  # accepted so far
        self.open_connections = 0
        self._spawn(self._accept_loop)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="rig-proxy")
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        # A short accept timeout: closing a listening socket does not wake a blocked accept().
        self._listener.settimeout(0.1)
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets |= {client, upstream}
                self.connections += 1
                self.open_connections += 1
            done = threading.Barrier(2, action=functools.partial(self._closed, client, upstream))
            self._spawn(self._pump, client, upstream, 0, done)
            self._spawn(self._pump, upstream, client, self.rate, done)

    def _closed(self, client: socket.socket, upstream: socket.socket) -> None:
        with self._lock:
            self.open_connections -= 1
            self._sockets -= {client, upstream}
        client.close()
        upstream.close()

    def _pump(self, src: socket.socket, dst: socket.socket, rate: int, done: threading.Barrier) -> None:
        try:
            while True:
                data = src.recv(self.CHUNK)
                if not data:
                    break
                dst.sendall(data)
                if rate:
                    time.sleep(len(data) / rate)
        except OSError:
            pass
        # One side ended: end the other, then wait for the other pump before closing.
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)
        with contextlib.suppress(OSError):
            src.shutdown(socket.SHUT_RD)
        with contextlib.suppress(threading.BrokenBarrierError):
            done.wait(timeout=30)

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            sockets, threads = list(self._sockets), list(self._threads)
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
        for t in threads:
            t.join(5)
        self._listener.close()

    def __enter__(self) -> ThrottledProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- the docker CLI in a terminal ---------------------------------------------------------------
#
# `docker pull` draws its progress differently on a terminal (one line per layer, redrawn in
# place with cursor moves) than into a pipe (every status on its own line). The bot mimics the
# terminal, so tests compare against the CLI run in a pty and the screen it leaves.

_CSI = re.compile(r"\x1b\[(\d*)([A-Za-z])")


def run_in_terminal(args: list[str], *, cols: int = 200, rows: int = 60, timeout: float = 60.0) -> tuple[int, str]:
    """Run a command in a pseudo-terminal of ``cols`` columns; return its exit code and raw output."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, close_fds=True, start_new_session=True)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer closed its side
                break
            if not data:
                break
            chunks.append(data)
        else:
            proc.kill()
        return proc.wait(10), b"".join(chunks).decode("utf-8", "replace")
    finally:
        os.close(master)


def terminal_screen(raw: str) -> list[str]:
    """What a terminal shows after ``raw``.

    Only the controls the docker CLI uses: CR, LF (the pty turns it into CR LF), cursor up and
    down (``ESC[nA``/``ESC[nB``), erase line (``ESC[2K``, ``ESC[K``). No wrapping: the pty is
    wider than any line. Trailing blanks are dropped, as they are invisible.
    """
    screen: list[list[str]] = [[]]
    row = col = 0
    i = 0
    while i < len(raw):
        match = _CSI.match(raw, i)
        if match:
            n, op = int(match.group(1) or 1), match.group(2)
            if op == "A":
                row = max(0, row - n)
            elif op == "B":
                row += n
            while len(screen) <= row:
                screen.append([])
            if op == "K":
                if match.group(1) == "2":
                    screen[row] = []
                else:
                    del screen[row][col:]
            i = match.end()
            continue
        ch = raw[i]
        i += 1
        if ch == "\r":
            col = 0
        elif ch == "\n":
            row, col = row + 1, 0
            while len(screen) <= row:
                screen.append([])
        elif ch >= " ":
            line = screen[row]
            line.extend(" " * (col - len(line)))
            if col < len(line):
                line[col] = ch
            else:
                line.append(ch)
            col += 1
    lines = ["".join(line).rstrip() for line in screen]
    while lines and not lines[-1]:
        lines.pop()
    return lines
