"""The Docker side of the first jobs: start/stop/restart and pull, against the real engine,
a local registry and the real docker CLI.

Containers made here are named ``dockbell-gw-<session>-*`` and labelled ``dockbell.test=gw``;
only those are removed. Pulled images live under the test registry's (or its proxy's)
address and are removed by address.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import docker
import pytest
import pytest_asyncio

from bot.cli_output.pull import PullProgress, parse_image_ref, progress_bar
from bot.engine.gateway import DockerGateway, PullResult
from bot.errors import DockerError, DockerUnavailable, NotAvailableYet, NotFound, ParseError
from tests.rig import TEST_IMAGE, LocalRegistry, ThrottledProxy, run_in_terminal, terminal_screen

pytestmark = pytest.mark.asyncio(loop_scope="session")

SESSION = uuid.uuid4().hex[:8]
LABEL = {"dockbell.test": "gw"}
BIG = "dockbell-test/big"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60, check=False)


class GwContainers:
    """Containers named dockbell-gw-<session>-NAME, labelled dockbell.test=gw; removes only those."""

    def __init__(self, api: docker.APIClient) -> None:
        self.api = api
        self.ids: list[str] = []

    def create(self, name: str, cmd: list[str], **kwargs: Any) -> str:
        full = f"dockbell-gw-{SESSION}-{name}"
        self.ids.append(str(self.api.create_container(TEST_IMAGE, cmd, name=full, labels=LABEL, **kwargs)["Id"]))
        return full

    def cleanup(self) -> None:
        for cid in self.ids:
            with contextlib.suppress(docker.errors.NotFound):
                self.api.remove_container(cid, force=True)


@pytest.fixture(scope="module")
def gw_containers(docker_api: docker.APIClient) -> Iterator[GwContainers]:
    made = GwContainers(docker_api)
    yield made
    made.cleanup()


@pytest.fixture(scope="module")
def registry(docker_api: docker.APIClient) -> Iterator[LocalRegistry]:
    """The registry, holding dockbell-test/busybox (as v1 and latest) and the two-layer big:v1."""
    with LocalRegistry.start() as reg:
        try:
            reg.push(docker_api, TEST_IMAGE, "dockbell-test/busybox", "v1")
            reg.push(docker_api, TEST_IMAGE, "dockbell-test/busybox", "latest")
            reg.push_big_image(docker_api, BIG, "v1")
            yield reg
        finally:
            reg.remove_local_images(docker_api)


@pytest_asyncio.fixture(loop_scope="session")
async def gateway(docker_api: docker.APIClient) -> AsyncIterator[DockerGateway]:
    # Through docker_api: the rig's engine is checked once, and the tests using this are integration.
    gw = DockerGateway(os.environ.get("DOCKER_HOST"))
    yield gw
    await gw.close()


def pull_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("docker-pull")]


async def no_pull_thread_left(within: float = 3.0) -> bool:
    # A pull thread hands its last word over just before it returns: give it a moment.
    deadline = time.monotonic() + within
    while pull_threads() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return not pull_threads()


# --- start / stop / restart -------------------------------------------------------------------


async def test_start_stop_restart_tell_already_from_changed(
    gateway: DockerGateway, gw_containers: GwContainers
) -> None:
    name = gw_containers.create("cycle", ["sleep", "600"])

    started = await gateway.start(name)
    assert (started.action, started.name, started.changed, started.status) == ("start", name, True, "running")
    again = await gateway.start(name)  # the engine answers 304
    assert again.already and again.status == "running"
    assert again.id == started.id

    # `sleep` as PID 1 ignores SIGTERM: -t 1 ends in SIGKILL after one second, exit 137.
    t0 = time.monotonic()
    stopped = await gateway.stop(name, 1)
    took = time.monotonic() - t0
    assert (stopped.changed, stopped.status, stopped.exit_code) == (True, "exited", 137)
    assert 0.9 < took < 5, took
    assert (await gateway.stop(name, 1)).already  # 304 again, and no waiting
    assert cli("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name).stdout.strip() == "exited 137"

    restarted = await gateway.restart(name, 1)  # restart of a stopped container starts it
    assert (restarted.changed, restarted.status, restarted.exit_code) == (True, "running", None)
    t0 = time.monotonic()
    restarted = await gateway.restart(name, 1)
    assert restarted.changed and restarted.status == "running"
    assert time.monotonic() - t0 > 0.9  # it waited out -t 1 before the SIGKILL
    assert (await gateway.stop(name, 1)).exit_code == 137


async def test_stop_without_timeout_leaves_it_to_the_engine(
    gateway: DockerGateway, gw_containers: GwContainers
) -> None:
    # A PID 1 that handles SIGTERM ends at once with its own code: no -t needed, no 10 s wait.
    name = gw_containers.create("polite", ["sh", "-c", "trap 'exit 3' TERM; while true; do sleep 0.1; done"])
    assert (await gateway.start(name)).changed
    t0 = time.monotonic()
    stopped = await gateway.stop(name)
    assert (stopped.changed, stopped.exit_code) == (True, 3)
    assert time.monotonic() - t0 < 5


async def test_stop_of_an_auto_removed_container(gateway: DockerGateway, gw_containers: GwContainers) -> None:
    name = gw_containers.create(
        "autorm", ["sleep", "600"], host_config=gw_containers.api.create_host_config(auto_remove=True)
    )
    await gateway.start(name)
    stopped = await gateway.stop(name, 0)
    assert stopped.changed
    assert stopped.status in ("removed", "removing", "exited")  # removal races the inspect after it


@pytest.mark.parametrize("action", ["start", "stop", "restart"])
async def test_missing_container_errors_are_the_clis(gateway: DockerGateway, action: str) -> None:
    missing = f"dockbell-gw-{SESSION}-missing"
    with pytest.raises(NotFound) as caught:
        await getattr(gateway, action)(missing)
    done = cli(action, missing)
    assert done.returncode == 1
    # The CLI's first line is the daemon's; `start` then adds "Error: failed to start containers: X".
    assert (
        done.stderr.splitlines()[0]
        == caught.value.message
        == f"Error response from daemon: No such container: {missing}"
    )


# --- pull -------------------------------------------------------------------------------------


def cli_pull_screen(ref: str) -> list[str]:
    """What `docker pull REF` leaves on a 200-column terminal."""
    code, raw = run_in_terminal(["docker", "pull", ref])
    assert code == 0, raw
    return terminal_screen(raw)


async def pull_with_progress(gateway: DockerGateway, ref: str) -> tuple[PullResult, PullProgress, list[dict[str, Any]]]:
    progress = PullProgress(ref)
    events: list[dict[str, Any]] = []
    fractions: list[float] = []
    loop_thread = threading.current_thread()

    async def on_progress(event: dict[str, Any]) -> None:
        assert threading.current_thread() is loop_thread  # handed over to the loop, not called on the pull thread
        events.append(event)
        progress.feed(event)
        fractions.append(progress.fraction)

    result = await gateway.pull(ref, on_progress=on_progress)
    assert fractions == sorted(fractions), "the progress bar went backwards"
    assert fractions[-1] == 1.0
    return result, progress, events


async def test_pull_progress_and_final_text_match_the_cli(
    gateway: DockerGateway, registry: LocalRegistry, docker_api: docker.APIClient
) -> None:
    # Through a throttled link, so the engine reports the 8 MB layer many times.
    with ThrottledProxy(registry.port, 8_000_000) as proxy:
        ref = f"{proxy.address}/{BIG}:v1"
        try:
            result, progress, events = await pull_with_progress(gateway, ref)
            statuses = [e.get("status") for e in events]
            assert statuses.count("Downloading") >= 5, statuses
            assert result.updated and result.digest and result.digest.startswith("sha256:")
            assert (result.repository, result.tag) == (f"{proxy.address}/{BIG}", "v1")
            mid = [e for e in events if e.get("status") in ("Downloading", "Extracting")]
            # Our progress bar is the CLI's JSONProgress.String(): the same as the engine's own.
            assert [progress_bar(**e["progressDetail"]) for e in mid] == [e["progress"] for e in mid]
            ours = progress.lines()
            layers = [line for line in ours if line.endswith((": Pull complete", ": Already exists"))]
            assert len(layers) == 2

            docker_api.remove_image(ref)
            assert ours == cli_pull_screen(ref)
            assert ours == [
                f"v1: Pulling from {BIG}",
                layers[0],
                layers[1],
                f"Digest: {result.digest}",
                f"Status: Downloaded newer image for {ref}",
                ref,
            ]

            # Pulled again: up to date, for both.
            result, progress, _ = await pull_with_progress(gateway, ref)
            assert not result.updated
            assert progress.lines() == cli_pull_screen(ref)
            assert progress.lines()[-2] == f"Status: Image is up to date for {ref}"
        finally:
            registry.remove_local_images(docker_api, proxy.address)


async def test_pull_without_tag_is_latest_like_the_cli(
    gateway: DockerGateway, registry: LocalRegistry, docker_api: docker.APIClient
) -> None:
    ref = f"{registry.address}/dockbell-test/busybox"
    try:
        result, progress, _ = await pull_with_progress(gateway, ref)
        assert result.tag == "latest"
        ours = progress.lines()
        assert ours[0] == "Using default tag: latest"
        assert ours[-1] == f"{ref}:latest"
        docker_api.remove_image(f"{ref}:latest")
        assert ours == cli_pull_screen(ref)
    finally:
        registry.remove_local_images(docker_api)


async def test_sync_callback_and_no_callback(
    gateway: DockerGateway, registry: LocalRegistry, docker_api: docker.APIClient
) -> None:
    ref = registry.ref("dockbell-test/busybox", "v1")
    seen: list[str] = []
    try:
        result = await gateway.pull(ref, on_progress=lambda e: seen.append(str(e.get("status"))))
        assert seen[-1] == result.status == f"Status: Downloaded newer image for {ref}"
        assert (await gateway.pull(ref)).status == f"Status: Image is up to date for {ref}"
    finally:
        registry.remove_local_images(docker_api)


async def test_pull_404_is_worded_like_the_cli(gateway: DockerGateway, registry: LocalRegistry) -> None:
    for ref in (f"{registry.address}/{BIG}:nope", f"{registry.address}/dockbell-test/nothere"):
        with pytest.raises(NotFound) as caught:
            await gateway.pull(ref, on_progress=lambda e: pytest.fail(f"progress before a 404: {e}"))
        done = cli("pull", ref)
        assert done.returncode == 1
        assert caught.value.message == done.stderr.strip()
        assert caught.value.message.startswith("Error response from daemon: manifest for ")
    assert await no_pull_thread_left()


def manifest_layers(registry: LocalRegistry, repo: str, tag: str) -> list[str]:
    request = urllib.request.Request(
        f"http://{registry.address}/v2/{repo}/manifests/{tag}",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return [layer["digest"] for layer in json.load(answer)["layers"]]


async def test_error_mid_stream_raises_like_the_cli(
    gateway: DockerGateway, registry: LocalRegistry, docker_api: docker.APIClient
) -> None:
    # A layer whose bytes no longer match its digest: the engine has already started
    # streaming when it finds out, so the error comes as an event, not as an HTTP status.
    repo = "dockbell-test/broken"
    registry.push_big_image(docker_api, repo, "v1", size=1_000_000)
    blob = registry.blob_path(manifest_layers(registry, repo, "v1")[-1])
    data = bytearray(blob.read_bytes())
    data[500:507] = b"garbage"
    blob.write_bytes(bytes(data))
    ref = registry.ref(repo, "v1")

    progress = PullProgress(ref)
    with pytest.raises(DockerError) as caught:
        await gateway.pull(ref, on_progress=progress.feed)
    assert not isinstance(caught.value, NotFound)
    assert caught.value.message.startswith("filesystem layer verification failed for digest sha256:")
    assert progress.error == caught.value.message and not progress.done

    done = cli("pull", ref)
    assert done.returncode == 1
    assert done.stderr.strip() == caught.value.message  # the CLI prints the message alone
    assert await no_pull_thread_left()


async def test_cancel_mid_pull_closes_the_stream_and_ends_the_thread(
    gateway: DockerGateway, registry: LocalRegistry, docker_api: docker.APIClient
) -> None:
    # 8 MB at 1 MB/s: the pull is certainly still downloading when it is cancelled.
    with ThrottledProxy(registry.port, 1_000_000) as proxy:
        ref = f"{proxy.address}/{BIG}:v1"
        downloading = asyncio.Event()

        def on_progress(event: dict[str, Any]) -> None:
            if event.get("status") == "Downloading":
                downloading.set()

        task = asyncio.create_task(gateway.pull(ref, on_progress=on_progress))
        try:
            await asyncio.wait_for(downloading.wait(), 15)
            assert len(pull_threads()) == 1
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            deadline = time.monotonic() + 3
            while (pull_threads() or proxy.open_connections) and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert not pull_threads(), "the pull thread outlived the cancel"
            # The engine saw its client go and abandoned the download: no registry connection left.
            assert proxy.open_connections == 0
            with pytest.raises(docker.errors.ImageNotFound):
                docker_api.inspect_image(ref)
        finally:
            task.cancel()
            registry.remove_local_images(docker_api, proxy.address)


async def test_cancel_before_the_stream_opens(
    gateway: DockerGateway, registry: LocalRegistry, docker_api: docker.APIClient
) -> None:
    # The thread is still waiting for the engine's first answer: it closes the stream as soon as
    # it gets it instead of reading it.
    ref = registry.ref("dockbell-test/busybox", "v1")
    task = asyncio.create_task(gateway.pull(ref, on_progress=lambda e: pytest.fail(f"progress after cancel: {e}")))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await no_pull_thread_left()
    registry.remove_local_images(docker_api)


async def test_pull_with_the_engine_down_says_so() -> None:
    gw = DockerGateway("unix:///tmp/dockbell-no-such-engine.sock")
    try:
        with pytest.raises(DockerUnavailable, match="Cannot connect to the Docker daemon"):
            await gw.pull("busybox")
    finally:
        await gw.close()
    assert await no_pull_thread_left()


async def test_close_cancels_running_pulls(registry: LocalRegistry, docker_api: docker.APIClient) -> None:
    gw = DockerGateway(os.environ.get("DOCKER_HOST"))
    with ThrottledProxy(registry.port, 1_000_000) as proxy:
        ref = f"{proxy.address}/{BIG}:v1"
        started = asyncio.Event()
        task = asyncio.create_task(gw.pull(ref, on_progress=lambda e: started.set()))
        try:
            await asyncio.wait_for(started.wait(), 15)
            await gw.close()
            # Interrupted, or the stream seen to end short, depending on where the thread was.
            with pytest.raises(DockerError, match=r"pull interrupted|unexpected EOF"):
                await asyncio.wait_for(task, 5)
            assert await no_pull_thread_left()
        finally:
            task.cancel()
            registry.remove_local_images(docker_api, proxy.address)


# --- pure parts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("busybox", ("busybox", "latest")),
        ("busybox:1.36", ("busybox", "1.36")),
        ("docker.io/library/busybox", ("busybox", "latest")),
        ("127.0.0.1:5000/team/app", ("127.0.0.1:5000/team/app", "latest")),
        ("localhost:5000/app:v2", ("localhost:5000/app", "v2")),
        ("app@sha256:" + "a" * 64, ("app", "sha256:" + "a" * 64)),
        ("app:v1@sha256:" + "b" * 64, ("app", "sha256:" + "b" * 64)),  # the digest wins, as in docker
    ],
)
async def test_parse_image_ref(text: str, expected: tuple[str, str]) -> None:
    assert parse_image_ref(text) == expected


@pytest.mark.parametrize("text", ["-a", "--all-tags", "--all-tags=true", "-qa"])
async def test_all_tags_is_refused_for_now(text: str) -> None:
    with pytest.raises(NotAvailableYet):
        parse_image_ref(text)


@pytest.mark.integration  # runs the docker CLI
@pytest.mark.parametrize("text", ["Busybox", "busy box", "app:", "a" * 64])
async def test_bad_references_are_worded_like_the_cli(text: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_image_ref(text)
    done = cli("pull", text)  # refused by the CLI itself, before any network
    assert done.returncode != 0
    assert caught.value.message == done.stderr.strip()


async def test_progress_folds_like_the_terminal() -> None:
    progress = PullProgress("example.com/app:v1")
    events: list[dict[str, Any]] = [
        {"status": "Pulling from app", "id": "v1"},
        {"status": "Already exists", "progressDetail": {}, "id": "aaa"},
        {"status": "Pulling fs layer", "progressDetail": {}, "id": "bbb"},
        {"status": "Pulling fs layer", "progressDetail": {}, "id": "ccc"},
        {"status": "Waiting", "progressDetail": {}, "id": "ccc"},
        {"status": "Downloading", "progressDetail": {"current": 17533952, "total": 20978101}, "id": "bbb"},
    ]
    for event in events:
        progress.feed(event)
    assert progress.render() == "\n".join(
        [
            "v1: Pulling from app",
            "aaa: Already exists",
            "bbb: Downloading [=========================================>         ]  17.53MB/20.98MB",
            "ccc: Waiting",
        ]
    )
    # bbb is 83% downloaded (3/4 of its share), ccc unknown (weighed as bbb), aaa costs nothing.
    assert progress.fraction == pytest.approx(0.75 * 17533952 / 20978101 / 2)
    assert not progress.done
    progress.feed({"status": "Downloading", "progressDetail": {"current": 100, "total": 10**9}, "id": "ccc"})
    assert progress.fraction == pytest.approx(0.75 * 17533952 / 20978101 / 2)  # never backwards
    events = [
        {"status": "Pull complete", "progressDetail": {}, "id": "bbb"},
        {"status": "Pull complete", "progressDetail": {}, "id": "ccc"},
        {"status": "Digest: sha256:" + "c" * 64},
        {"status": "Status: Downloaded newer image for example.com/app:v1"},
    ]
    for event in events:
        progress.feed(event)
    assert progress.done and progress.updated and progress.fraction == 1.0
    assert progress.lines()[1:] == [
        "aaa: Already exists",
        "bbb: Pull complete",
        "ccc: Pull complete",
        "Digest: sha256:" + "c" * 64,
        "Status: Downloaded newer image for example.com/app:v1",
        "example.com/app:v1",
    ]
    assert PullProgress("busybox").lines() == ["Using default tag: latest"]
    assert progress_bar(0, 0) == ""
    assert progress_bar(3_000_000, 0) == "     3MB"  # no total: the count alone
    assert progress_bar(5, 4) == "[" + "=" * 50 + ">] " + "      5B"  # a wonky count drops the total
