"""End to end: `docker compose` for projects known by their labels, and the compose CLI run with a project's files.

The label-only verbs (ls, ps, logs, start, stop, restart) are tested on a project made by labels
alone, which any machine can do; the CLI verbs (up -d, down) with a real compose CLI, where the
machine has one (Debian's docker-compose; scripts/test installs it).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from bot.cli_output.tabwriter import render_tabbed
from bot.fakeslack import Call, FakeSlack, SlackSender
from tests.helpers import all_text, docker_cli, eventually, output_text, run_command
from tests.rig import TEST_IMAGE, TEST_LABEL, Containers

pytestmark = pytest.mark.asyncio(loop_scope="session")

PROJECT = "com.docker.compose.project"
SERVICE = "com.docker.compose.service"


def _text(call: Call) -> str:
    return all_text({"text": call.args.get("text", ""), "blocks": call.args.get("blocks") or []})


async def _jobs(slack: SlackSender, fake: FakeSlack, text: str, count: int, user: str = "U_ALICE") -> list[str]:
    """Run a command that queues ``count`` jobs; the final texts of their status messages."""
    since = len(fake.calls)
    ack = await slack.command(text, user_id=user)
    assert ack.status == 200 and ack.elapsed < 3.0
    finals: dict[str, str] = {}

    async def done() -> bool:
        posted = {str(c.response["ts"]) for c in fake.calls[since:] if c.method == "chat.postMessage" and c.response}
        for c in fake.calls[since:]:
            if c.method == "chat.update" and c.args.get("ts") in posted:
                text = _text(c)
                if any(w in text for w in ("succeeded", "failed")):
                    finals[str(c.args["ts"])] = text
        return len(finals) >= count

    await eventually(done, what=f"{count} finished jobs for {text}", timeout=90)
    return list(finals.values())


def _compose_cli() -> list[str] | None:
    for argv in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(argv[0]) is None:
            continue
        done = subprocess.run([*argv, "version"], capture_output=True, timeout=30)
        if done.returncode == 0:
            return argv
    return None


def _started(api: docker.APIClient, project: str) -> dict[str, str]:
    found = api.containers(all=True, filters={"label": [f"{PROJECT}={project}"]})
    return {c["Names"][0].lstrip("/"): api.inspect_container(c["Id"])["State"]["StartedAt"] for c in found}


def _ls_table(rows: list[tuple[str, str, str]]) -> str:
    """compose ls's own table: tabwriter (20, 1, 3) over NAME, STATUS, CONFIG FILES."""
    body = "".join(f"{a}\t{b}\t{c}\n" for a, b, c in [("NAME", "STATUS", "CONFIG FILES"), *rows])
    return render_tabbed(body, minwidth=20, tabwidth=1, padding=3).rstrip("\n")


@pytest.fixture
def labelled(containers: Containers, docker_api: docker.APIClient) -> Iterator[str]:
    """A project made by labels alone (no compose file, no compose CLI): containers PROJECT-api and PROJECT-web."""
    tag = uuid.uuid4().hex[:4]
    project = f"dockbell-t{containers.session}-l{tag}"
    made = [
        containers.run(
            f"l{tag}-{service}",
            ["sh", "-c", f"echo hello from {service}; sleep 3600"],
            labels={PROJECT: project, SERVICE: service},
        )
        for service in ("api", "web")
    ]
    yield project
    for name in made:
        with contextlib.suppress(docker.errors.APIError):
            docker_api.remove_container(name, force=True)


async def test_label_only_project(
    slack: SlackSender, fake_slack: FakeSlack, labelled: str, containers: Containers, docker_api: docker.APIClient
) -> None:
    project = prefix = labelled
    where = f"name=^{project}$"
    ls = output_text(await run_command(slack, fake_slack, f"compose ls --filter {where}"))
    assert ls == _ls_table([(project, "running(2)", "N/A")])  # no config files recorded
    assert output_text(await run_command(slack, fake_slack, f"compose ls -q --filter {where}")) == project
    as_json = json.loads(
        output_text(await run_command(slack, fake_slack, f"compose ls --format json --filter {where}"))
    )
    assert as_json == [{"Name": project, "Status": "running(2)", "ConfigFiles": "N/A"}]

    # compose ps: sorted by name; the same cells as docker ps shows for those containers.
    fields = "{{.Image}}\t{{.Command}}\t{{.Ports}}"
    ours = output_text(
        await run_command(slack, fake_slack, f"compose ps -p {project} --format 'table {{{{.Name}}}}\t{fields}'")
    )
    theirs = docker_cli("ps", "--filter", f"label={PROJECT}={project}", "--format", f"table {{{{.Names}}}}\t{fields}")
    head, *rows = theirs.splitlines()
    assert ours.splitlines() == [head.replace("NAMES", "NAME ", 1), *sorted(rows)]
    default = output_text(await run_command(slack, fake_slack, f"compose -p {project} ps"))
    assert default.split()[:7] == ["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"]
    assert f"{prefix}-api" in default and " api " in default
    services = output_text(await run_command(slack, fake_slack, f"compose ps -p {project} --services"))
    assert services.splitlines() == ["api", "web"]

    # logs: each line prefixed by its container's name, padded as compose pads them.
    logs = output_text(await run_command(slack, fake_slack, f"compose logs -p {project}"))
    width = len(f"{prefix}-api") + 1
    assert sorted(logs.splitlines()) == [
        f"{prefix + '-api':<{width}}| hello from api",
        f"{prefix + '-web':<{width}}| hello from web",
    ]
    only_web = output_text(await run_command(slack, fake_slack, f"compose logs -p {project} --no-log-prefix web"))
    assert only_web == "hello from web"

    # restart: one job per container, each through the gate and the queue.
    before = _started(docker_api, project)
    finals = await _jobs(slack, fake_slack, f"compose restart -t 0 -p {project}", 2)
    assert all("succeeded" in f and "restarted" in f for f in finals), finals
    after = _started(docker_api, project)
    assert after.keys() == before.keys() and all(after[n] != before[n] for n in before)

    finals = await _jobs(slack, fake_slack, f"compose stop -t 0 -p {project} web", 1)
    assert "stopped" in finals[0]
    ls = output_text(await run_command(slack, fake_slack, f"compose ls -a --filter {where}"))
    assert ls == _ls_table([(project, "exited(1), running(1)", "N/A")])
    finals = await _jobs(slack, fake_slack, f"compose start -p {project}", 2)
    assert all("succeeded" in f for f in finals)

    # The CLI verbs need the project's recorded files, which a label-only project has none of.
    up = all_text(await run_command(slack, fake_slack, f"compose up -d -p {project}"))
    assert "has no recorded compose files" in up and "only ps, logs, start, stop and restart" in up


async def test_compose_hidden_and_missing_projects(
    slack: SlackSender, fake_slack: FakeSlack, labelled: str, containers: Containers
) -> None:
    missing = f"dockbell-t{containers.session}-nope"
    for text in (f"compose restart -p {missing}", f"compose logs -p {missing}", f"compose down -p {missing}"):
        said = all_text(await run_command(slack, fake_slack, text))
        assert f'no container found for project "{missing}": not found' in said, text
    # Bob sees only team=payments: the labelled project is missing for him, word for word.
    hidden = all_text(await run_command(slack, fake_slack, f"compose logs -p {labelled}", user_id="U_BOB"))
    assert f'no container found for project "{labelled}": not found' in hidden
    assert (
        output_text(await run_command(slack, fake_slack, f"compose ls -q --filter name=^{labelled}$", user_id="U_BOB"))
        == ""
    )
    refused = all_text(await run_command(slack, fake_slack, f"compose restart -p {labelled}", user_id="U_DAVE"))
    assert "Not allowed" in refused and "restart" in refused
    no_name = all_text(await run_command(slack, fake_slack, "compose ps"))
    assert "no project name: give it with -p PROJECT" in no_name
    attach = all_text(await run_command(slack, fake_slack, f"compose up -p {labelled}"))
    assert "without -d would attach" in attach


@pytest.fixture
def cli_project(tmp_path: Path, containers: Containers, docker_api: docker.APIClient) -> Iterator[tuple[str, Path]]:
    cli = _compose_cli()
    if cli is None:
        # .ci/run installs it (scripts/test): there, a missing CLI is a failure, not a skip.
        assert os.environ.get("CI") != "true", "no compose CLI in CI: scripts/test should have installed it"
        pytest.skip("no compose CLI on this machine (scripts/test installs Debian's docker-compose)")
    project = f"dockbell-t{containers.session}-shop"
    service = f"""
    image: {TEST_IMAGE}
    labels: {{{TEST_LABEL}: "{containers.session}"}}"""
    (tmp_path / "docker-compose.yml").write_text(
        'version: "3"\nservices:\n'
        f"  web:{service}\n    command: [sh, -c, 'echo hello from web; sleep 3600']\n"
        f"  worker:{service}\n    command: [sh, -c, 'echo hello from worker; sleep 3600']\n"
    )
    subprocess.run([*cli, "-p", project, "up", "-d"], cwd=tmp_path, check=True, capture_output=True, timeout=120)
    yield project, tmp_path
    subprocess.run([*cli, "-p", project, "down"], cwd=tmp_path, capture_output=True, timeout=120)
    for c in docker_api.containers(all=True, filters={"label": [f"{PROJECT}={project}"]}):
        with contextlib.suppress(docker.errors.APIError):
            docker_api.remove_container(c["Id"], force=True)
    for n in docker_api.networks(filters={"label": [f"{PROJECT}={project}"]}):
        with contextlib.suppress(docker.errors.APIError):
            docker_api.remove_network(n["Id"])


async def test_compose_project_with_the_cli(
    slack: SlackSender, fake_slack: FakeSlack, cli_project: tuple[str, Path], docker_api: docker.APIClient
) -> None:
    project, folder = cli_project
    labels = docker_api.containers(filters={"label": [f"{PROJECT}={project}"]})[0]["Labels"]
    files = labels["com.docker.compose.project.config_files"]
    assert labels["com.docker.compose.project.working_dir"] == str(folder)
    ls = output_text(await run_command(slack, fake_slack, f"compose ls --filter name=^{project}$"))
    assert ls == _ls_table([(project, "running(2)", files)])

    ps = output_text(await run_command(slack, fake_slack, f"compose ps -p {project} --format '{{{{.Service}}}}'"))
    assert ps.splitlines() == ["web", "worker"]
    logs = output_text(await run_command(slack, fake_slack, f"compose logs -p {project} --no-log-prefix"))
    assert sorted(logs.splitlines()) == ["hello from web", "hello from worker"]

    before = _started(docker_api, project)
    finals = await _jobs(slack, fake_slack, f"compose restart -t 0 -p {project}", 2)
    assert all("succeeded" in f for f in finals), finals
    after = _started(docker_api, project)
    assert all(after[n] != before[n] for n in before)

    # up -d after a stop: the compose CLI, run with the project's own files, starts them again.
    await _jobs(slack, fake_slack, f"compose stop -t 0 -p {project}", 2)
    finals = await _jobs(slack, fake_slack, f"compose up -d -p {project}", 1)
    assert "succeeded" in finals[0], finals
    assert all(c["State"] == "running" for c in docker_api.containers(filters={"label": [f"{PROJECT}={project}"]}))
    assert len(docker_api.containers(filters={"label": [f"{PROJECT}={project}"]})) == 2

    finals = await _jobs(slack, fake_slack, f"compose down -p {project}", 1)
    assert "succeeded" in finals[0], finals
    assert docker_api.containers(all=True, filters={"label": [f"{PROJECT}={project}"]}) == []
    gone = all_text(await run_command(slack, fake_slack, f"compose ps -q -p {project}"))
    assert project not in gone.replace(f"compose ps -q -p {project}", "")
