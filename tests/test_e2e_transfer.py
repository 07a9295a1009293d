"""End to end: export, cp, save, load, import and build, with files through the fake Slack.

A dockbell of its own (its own Redis, so its worker is the only one) whose transfer config
uploads up to 1 MB and writes larger archives to a temporary export directory.  URLs are
served from 127.0.0.1 by an aiohttp app in the test: the engine (on this host) fetches
import and build sources from there, the worker fetches load's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import subprocess
import tarfile
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import docker
import pytest
import pytest_asyncio
from aiohttp import web

from bot.config import TransferConfig
from bot.fakeslack import Call, FakeSlack, SlackSender
from tests.conftest import SIGNING_SECRET, bot_settings, make_test_config, wait_for_worker
from tests.helpers import all_text, run_command
from tests.rig import TEST_IMAGE, TEST_LABEL, Containers, RedisServer, busybox_tarball
from tests.stack import start_stack
from tests.test_e2e_images_ops import Images, _detail, _text

pytestmark = pytest.mark.asyncio(loop_scope="session")

MAX_UPLOAD = 1024 * 1024


@dataclasses.dataclass
class Rig:
    sender: SlackSender
    export_dir: Path
    files: dict[str, bytes]  # what the web server serves, by path
    base_url: str
    git_dir: Path


def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _git_repo(root: Path, files: dict[str, bytes]) -> Path:
    """A bare repository ``root/ctx.git`` holding ``files``, ready for git's dumb HTTP protocol."""
    work, bare = root / "work", root / "ctx.git"
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
    work.mkdir()
    for name, data in files.items():
        (work / name).write_bytes(data)

    def git(*args: str, cwd: Path = work) -> None:
        subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env={**env, "HOME": str(root)})

    git("init", "-q", "-b", "master")  # the ref engines before 23 fetch by default
    git("add", ".")
    git("commit", "-q", "-m", "context")
    git("clone", "-q", "--bare", str(work), str(bare), cwd=root)
    git("update-server-info", cwd=bare)
    return bare


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def rig(fake_slack: FakeSlack, docker_api: docker.APIClient) -> AsyncIterator[Rig]:
    with tempfile.TemporaryDirectory(prefix="dockbell-transfer-") as tmp:
        root = Path(tmp)
        export_dir = root / "exports"
        files: dict[str, bytes] = {}

        async def serve(request: web.Request) -> web.StreamResponse:
            body = files.get(request.match_info["path"])
            if body is None:
                return web.Response(status=404)
            return web.Response(body=body, content_type="application/x-tar")

        git_root = root / "git"
        git_root.mkdir()
        app = web.Application()
        app.router.add_static("/git/", git_root)
        app.router.add_get("/{path:.+}", serve)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"

        redis = RedisServer.start()
        base = make_test_config()
        transfer = TransferConfig(max_upload_bytes=MAX_UPLOAD, export_dir=str(export_dir))
        config = dataclasses.replace(base, transfer=transfer)
        stack = await start_stack(bot_settings(fake_slack, redis.url), config)
        sender = SlackSender(fake_slack, stack.url + "/slack/events", SIGNING_SECRET)
        try:
            await wait_for_worker(redis.url, "local")
            yield Rig(sender, export_dir, files, base_url, git_root)
        finally:
            await sender.close()
            await stack.stop()
            redis.stop()
            await runner.cleanup()


@pytest.fixture(scope="module")
def images(docker_api: docker.APIClient, containers: Containers) -> Iterator[Images]:
    made = Images(docker_api, containers.session)
    first = len(containers.created)
    yield made
    for cid in containers.created[first:]:  # containers of our images first; the session's others stay
        with contextlib.suppress(docker.errors.NotFound):
            docker_api.remove_container(cid, force=True)
    del containers.created[first:]
    made.cleanup()


async def job(rig: Rig, fake: FakeSlack, text: str, timeout: float = 90) -> Call:
    since = len(fake.calls)
    ack = await rig.sender.command(text, user_id="U_ALICE")
    assert ack.status == 200
    posted = await fake.wait_for_call(
        "chat.postMessage", lambda c: c.args.get("channel") == "C_GENERAL" and "job `j-" in _text(c), since=since
    )
    ts = posted.response["ts"] if posted.response else ""
    return await fake.wait_for_call(
        "chat.update",
        lambda c: c.args.get("ts") == ts and any(w in _text(c) for w in ("succeeded", "failed", "cancelled")),
        timeout=timeout,
        since=since,
    )


def _upload(fake: FakeSlack, filename: str) -> bytes:
    found = [f for f in fake.files.values() if f.filename == filename and f.completed]
    assert found, f"no upload named {filename}: {[f.filename for f in fake.files.values()]}"
    assert found[-1].channel == "C_GENERAL" and found[-1].thread_ts  # under the job's status message
    return bytes(found[-1].content or b"")


def _tiny_image(api: docker.APIClient, images: Images) -> str:
    ref = images.name("tiny")
    repo, tag = ref.rsplit(":", 1)
    api.import_image_from_data(_tar({"hello.txt": b"hello from a tiny image\n"}), repository=repo, tag=tag)
    images.track(api.inspect_image(ref)["Id"])  # the tag moves to the next tiny image: the ID stays ours
    return ref


async def test_export_goes_up_as_a_tar(
    rig: Rig, fake_slack: FakeSlack, images: Images, containers: Containers, docker_api: docker.APIClient
) -> None:
    tiny = _tiny_image(docker_api, images)
    made = docker_api.create_container(
        tiny, ["none"], name=f"dockbell-t{containers.session}-tiny", labels={TEST_LABEL: containers.session}
    )
    containers.created.append(made["Id"])
    name = f"dockbell-t{containers.session}-tiny"
    final = await job(rig, fake_slack, f"export {name}")
    assert "succeeded" in _text(final) and f"{name}.tar" in _detail(final) and "uploaded" in _detail(final)
    with tarfile.open(fileobj=io.BytesIO(_upload(fake_slack, f"{name}.tar"))) as tar:
        member = tar.extractfile("hello.txt")
        assert member is not None and member.read() == b"hello from a tiny image\n"
    assert not any(rig.export_dir.iterdir())  # the work file went with the upload


async def test_a_large_export_is_written_to_the_export_directory(
    rig: Rig, fake_slack: FakeSlack, containers: Containers
) -> None:
    name = containers.run("big-export", ["sleep", "3600"])  # busybox: about 2 MB, over the 1 MB limit
    final = await job(rig, fake_slack, f"export {name}")
    detail = _detail(final)
    assert "succeeded" in _text(final) and "transfer.max_upload" in detail, detail
    (kept,) = [p for p in rig.export_dir.iterdir() if p.name.endswith(f"{name}.tar")]
    assert f"written to {kept} on host local" in detail
    with tarfile.open(kept) as tar:
        assert "bin/busybox" in tar.getnames()
    kept.unlink()


async def test_an_archive_slack_refuses_is_kept_in_the_export_directory(
    rig: Rig, fake_slack: FakeSlack, containers: Containers
) -> None:
    name = containers.run("cp-refused", ["sh", "-c", "echo kept > /tmp/kept; sleep 3600"])
    for _ in range(50):  # the container writes the file as it starts
        fake_slack.fail_next("files.completeUploadExternal", error="not_in_channel")
        final = await job(rig, fake_slack, f"cp {name}:/tmp/kept -")
        if "Slack did not take the file" in _detail(final):
            break
    (kept,) = [p for p in rig.export_dir.iterdir() if p.name.endswith("-kept")]
    assert f"written to {kept}" in _detail(final) and "succeeded" in _text(final)
    assert kept.read_bytes() == b"kept\n"
    kept.unlink()


async def test_cp_of_a_file_and_of_a_folder(rig: Rig, fake_slack: FakeSlack, containers: Containers) -> None:
    name = containers.run("cp-src", ["sh", "-c", "mkdir /tmp/d; echo hello > /tmp/d/greeting; sleep 3600"])
    reply = await run_command(rig.sender, fake_slack, f"cp {name}:/tmp/d/greeting /tmp/x")
    assert "the destination must be `-`" in all_text(reply)
    for _ in range(50):  # the container writes the file as it starts
        final = await job(rig, fake_slack, f"cp {name}:/tmp/d/greeting -")
        if "succeeded" in _text(final):
            break
    assert _upload(fake_slack, "greeting") == b"hello\n"
    final = await job(rig, fake_slack, f"cp {name}:/tmp/d -")
    assert "succeeded" in _text(final), _text(final)
    with tarfile.open(fileobj=io.BytesIO(_upload(fake_slack, "d.tar"))) as tar:
        assert sorted(tar.getnames()) == ["d", "d/greeting"]
    final = await job(rig, fake_slack, f"cp {name}:/nonexistent -")
    assert "failed" in _text(final) and "Could not find the file /nonexistent in container" in _detail(final)


async def test_save_and_load_round_trip(
    rig: Rig, fake_slack: FakeSlack, images: Images, docker_api: docker.APIClient
) -> None:
    tiny = _tiny_image(docker_api, images)
    image_id = docker_api.inspect_image(tiny)["Id"]
    final = await job(rig, fake_slack, f"save {tiny}")
    assert "succeeded" in _text(final), _text(final)
    archive = _upload(fake_slack, tiny.replace("/", "_").replace(":", "_") + ".tar")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        assert "manifest.json" in tar.getnames()
    docker_api.remove_image(tiny)
    rig.files["saved.tar"] = archive
    final = await job(rig, fake_slack, f"load -i {rig.base_url}/saved.tar")
    assert "succeeded" in _text(final), _text(final)
    assert _detail(final) == f"Loaded image: {tiny}"
    assert docker_api.inspect_image(tiny)["Id"] == image_id
    reply = await run_command(rig.sender, fake_slack, "load")
    assert "give the archive's URL with `-i URL`" in all_text(reply)


async def test_import_from_a_url(rig: Rig, fake_slack: FakeSlack, images: Images, docker_api: docker.APIClient) -> None:
    rig.files["rootfs.tar"] = busybox_tarball()
    ref = images.name("imported")
    final = await job(
        rig,
        fake_slack,
        f"""import -c 'CMD ["sh"]' -c "LABEL {TEST_LABEL}=import" -m "from a URL" """
        f"{rig.base_url}/rootfs.tar {ref}",
    )
    assert "succeeded" in _text(final), _text(final)
    inspected = docker_api.inspect_image(ref)
    assert _detail(final) == inspected["Id"]
    assert inspected["Config"]["Cmd"] == ["sh"] and inspected["Comment"] == "from a URL"
    reply = await run_command(rig.sender, fake_slack, f"import /etc/passwd {ref}")
    assert "must be an http:// or https:// URL" in all_text(reply)


DOCKERFILE = f"""FROM {TEST_IMAGE} AS first
ARG GREETING=unset
RUN echo "$GREETING" > /greeting && sleep 1.5
LABEL {TEST_LABEL}.build=main

FROM {TEST_IMAGE} AS second
LABEL {TEST_LABEL}.build=second
""".encode()


async def test_build_from_a_tarball_url(
    rig: Rig, fake_slack: FakeSlack, images: Images, docker_api: docker.APIClient
) -> None:
    rig.files["ctx.tar"] = _tar({"Dockerfile.alt": DOCKERFILE})
    ref = images.name("built")
    final = await job(
        rig,
        fake_slack,
        "build -f Dockerfile.alt --target first --build-arg GREETING=hi --no-cache "
        f"--label dockbell.test.session={images.session} -t {ref} {rig.base_url}/ctx.tar",
    )
    assert "succeeded" in _text(final), _text(final)
    # The log streamed into the status message while the job ran.
    running = [c for c in fake_slack.calls if c.method == "chat.update" and c.args.get("ts") == final.args["ts"]]
    assert any("running" in _text(c) and "Step 1/" in _detail(c) for c in running)
    inspected = docker_api.inspect_image(ref)
    detail = _detail(final)
    assert detail.endswith(inspected["Id"]) and "Successfully tagged " + ref in detail
    assert inspected["Config"]["Labels"][f"{TEST_LABEL}.build"] == "main"
    assert inspected["Config"]["Labels"]["dockbell.test.session"] == images.session
    made = docker_api.create_container(ref, ["cat", "/greeting"], labels={TEST_LABEL: images.session})
    try:
        docker_api.start(made["Id"])
        docker_api.wait(made["Id"], timeout=30)
        assert docker_api.logs(made["Id"]) == b"hi\n"
    finally:
        docker_api.remove_container(made["Id"], force=True)


async def test_a_failing_build_shows_its_log_and_fails(rig: Rig, fake_slack: FakeSlack) -> None:
    rig.files["broken.tar"] = _tar(
        {"Dockerfile": f"FROM {TEST_IMAGE}\nRUN echo before-the-failure && exit 3\n".encode()}
    )
    final = await job(rig, fake_slack, f"build --force-rm {rig.base_url}/broken.tar")
    detail = _detail(final)
    assert "failed" in _text(final)
    assert "before-the-failure" in detail and "Step 2/2 : RUN echo before-the-failure && exit 3" in detail
    assert detail.endswith("returned a non-zero code: 3"), detail


async def test_build_from_a_git_url(
    rig: Rig, fake_slack: FakeSlack, images: Images, docker_api: docker.APIClient
) -> None:
    _git_repo(rig.git_dir, {"Dockerfile": f"FROM {TEST_IMAGE}\nLABEL {TEST_LABEL}.build=git\n".encode()})
    ref = images.name("from-git")
    final = await job(rig, fake_slack, f"build -t {ref} {rig.base_url}/git/ctx.git")
    assert "succeeded" in _text(final), _text(final)
    assert docker_api.inspect_image(ref)["Config"]["Labels"][f"{TEST_LABEL}.build"] == "git"


async def test_local_contexts_and_environment_are_refused(rig: Rig, fake_slack: FakeSlack) -> None:
    for text, words in (
        ("build .", "must be a git URL or a tarball's URL"),
        ("build -", "must be a git URL or a tarball's URL"),
        (f"build --build-arg HOME {rig.base_url}/ctx.tar", "would read the worker's environment"),
        ("export -o /tmp/x.tar some", "--output"),
        (f"build -t Bad {rig.base_url}/ctx.tar", 'invalid argument "Bad" for "-t, --tag" flag'),
    ):
        assert words in all_text(await run_command(rig.sender, fake_slack, text)), text
