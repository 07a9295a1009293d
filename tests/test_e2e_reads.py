"""End to end: signed `/docker ...` in, real Docker and Redis, what the fake Slack received asserted."""

from __future__ import annotations

import asyncio
import re
import subprocess

import pytest

from bot.fakeslack import FakeSlack, SlackSender
from bot.slack.render import SHARE_ACTION
from tests.helpers import all_text, button, code_blocks, docker_cli, first_code, output_text, run_command
from tests.rig import TEST_IMAGE, Containers, free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")

WEB_PORT = free_port()  # chosen per run: two test runs on one engine must not fight over a port
# The tables compared with the CLI list this module's containers only: other modules of the
# session (a 50-container storm, crash loops) must not push them past an inline answer.
MODULE_LABEL = "dockbell.test.module"


def reads(containers: Containers) -> dict[str, str]:
    return {MODULE_LABEL: f"reads-{containers.session}"}


@pytest.fixture(scope="module")
def web(containers: Containers) -> str:
    return containers.run(
        "web", ["sleep", "3600"], ports={80: WEB_PORT, 443: None}, labels={"team": "payments", **reads(containers)}
    )


@pytest.fixture(scope="module")
def crashed(containers: Containers) -> str:
    return containers.run(
        "crashed",
        ["sh", "-c", "echo starting; sleep 0.2; echo boom >&2; exit 3"],
        labels=reads(containers),
        wait_exit=True,
    )


@pytest.fixture(scope="module")
def chatty(containers: Containers) -> str:
    script = (
        "echo API_TOKEN is $API_TOKEN; echo db at $DATABASE_URL; "
        "i=1; while [ $i -le 400 ]; do echo line $i of the chatty log output; i=$((i+1)); done; sleep 3600"
    )
    return containers.run(
        "chatty",
        ["sh", "-c", script],
        env=["API_TOKEN=tok-supersecret-123", "DATABASE_URL=postgres://app:hunter22@db:5432/app", "MODE=prod"],
        labels=reads(containers),
    )


def session_filter(containers: Containers) -> str:
    """This session's containers made by this module."""
    return f"label={MODULE_LABEL}=reads-{containers.session}"


async def test_ps_matches_the_docker_cli(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, web: str, crashed: str
) -> None:
    fmt = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.Ports}}\t{{.Names}}\t{{.Labels}}"
    flt = session_filter(containers)
    reply = await run_command(slack, fake_slack, f"ps -a --filter {flt} --format '{fmt}'")
    assert output_text(reply) == docker_cli("ps", "-a", "--filter", flt, "--format", fmt)


async def test_default_ps_table_matches_the_docker_cli(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, web: str, crashed: str
) -> None:
    flt = session_filter(containers)
    # CREATED and STATUS tick with the clock; a second try covers a tick between the two reads.
    for _ in range(10):  # a busy machine can put a second boundary between the two reads again and again
        reply = await run_command(slack, fake_slack, f"ps -a --filter {flt}")
        expected = docker_cli("ps", "-a", "--filter", flt)
        if output_text(reply) == expected:
            break
    assert output_text(reply) == expected
    lines = expected.splitlines()
    assert lines[0].startswith("CONTAINER ID   IMAGE")
    assert any("Exited (3)" in line for line in lines)


async def test_ps_quiet_and_filters(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, web: str, crashed: str
) -> None:
    flt = session_filter(containers)
    reply = await run_command(slack, fake_slack, f"container ls -aq -f {flt} -f exited=3")
    assert output_text(reply) == docker_cli("ps", "-aq", "--filter", flt, "--filter", "exited=3")
    assert output_text(reply) and all(len(line) == 12 for line in output_text(reply).splitlines())


async def test_images_match_the_docker_cli(slack: SlackSender, fake_slack: FakeSlack, docker_api: object) -> None:
    reply = await run_command(slack, fake_slack, f"images {TEST_IMAGE.split(':')[0]}")
    assert output_text(reply) == docker_cli("images", TEST_IMAGE.split(":")[0])
    reply = await run_command(slack, fake_slack, "image ls -q --filter label=dockbell.test.image=1")
    assert output_text(reply) == docker_cli("images", "-q", "--filter", "label=dockbell.test.image=1")
    assert output_text(reply) and all(len(line) == 12 for line in output_text(reply).splitlines())


async def test_inspect_format_and_redaction(slack: SlackSender, fake_slack: FakeSlack, chatty: str) -> None:
    reply = await run_command(slack, fake_slack, f"inspect -f '{{{{.State.Status}}}} {{{{.Name}}}}' {chatty}")
    assert output_text(reply) == f"running /{chatty}"
    reply = await run_command(slack, fake_slack, f"inspect {chatty}")
    shown = output_text(reply) + all_text(reply)
    assert '"API_TOKEN=[REDACTED]"' in shown
    assert '"MODE=prod"' in shown
    assert "tok-supersecret-123" not in shown and "hunter22" not in shown
    assert "postgres://app:[REDACTED]@db:5432/app" in shown


async def test_logs_tail_and_redaction(slack: SlackSender, fake_slack: FakeSlack, chatty: str) -> None:
    await _wait_for_log_line(chatty, "line 400 of")
    reply = await run_command(slack, fake_slack, f"logs --tail 3 {chatty}")
    assert output_text(reply) == docker_cli("logs", "--tail", "3", chatty)
    # Longer than one Block Kit section: several code blocks, together exactly the CLI's output.
    reply = await run_command(slack, fake_slack, f"logs --tail 150 {chatty}")
    assert len([b for b in reply["blocks"] if b.get("block_id", "").startswith("out-")]) > 1
    assert output_text(reply) == docker_cli("logs", "--tail", "150", chatty)
    reply = await run_command(slack, fake_slack, f"logs -n 500 {chatty}")
    assert "tok-supersecret-123" not in all_text(reply)


async def _wait_for_log_line(name: str, needle: str) -> None:
    for _ in range(50):
        if needle in docker_cli("logs", "--tail", "2", name):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name} never logged {needle!r}")


async def test_logs_with_stderr_and_since(slack: SlackSender, fake_slack: FakeSlack, crashed: str) -> None:
    reply = await run_command(slack, fake_slack, f"logs --since 1h {crashed}")
    assert output_text(reply) == "starting\nboom"
    reply = await run_command(slack, fake_slack, f"logs -t {crashed}")
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z starting$", output_text(reply).splitlines()[0])


async def test_long_output_goes_up_as_a_file_in_a_dm(slack: SlackSender, fake_slack: FakeSlack, chatty: str) -> None:
    await _wait_for_log_line(chatty, "line 400 of")
    reply = await run_command(slack, fake_slack, f"logs {chatty}")
    call = await fake_slack.wait_for_call("files.completeUploadExternal")
    assert str(call.args.get("channel_id", "")).startswith("D")
    f = next(f for f in fake_slack.files.values() if f.filename == f"{chatty}.log")
    assert f.content.decode().count("\n") >= 400
    assert "chatty.log" in all_text(reply) and "DM" in all_text(reply)


async def test_top_port_and_stats(slack: SlackSender, fake_slack: FakeSlack, web: str) -> None:
    reply = await run_command(slack, fake_slack, f"top {web}")
    top = output_text(reply)
    assert top.splitlines()[0].split()[:3] == ["UID", "PID", "PPID"]
    assert "sleep 3600" in top
    reply = await run_command(slack, fake_slack, f"port {web}")
    assert output_text(reply) == docker_cli("port", web)
    reply = await run_command(slack, fake_slack, f"port {web} 80")
    assert output_text(reply) == f"127.0.0.1:{WEB_PORT}"
    reply = await run_command(slack, fake_slack, f"stats --no-stream {web}")
    header, row = output_text(reply).splitlines()
    assert header.split() == [
        "CONTAINER",
        "ID",
        "NAME",
        "CPU",
        "%",
        "MEM",
        "USAGE",
        "/",
        "LIMIT",
        "MEM",
        "%",
        "NET",
        "I/O",
        "BLOCK",
        "I/O",
        "PIDS",
    ]
    assert web in row and "%" in row and "/" in row


async def test_version_and_info(slack: SlackSender, fake_slack: FakeSlack) -> None:
    reply = await run_command(slack, fake_slack, "version --format '{{.Server.Version}}'")
    assert output_text(reply) == docker_cli("version", "--format", "{{.Server.Version}}")
    reply = await run_command(slack, fake_slack, "info")
    assert "Server Version: " + docker_cli("version", "--format", "{{.Server.Version}}") in output_text(reply)


async def test_help(slack: SlackSender, fake_slack: FakeSlack) -> None:
    reply = await run_command(slack, fake_slack, "help")
    assert "Usage:  docker [OPTIONS] COMMAND" in first_code(reply)
    assert "ps" in first_code(reply) and "logs" in first_code(reply)
    for text in ("help ps", "ps --help", "container ls --help"):
        reply = await run_command(slack, fake_slack, text)
        assert first_code(reply).startswith("Usage:  docker ps [OPTIONS]")
        assert "-a, --all" in first_code(reply)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pss", "docker: 'pss' is not a docker command."),
        ("pss", "Did you mean `ps`?"),
        ("ps --foo", "unknown flag: --foo"),
        ("ps -x", "unknown shorthand flag: 'x' in -x"),
        ("logs -f dockbell-no-such-container", "No such container: dockbell-no-such-container"),
        ("swarm init", "`docker swarm` is not available in dockbell yet"),
        ("restart dockbell-no-such-container", "No such container: dockbell-no-such-container"),
        (
            "logs dockbell-no-such-container",
            "Error response from daemon: No such container: dockbell-no-such-container",
        ),
        ("inspect dockbell-no-such-thing", "Error: No such object: dockbell-no-such-thing"),
        ("logs", '"docker logs" requires exactly 1 argument.'),
        ("ps -n abc", 'invalid argument "abc" for "-n, --last" flag'),
        ("ps --format '{{.Nope'", "failed to parse template: template: :1: unclosed action"),
        ("logs --since yesterday web", 'failed to parse value as time or duration: "yesterday"'),
        ("ps 'unterminated", "cannot parse command line"),
        ("stats --format '{{.Name}}'", "--format is not offered for live stats; use it with --no-stream"),
    ],
)
async def test_errors_read_like_docker(slack: SlackSender, fake_slack: FakeSlack, text: str, expected: str) -> None:
    reply = await run_command(slack, fake_slack, text)
    assert expected in all_text(reply).replace("&amp;", "&").replace("&quot;", '"'), all_text(reply)
    assert reply.get("response_type", "ephemeral") == "ephemeral"
    assert "Traceback" not in all_text(reply)


async def test_usage_comes_with_flag_errors(slack: SlackSender, fake_slack: FakeSlack) -> None:
    reply = await run_command(slack, fake_slack, "logs")
    assert "Usage:  docker logs [OPTIONS] CONTAINER" in "\n".join(code_blocks(reply))


async def test_text_containing_payload_reaches_the_handler(slack: SlackSender, fake_slack: FakeSlack) -> None:
    # Regression for Bolt's parse_body, which drops any form body containing "payload".
    reply = await run_command(slack, fake_slack, "logs payload-service")
    assert "No such container: payload-service" in all_text(reply)


async def test_share_in_channel(slack: SlackSender, fake_slack: FakeSlack, web: str) -> None:
    reply = await run_command(slack, fake_slack, f"port {web}")
    assert reply["response_type"] == "ephemeral"
    assert button(reply, SHARE_ACTION) is not None
    ack = await slack.click(reply, SHARE_ACTION, user_id="U_ALICE", channel_id="C_GENERAL", is_ephemeral=True)
    assert ack.status == 200
    shared = await fake_slack.wait_for_response(
        lambda p: p.url == ack.response_url and p.body.get("response_type") == "in_channel"
    )
    assert "<@U_ALICE> ran" in all_text(shared.body)
    assert output_text(shared.body) == output_text(reply)
    await fake_slack.wait_for_response(lambda p: p.url == ack.response_url and p.body.get("delete_original"))
    # A second click finds nothing left to share.
    ack2 = await slack.click(reply, SHARE_ACTION, user_id="U_ALICE", channel_id="C_GENERAL", is_ephemeral=True)
    again = await fake_slack.wait_for_response(lambda p: p.url == ack2.response_url)
    assert "already shared" in all_text(again.body)


@pytest.mark.parametrize(
    "flags",
    [
        "--tail 0x10",  # the engine reads --tail with Atoi: not a decimal count, so every line
        "--tail 010",
        "--tail +1",
        "--tail x",
        "--since -0",  # now
        "--since +0",
        "--since 0",
        "--since 2006-01-02Z",
        "--since 2006-01-02+00:00",
        "--since 1960-01-01",
        "--until 0",  # a bare 0 is no limit
        "--until 00",  # but 00 is 1970
        "--until 1960-01-01",
        "--until -0",
        "--since 2006-01-02T15:04:0Z",
        "--until 2562048h",
    ],
)
async def test_logs_values_read_as_docker_reads_them(
    slack: SlackSender, fake_slack: FakeSlack, crashed: str, flags: str
) -> None:
    real = subprocess.run(["docker", "logs", *flags.split(), crashed], capture_output=True, text=True, check=False)
    reply = await run_command(slack, fake_slack, f"logs {flags} {crashed}")
    if real.returncode:
        assert real.stderr.splitlines()[0] in all_text(reply).replace("&quot;", '"'), all_text(reply)
    else:
        # the CLI writes the container's stdout and stderr to its own; dockbell shows both, in order
        assert output_text(reply).splitlines() == sorted(
            (real.stdout + real.stderr).splitlines(), key=["starting", "boom"].index
        )
