"""End to end: push, tag, rmi, image prune, container prune, commit and system df, against the real engine.

Every image made here carries this session's name and is removed afterwards; the prunes are
filtered to a label value only this module uses, so nothing else on the engine is touched.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import uuid
from collections.abc import Iterator

import docker
import pytest

from bot.fakeslack import Call, FakeSlack, SlackSender
from tests.helpers import all_text, docker_cli, output_text, run_command
from tests.rig import TEST_IMAGE, TEST_LABEL, Containers, LocalRegistry, run_in_terminal, terminal_screen

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _text(call: Call) -> str:
    return all_text({"text": call.args.get("text", ""), "blocks": call.args.get("blocks") or []})


def _detail(call: Call) -> str:
    """The code block of a status message (its result or error), as a terminal would show it."""
    for block in call.args.get("blocks") or []:
        if block.get("block_id") == "detail":
            body = block["text"]["text"]
            return body.strip("`").strip("\n").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return ""


async def job(slack: SlackSender, fake: FakeSlack, text: str, user: str = "U_ALICE", timeout: float = 60) -> Call:
    """Send a command that becomes a job; its status message in its final state."""
    since = len(fake.calls)
    ack = await slack.command(text, user_id=user)
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


class Images:
    """Images this module makes: removed at the end, and only those."""

    def __init__(self, api: docker.APIClient, session: str) -> None:
        self.api = api
        self.session = session
        self.refs: list[str] = []

    def name(self, what: str, tag: str = "v1") -> str:
        ref = f"dockbell-test/{what}-{self.session}:{tag}"
        self.refs.append(ref)
        return ref

    def track(self, ref: str) -> str:
        """A name or an ID to remove at the end (an ID also catches an image whose tag moved on)."""
        self.refs.append(ref)
        return ref

    def cleanup(self) -> None:
        for ref in reversed(self.refs):
            with contextlib.suppress(docker.errors.APIError):
                self.api.remove_image(ref, force=True)


@pytest.fixture(scope="module")
def images(docker_api: docker.APIClient, containers: Containers) -> Iterator[Images]:
    made = Images(docker_api, containers.session)
    first = len(containers.created)
    yield made
    # The containers this module made go first (some run our images); the session's others stay.
    for cid in containers.created[first:]:
        with contextlib.suppress(docker.errors.NotFound):
            docker_api.remove_container(cid, force=True)
    del containers.created[first:]
    made.cleanup()


@pytest.fixture(scope="module")
def registry() -> Iterator[LocalRegistry]:
    with LocalRegistry.start() as reg:
        yield reg


async def test_tag_then_rmi(
    slack: SlackSender, fake_slack: FakeSlack, images: Images, docker_api: docker.APIClient
) -> None:
    ref = images.name("tagged")
    final = await job(slack, fake_slack, f"tag {TEST_IMAGE} {ref}")
    assert "succeeded" in _text(final), _text(final)
    assert docker_api.inspect_image(ref)["Id"] == docker_api.inspect_image(TEST_IMAGE)["Id"]
    final = await job(slack, fake_slack, f"rmi {ref}")
    assert _detail(final) == f"Untagged: {ref}"  # the image keeps its other tag: nothing deleted
    with pytest.raises(docker.errors.ImageNotFound):
        docker_api.inspect_image(ref)
    docker_api.inspect_image(TEST_IMAGE)


async def test_a_missing_image_in_docker_words(slack: SlackSender, fake_slack: FakeSlack, images: Images) -> None:
    missing = f"dockbell-test/missing-{images.session}"
    cli = subprocess.run(["docker", "rmi", missing], capture_output=True, text=True, timeout=30)
    reply = await run_command(slack, fake_slack, f"rmi {missing}")
    assert cli.stderr.strip() in all_text(reply)
    cli = subprocess.run(["docker", "push", missing], capture_output=True, text=True, timeout=30)
    reply = await run_command(slack, fake_slack, f"push {missing}")
    assert (cli.stdout + cli.stderr).strip() in all_text(reply)


async def test_rmi_of_an_image_in_use_by_a_running_container(
    slack: SlackSender,
    fake_slack: FakeSlack,
    images: Images,
    containers: Containers,
    docker_api: docker.APIClient,
) -> None:
    base = containers.run("commit-base", ["sleep", "3600"])
    ref = images.name("inuse")
    repo, tag = ref.rsplit(":", 1)
    image_id = images.track(docker_api.commit(base, repository=repo, tag=tag)["Id"])
    user = docker_api.create_container(
        ref, ["sleep", "3600"], name=f"dockbell-t{containers.session}-inuse", labels={TEST_LABEL: containers.session}
    )
    containers.created.append(user["Id"])
    docker_api.start(user["Id"])
    short = image_id.removeprefix("sha256:")[:12]  # by name, -f would only untag it
    cli = subprocess.run(["docker", "rmi", "-f", short], capture_output=True, text=True, timeout=30)
    assert cli.returncode != 0 and "image is being used by running container" in cli.stderr
    final = await job(slack, fake_slack, f"rmi -f {short}")
    assert "failed" in _text(final)
    assert _detail(final) == cli.stderr.strip()
    assert docker_api.inspect_image(image_id)["Id"] == image_id


async def test_commit_with_changes(
    slack: SlackSender, fake_slack: FakeSlack, images: Images, containers: Containers, docker_api: docker.APIClient
) -> None:
    name = containers.run("commit-src", ["sh", "-c", "echo made > /tmp/made; sleep 3600"])
    ref = images.name("committed")
    text = (
        f"""commit -c 'CMD ["cat", "/tmp/made"]' -c "ENV GREETING=hello" -c "LABEL dockbell.test.commit=yes" """
        f"""-m "from chat" -a "Dock Bell <bell@example.com>" {name} {ref}"""
    )
    final = await job(slack, fake_slack, text)
    assert "succeeded" in _text(final), _text(final)
    inspected = docker_api.inspect_image(ref)
    images.track(inspected["Id"])
    assert _detail(final) == inspected["Id"]  # the CLI prints the new image's ID
    assert inspected["Config"]["Cmd"] == ["cat", "/tmp/made"]
    assert "GREETING=hello" in inspected["Config"]["Env"]
    assert inspected["Config"]["Labels"]["dockbell.test.commit"] == "yes"
    assert inspected["Comment"] == "from chat" and inspected["Author"] == "Dock Bell <bell@example.com>"


async def test_push_and_pull_through_the_local_registry(
    slack: SlackSender,
    fake_slack: FakeSlack,
    images: Images,
    registry: LocalRegistry,
    docker_api: docker.APIClient,
) -> None:
    ref = images.track(registry.ref(f"dockbell-push-{images.session}"))
    docker_api.tag(TEST_IMAGE, ref.rsplit(":", 1)[0], "v1")
    final = await job(slack, fake_slack, f"push {ref}")
    detail = _detail(final)
    assert "succeeded" in _text(final), _text(final)
    assert detail.startswith(f"The push refers to repository [{ref.rsplit(':', 1)[0]}]")
    assert re.search(r"^v1: digest: sha256:[0-9a-f]{64} size: \d+$", detail, re.M), detail
    # Pushed again, every layer exists already: the screen is what the CLI's terminal shows.
    final = await job(slack, fake_slack, f"push {ref}")
    code, raw = run_in_terminal(["docker", "push", ref])
    assert code == 0
    assert _detail(final).split("\n") == terminal_screen(raw)
    # And back: removed here, pulled from the registry.
    docker_api.remove_image(ref)
    final = await job(slack, fake_slack, f"pull {ref}")
    assert "succeeded" in _text(final), _text(final)
    assert docker_api.inspect_image(ref)["Id"] == docker_api.inspect_image(TEST_IMAGE)["Id"]


def _dangling(api: docker.APIClient, containers: Containers, label: str) -> str:
    """A dangling image carrying ``label``: a commit of a stopped container without a name."""
    source = containers.run(f"dangling-{uuid.uuid4().hex[:6]}", ["true"], wait_exit=True)
    return str(api.commit(source, changes=[f"LABEL {label}"])["Id"])


async def test_image_prune_removes_only_the_filtered_dangling_images(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, docker_api: docker.APIClient
) -> None:
    value = uuid.uuid4().hex
    label = f"dockbell.test.prune={value}"
    ours, theirs = _dangling(docker_api, containers, label), _dangling(docker_api, containers, label + "-cli")
    reply = await run_command(slack, fake_slack, f"image prune --filter label={label}")
    assert "WARNING! This will remove all dangling images." in all_text(reply)
    assert "Nothing was removed" in all_text(reply)
    docker_api.inspect_image(ours)
    final = await job(slack, fake_slack, f"image prune -f --filter label={label}")
    with pytest.raises(docker.errors.ImageNotFound):
        docker_api.inspect_image(ours)
    docker_api.inspect_image(theirs)  # another label value: untouched
    expected = docker_cli("image", "prune", "-f", "--filter", f"label={label}-cli")
    assert _detail(final) == expected.replace(theirs, ours)


async def test_container_prune_removes_only_the_filtered_stopped_containers(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, docker_api: docker.APIClient
) -> None:
    value = uuid.uuid4().hex
    stopped = containers.run("prune-me", ["true"], labels={"dockbell.test.prune": value}, wait_exit=True)
    running = containers.run("keep-me", ["sleep", "3600"], labels={"dockbell.test.prune": value})
    other = containers.run("prune-cli", ["true"], labels={"dockbell.test.prune": value + "-cli"}, wait_exit=True)
    stopped_id = docker_api.inspect_container(stopped)["Id"]
    final = await job(slack, fake_slack, f"container prune -f --filter label=dockbell.test.prune={value}")
    with pytest.raises(docker.errors.NotFound):
        docker_api.inspect_container(stopped)
    docker_api.inspect_container(running)
    other_id = docker_api.inspect_container(other)["Id"]
    expected = docker_cli("container", "prune", "-f", "--filter", f"label=dockbell.test.prune={value}-cli")
    assert _detail(final) == expected.replace(other_id, stopped_id)


async def test_system_df_as_the_cli_prints_it(slack: SlackSender, fake_slack: FakeSlack) -> None:
    # Between the two reads a STATUS column can tick, and the engine lists images created in
    # the same second in no fixed order (each read may differ): a few tries.
    for args in (["system", "df"], ["system", "df", "-v"], ["system", "df", "--format", "{{.Type}}: {{.Size}}"]):
        text = " ".join(args[1:]).replace("{{.Type}}: {{.Size}}", "'{{.Type}}: {{.Size}}'")
        for _ in range(12):
            ours = output_text(await run_command(slack, fake_slack, "system " + text))
            if ours == docker_cli(*args):
                break
        else:
            assert ours == docker_cli(*args)


async def test_refusals_name_the_rule(slack: SlackSender, fake_slack: FakeSlack) -> None:
    # Dave has only the basics; Bob reads only what is labelled team=payments, so nothing host-wide.
    for user, text in (
        ("U_DAVE", f"rmi {TEST_IMAGE}"),
        ("U_DAVE", "image prune -f"),
        ("U_BOB", "system df"),
        ("U_BOB", "container prune -f"),
    ):
        reply = all_text(await run_command(slack, fake_slack, text, user_id=user))
        assert "Not allowed" in reply and "Refused by:" in reply, (user, text, reply)
