"""The rig's second engine and local registry work, and leave nothing behind.

Issue 4's multi-host and pull tests stand on these; they must not disturb the first engine
(its containers, its docker0 bridge) while they run or after they stop.
"""

from __future__ import annotations

import ipaddress
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.rig import (
    TEST_IMAGE,
    Containers,
    LocalRegistry,
    SecondEngine,
    ThrottledProxy,
    ensure_test_image,
)

pytestmark = pytest.mark.integration  # the rig's real parts: engines, a registry, a proxy


@pytest.fixture(scope="session")
def second_engine() -> Iterator[SecondEngine]:
    with SecondEngine.start() as engine:
        yield engine


@pytest.fixture(scope="session")
def second_api(second_engine: SecondEngine) -> Iterator[docker.APIClient]:
    api = second_engine.client()
    yield api
    api.close()


@pytest.fixture(scope="session")
def rig_registry(docker_api: docker.APIClient) -> Iterator[LocalRegistry]:
    with LocalRegistry.start() as registry:
        yield registry
        registry.remove_local_images(docker_api)


def bridge_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", name], capture_output=True, timeout=10).returncode == 0


def docker0_address() -> str:
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "docker0"], capture_output=True, text=True, timeout=10)
    return out.stdout.split()[3] if out.stdout else ""


def wait_running(api: docker.APIClient, name: str) -> dict[str, object]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state = api.inspect_container(name)
        if state["State"]["Running"]:
            return dict(state)
        time.sleep(0.05)
    raise AssertionError(f"{name} is not running")


def run_to_end(made: Containers, name: str, cmd: list[str]) -> tuple[int, str]:
    full = made.run(name, cmd, wait_exit=True)
    state = made.api.inspect_container(full)["State"]
    return int(state["ExitCode"]), made.api.logs(full).decode()


def assert_first_engine_works(made: Containers, sleeper: str, gateway: str) -> None:
    """The container started before is still up, and a new one gets docker0's network."""
    assert made.api.inspect_container(sleeper)["State"]["Running"]
    code, out = run_to_end(made, f"net-{time.monotonic_ns()}", ["busybox", "ping", "-c", "1", "-W", "2", gateway])
    assert code == 0, out
    assert "1 packets received" in out


def test_second_engine_answers_and_runs_the_test_image(
    second_engine: SecondEngine, second_api: docker.APIClient, docker_api: docker.APIClient
) -> None:
    assert second_api.ping()
    info = second_api.info()
    assert info["DockerRootDir"].startswith(str(second_engine.workdir))
    assert info["ID"] != docker_api.info()["ID"]  # an identity of its own, not the first engine's
    assert second_api.inspect_image(TEST_IMAGE)["Id"]

    made = Containers(second_api)
    try:
        full = made.run("hello", ["sleep", "30"])
        settings = wait_running(second_api, full)["NetworkSettings"]
        assert isinstance(settings, dict)
        assert ipaddress.IPv4Address(settings["IPAddress"]) in second_engine.subnet
        assert settings["Gateway"] == str(next(second_engine.subnet.hosts()))
        code, out = run_to_end(made, "echo", ["echo", "from the second engine"])
        assert (code, out) == (0, "from the second engine\n")
        # Only the second engine knows these containers.
        assert not docker_api.containers(all=True, filters={"name": [made.session]})
    finally:
        made.cleanup()


def test_lifecycle_keeps_the_first_engine_working_and_leaves_nothing(
    docker_api: docker.APIClient, containers: Containers
) -> None:
    docker0 = docker0_address()
    gateway = docker0.split("/")[0]
    assert gateway, "the first engine has no docker0 address"
    sleeper = containers.run("hosts-sleeper", ["sleep", "600"])
    wait_running(docker_api, sleeper)

    engine = SecondEngine.start()
    try:
        bridge, workdir = engine.bridge, engine.workdir
        assert bridge_exists(bridge)
        assert engine.processes(), "no dockerd of ours?"
        api = engine.client()
        try:
            # Its containers go with it: one left running proves stop() does not wait out
            # its 10 s stop timeout.
            made = Containers(api)
            assert run_to_end(made, "ok", ["true"])[0] == 0
            made.run("left-running", ["sleep", "600"])
            # While the second engine runs.
            assert_first_engine_works(containers, sleeper, gateway)
        finally:
            api.close()
    finally:
        started = time.monotonic()
        engine.stop()
        stop_took = time.monotonic() - started

    assert stop_took < 8, f"stop took {stop_took:.1f}s"
    assert not bridge_exists(bridge)
    assert engine.processes() == []
    assert not workdir.exists()
    assert not any(str(workdir) in line for line in Path("/proc/self/mountinfo").read_text().splitlines())
    # And after it.
    assert docker0_address() == docker0
    assert_first_engine_works(containers, sleeper, gateway)


def test_registry_lifecycle_leaves_nothing() -> None:
    registry = LocalRegistry.start()
    port, workdir, process = registry.port, registry.workdir, registry.process
    assert workdir.exists()
    registry.stop()
    assert process.poll() is not None
    assert not workdir.exists()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_push_from_one_engine_and_pull_into_the_other(
    rig_registry: LocalRegistry, docker_api: docker.APIClient, second_api: docker.APIClient
) -> None:
    ref = rig_registry.ref("dockbell-test/busybox", "v1")
    digest = rig_registry.push(docker_api, TEST_IMAGE, "dockbell-test/busybox", "v1")
    assert digest.startswith("sha256:")
    with pytest.raises(docker.errors.ImageNotFound):
        docker_api.inspect_image(ref)  # push() removed the local tag: a pull must fetch it

    events = list(second_api.pull(ref.rsplit(":", 1)[0], tag="v1", stream=True, decode=True))
    try:
        assert not [e for e in events if "error" in e]
        assert events[-1]["status"] == f"Status: Downloaded newer image for {ref}"
        # The same image: same config, same ID, as the one pushed from the first engine.
        assert second_api.inspect_image(ref)["Id"] == ensure_test_image(docker_api)
        assert second_api.inspect_image(ref)["RepoDigests"] == [f"{ref.rsplit(':', 1)[0]}@{digest}"]
    finally:
        rig_registry.remove_local_images(second_api)


def test_big_image_pulls_with_progress_through_the_throttled_proxy(
    rig_registry: LocalRegistry, docker_api: docker.APIClient
) -> None:
    rig_registry.push_big_image(docker_api, "dockbell-test/big-rig", size=4_000_000)
    with ThrottledProxy(rig_registry.port, 4_000_000) as proxy:
        try:
            events = list(docker_api.pull(f"{proxy.address}/dockbell-test/big-rig", tag="v1", stream=True, decode=True))
        finally:
            rig_registry.remove_local_images(docker_api, proxy.address)
    statuses = [e.get("status") for e in events]
    assert statuses.count("Already exists") == 1  # the busybox layer it is built on
    assert statuses.count("Downloading") >= 5, statuses
    assert statuses.count("Pull complete") == 1
    assert proxy.connections >= 1
