"""End to end: kill, rm, pause, unpause, rename, update, wait and exec, compared with the docker CLI.

Signed requests in, a real engine and Redis, what the fake Slack received checked.  Where the
docker CLI prints something for the same command on the same engine, the test runs it too and
compares (a job's result with its stdout, its error with its stderr).
"""

from __future__ import annotations

import html
import subprocess
from typing import Any

import docker
import pytest

from bot.fakeslack import Call, FakeSlack, SlackSender
from bot.slack.render import CANCEL_ACTION
from tests.helpers import all_text, output_text, run_command
from tests.rig import Containers

pytestmark = pytest.mark.asyncio(loop_scope="session")

FINAL = ("succeeded", "failed", "cancelled", "interrupted")


def cli(*args: str) -> tuple[int, str, str]:
    """The docker CLI on the same engine: exit status, stdout and stderr (trailing newlines dropped)."""
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout.rstrip("\n"), done.stderr.rstrip("\n")


def _text(call: Call) -> str:
    return all_text({"text": call.args.get("text", ""), "blocks": call.args.get("blocks") or []})


def _detail(call: Call) -> str:
    """The job's result or error, as the status message's code block shows it."""
    for block in call.args.get("blocks") or []:
        if block.get("block_id") == "detail":
            body = block["text"]["text"].removeprefix("```").removesuffix("```").strip("\n")
            return html.unescape(body)
    return ""


async def _job(slack: SlackSender, fake: FakeSlack, text: str, *, user: str = "U_ALICE", count: int = 1) -> list[Call]:
    """Send a command that queues ``count`` jobs; the final state of each status message, in order."""
    since = len(fake.calls)
    ack = await slack.command(text, user_id=user)
    assert ack.status == 200
    posts: list[Call] = []
    for _ in range(count):
        seen = {str((p.response or {}).get("ts")) for p in posts}

        def new_status(c: Call, seen: set[str] = seen) -> bool:
            return "job `j-" in _text(c) and str((c.response or {}).get("ts")) not in seen

        posts.append(await fake.wait_for_call("chat.postMessage", new_status, timeout=15, since=since))
    finals = []
    for posted in posts:
        ts = str((posted.response or {}).get("ts"))

        def final(c: Call, ts: str = ts) -> bool:
            return c.args.get("ts") == ts and any(w in _text(c) for w in FINAL)

        finals.append(await fake.wait_for_call("chat.update", final, timeout=60))
    return finals


async def _one(slack: SlackSender, fake: FakeSlack, text: str, *, user: str = "U_ALICE") -> Call:
    return (await _job(slack, fake, text, user=user))[0]


def _state(api: docker.APIClient, name: str) -> dict[str, Any]:
    return dict(api.inspect_container(name)["State"])


# --- kill ----------------------------------------------------------------------------------------


async def test_kill_sends_the_signal_and_prints_the_name_as_typed(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, docker_api: docker.APIClient
) -> None:
    name = containers.run("ops-kill", ["sleep", "3600"])
    final = await _one(slack, fake_slack, f"kill -s USR1 {name}")
    assert "succeeded" in _text(final) and _detail(final) == name
    assert _state(docker_api, name)["Running"]  # sleep as PID 1 ignores USR1, as with the CLI
    final = await _one(slack, fake_slack, f"container kill {name}")
    assert "succeeded" in _text(final) and _detail(final) == name
    assert not _state(docker_api, name)["Running"] and _state(docker_api, name)["ExitCode"] == 137
    # A second kill: the engine's own error, as the CLI prints it.
    final = await _one(slack, fake_slack, f"kill {name}")
    assert "failed" in _text(final)
    assert _detail(final) == cli("kill", name)[2]


async def test_kill_with_a_bad_signal_or_a_missing_container_says_what_docker_says(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers
) -> None:
    name = containers.run("ops-kill-bad", ["sleep", "3600"])
    for signal in ("FOO", "0", "RTMIN+16"):
        reply = await run_command(slack, fake_slack, f"kill -s {signal} {name}")
        code, _, err = cli("kill", "-s", signal, name)
        assert code == 1 and err in all_text(reply), (signal, err, all_text(reply))
    missing = f"{name}-nope"
    reply = await run_command(slack, fake_slack, f"kill {missing}")
    assert cli("kill", missing)[2] in all_text(reply)  # "Cannot kill container: X: No such container: X"


async def test_one_missing_container_does_not_hold_up_the_others(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, docker_api: docker.APIClient
) -> None:
    a = containers.run("ops-multi-a", ["sleep", "3600"])
    b = containers.run("ops-multi-b", ["sleep", "3600"])
    missing = f"{a}-gone"
    since = len(fake_slack.response_posts)
    finals = await _job(slack, fake_slack, f"stop -t 0 {a} {missing} {b}", count=2)
    assert [_text(f).split("` on")[0].split("`docker ")[1] for f in finals] == [f"stop -t 0 {a}", f"stop -t 0 {b}"]
    assert not _state(docker_api, a)["Running"] and not _state(docker_api, b)["Running"]
    reply = await fake_slack.wait_for_response(lambda p: "No such container" in str(p.body), since=since)
    assert f"Error response from daemon: No such container: {missing}" in all_text(dict(reply.body))


# --- rm ------------------------------------------------------------------------------------------


async def test_rm_of_a_running_container_needs_force_in_docker_s_words(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, docker_api: docker.APIClient
) -> None:
    name = containers.run("ops-rm", ["sleep", "3600"])
    final = await _one(slack, fake_slack, f"rm {name}")
    assert "failed" in _text(final)
    code, _, err = cli("rm", name)
    assert code == 1 and _detail(final) == err  # the engine's "stop the container before ... or force remove"
    assert _state(docker_api, name)["Running"]
    final = await _one(slack, fake_slack, f"rm -f -v {name}")
    assert "succeeded" in _text(final) and _detail(final) == name
    with pytest.raises(docker.errors.NotFound):
        docker_api.inspect_container(name)


async def test_rm_of_missing_containers(slack: SlackSender, fake_slack: FakeSlack, containers: Containers) -> None:
    missing = f"dockbell-t{containers.session}-never-was"
    reply = await run_command(slack, fake_slack, f"rm {missing}")
    assert cli("rm", missing)[2] in all_text(reply) and ":x:" in all_text(reply)
    # -f: docker prints the error but does not fail for a container that is not there.
    reply = await run_command(slack, fake_slack, f"rm -f {missing}")
    code, _, err = cli("rm", "-f", missing)
    assert code == 0 and err in all_text(reply) and ":x:" not in all_text(reply)
    reply = await run_command(slack, fake_slack, "rm /")
    assert "container name cannot be empty" in all_text(reply)


# --- pause, unpause ------------------------------------------------------------------------------


async def test_pause_and_unpause(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, docker_api: docker.APIClient
) -> None:
    name = containers.run("ops-pause", ["sleep", "3600"])
    final = await _one(slack, fake_slack, f"pause {name}")
    assert "succeeded" in _text(final) and _detail(final) == name and _state(docker_api, name)["Paused"]
    final = await _one(slack, fake_slack, f"pause {name}")
    assert "failed" in _text(final) and _detail(final) == cli("pause", name)[2]  # "... is already paused"
    final = await _one(slack, fake_slack, f"container unpause {name}")
    assert "succeeded" in _text(final) and not _state(docker_api, name)["Paused"]
    final = await _one(slack, fake_slack, f"unpause {name}")
    assert "failed" in _text(final) and _detail(final) == cli("unpause", name)[2]  # "... is not paused"


# --- rename ----------------------------------------------------------------------------------------


async def test_rename_and_a_name_in_use(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, docker_api: docker.APIClient
) -> None:
    old = containers.run("ops-ren-a", ["sleep", "3600"])
    taken = containers.run("ops-ren-b", ["sleep", "3600"])
    final = await _one(slack, fake_slack, f"rename {old} {taken}")
    assert "failed" in _text(final)
    code, _, err = cli("rename", old, taken)
    assert code == 1 and _detail(final) == err  # Conflict ... already in use ...; failed to rename
    new = f"{old}-renamed"
    final = await _one(slack, fake_slack, f"rename {old} {new}")
    assert "succeeded" in _text(final) and _detail(final) == ""  # docker rename prints nothing
    assert docker_api.inspect_container(new)["Name"] == f"/{new}"
    reply = await run_command(slack, fake_slack, f"rename {old} x")
    assert cli("rename", old, "x")[2] in all_text(reply)
    reply = await run_command(slack, fake_slack, f"rename {new} ' '")
    assert "Error: Neither old nor new names may be empty" in all_text(reply)


# --- update ----------------------------------------------------------------------------------------


async def test_update_of_a_running_container(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, docker_api: docker.APIClient
) -> None:
    name = containers.run("ops-update", ["sleep", "3600"])
    final = await _one(slack, fake_slack, f"update --restart on-failure:3 --cpus 0.5 -m 64m --memory-swap 128m {name}")
    assert "succeeded" in _text(final) and _detail(final) == name
    host = docker_api.inspect_container(name)["HostConfig"]
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert (host["NanoCpus"], host["Memory"], host["MemorySwap"]) == (500_000_000, 64 << 20, 128 << 20)
    assert _state(docker_api, name)["Running"]
    # The same settings from the CLI leave the container as dockbell left it.
    assert (
        cli("update", "--restart", "on-failure:3", "--cpus", "0.5", "-m", "64m", "--memory-swap", "128m", name)[1]
        == name
    )
    assert docker_api.inspect_container(name)["HostConfig"]["RestartPolicy"] == host["RestartPolicy"]
    # The engine's refusal, in its words.
    final = await _one(slack, fake_slack, f"update --restart always:2 {name}")
    assert "failed" in _text(final) and _detail(final) == cli("update", "--restart", "always:2", name)[2]


async def test_update_refuses_what_the_cli_refuses(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers
) -> None:
    name = containers.run("ops-update-bad", ["sleep", "3600"])
    for flags in (["--cpus", "abc"], ["-m", "10x"], ["--cpus", "0.0000000001"], ["--restart", "on-failure:x"], []):
        reply = await run_command(slack, fake_slack, " ".join(["update", *flags, name]))
        first = cli("update", *flags, name)[2].split("\n")[0]
        assert first and first in all_text(reply), (flags, first, all_text(reply))


# --- wait --------------------------------------------------------------------------------------------


async def test_wait_prints_the_exit_code(slack: SlackSender, fake_slack: FakeSlack, containers: Containers) -> None:
    name = containers.run("ops-wait", ["sh", "-c", "sleep 1; exit 7"])
    final = await _one(slack, fake_slack, f"wait {name}")
    assert "succeeded" in _text(final) and _detail(final) == cli("wait", name)[1] == "7"
    reply = await run_command(slack, fake_slack, f"wait {name}-nope")
    assert cli("wait", f"{name}-nope")[2] in all_text(reply)


# --- exec ----------------------------------------------------------------------------------------------


async def test_exec_output_and_exit_code(slack: SlackSender, fake_slack: FakeSlack, containers: Containers) -> None:
    name = containers.run("ops-exec", ["sleep", "3600"], labels={"team": "ops"})
    script = "echo out; echo err >&2; exit 3"
    reply = await run_command(slack, fake_slack, f"exec {name} sh -c '{script}'")
    code, out, err = cli("exec", name, "sh", "-c", script)
    assert code == 3
    assert sorted(output_text(reply).splitlines()) == sorted([*out.splitlines(), *err.splitlines()])
    assert "exit code 3" in all_text(reply)
    flags = ["-e", "GREETING=hi", "-w", "/tmp", "-u", "1000"]
    script = "echo $GREETING; pwd; id -u"
    reply = await run_command(slack, fake_slack, f"exec {' '.join(flags)} {name} sh -c '{script}'")
    assert output_text(reply) == cli("exec", *flags, name, "sh", "-c", script)[1]
    assert output_text(reply) == "hi\n/tmp\n1000" and "exit code" not in all_text(reply)
    reply = await run_command(slack, fake_slack, f"exec {name} nosuchcommand")
    code, out, _ = cli("exec", name, "nosuchcommand")
    assert output_text(reply) == out and f"exit code {code}" in all_text(reply)  # 126, the OCI runtime's words
    reply = await run_command(slack, fake_slack, f"exec -d {name} sh -c 'echo detached > /tmp/d'")
    assert "exit code" not in all_text(reply)
    reply = await run_command(slack, fake_slack, f"exec {name} cat /tmp/d")
    assert output_text(reply) == "detached"


async def test_exec_refusals(slack: SlackSender, fake_slack: FakeSlack, containers: Containers) -> None:
    name = containers.run("ops-exec-no", ["sleep", "3600"], labels={"team": "ops"})
    reply = await run_command(slack, fake_slack, f"exec -it {name} sh")
    assert "-i, --interactive" in all_text(reply) and "no terminal" in all_text(reply)
    # Oscar may exec into team=ops containers, but not as root and not privileged: the flag guard.
    reply = await run_command(slack, fake_slack, f"exec {name} sh -c 'id -u'", user_id="U_OSCAR")
    assert output_text(reply) == "0"
    for flags, cap in (("-u 0", "user:root"), ("--user=root:root", "user:root"), ("--privileged", "exec-privileged")):
        reply = await run_command(slack, fake_slack, f"exec {flags} {name} sh -c 'id -u'", user_id="U_OSCAR")
        text = all_text(reply)
        assert "Not allowed" in text and f"flag guard: {cap}" in text, text
    # The dockbell.no-exec label: no one, not even an admin.
    shut = containers.run("ops-exec-shut", ["sleep", "3600"], labels={"dockbell.no-exec": "true"})
    reply = await run_command(slack, fake_slack, f"exec {shut} ls")
    assert "Not allowed" in all_text(reply) and "this container does not allow shells" in all_text(reply)
    # A container Oscar may not see is a missing one, in the same words.
    other = containers.run("ops-exec-hidden", ["sleep", "3600"])
    hidden = await run_command(slack, fake_slack, f"exec {other} ls", user_id="U_OSCAR")
    absent = await run_command(slack, fake_slack, f"exec {other}-nope ls", user_id="U_OSCAR")
    assert f"No such container: {other}" in all_text(hidden)
    assert all_text(hidden).replace(other, "X") == all_text(absent).replace(f"{other}-nope", "X")


async def test_exec_in_a_stopped_container(slack: SlackSender, fake_slack: FakeSlack, containers: Containers) -> None:
    name = containers.run("ops-exec-stopped", ["true"], wait_exit=True)
    reply = await run_command(slack, fake_slack, f"exec {name} ls")
    assert cli("exec", name, "ls")[2] in all_text(reply)  # "Container <id> is not running"


async def test_hidden_containers_are_missing_for_the_job_verbs(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, docker_api: docker.APIClient
) -> None:
    other = containers.run("ops-hidden", ["sleep", "3600"])
    for verb in ("kill", "pause", "wait"):
        hidden = await run_command(slack, fake_slack, f"{verb} {other}", user_id="U_OSCAR")
        absent = await run_command(slack, fake_slack, f"{verb} {other}-nope", user_id="U_OSCAR")
        assert all_text(hidden).replace(other, "X") == all_text(absent).replace(f"{other}-nope", "X"), verb
        assert "No such container" in all_text(hidden)
    assert _state(docker_api, other)["Running"] and not _state(docker_api, other)["Paused"]


async def test_exec_is_bounded_by_the_command_s_time_limit(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, docker_api: docker.APIClient
) -> None:
    name = containers.run("ops-exec-long", ["sleep", "3600"])
    reply = await run_command(slack, fake_slack, f"exec {name} sh -c 'echo started; exec sleep 300'", timeout=20)
    text = all_text(reply)
    assert output_text(reply) == "started"
    assert "still running in the container after" in text and "dockbell stopped waiting" in text
    assert "dockbell stopped this command" not in text  # answered within the limit, not cut off by it
    processes = docker_api.top(name)["Processes"]
    assert any("sleep 300" in " ".join(p) for p in processes)  # it goes on, as docker leaves it


async def test_a_wait_can_be_cancelled_and_touches_nothing(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, docker_api: docker.APIClient
) -> None:
    name = containers.run("ops-wait-cancel", ["sleep", "3600"])
    since = len(fake_slack.calls)
    ack = await slack.command(f"wait {name}")
    assert ack.status == 200

    def running(c: Call) -> bool:
        return "running" in _text(c) and CANCEL_ACTION in str(c.args.get("blocks")) and name in _text(c)

    shown = await fake_slack.wait_for_call("chat.update", running, timeout=15, since=since)
    ts = str(shown.args["ts"])
    message = {"blocks": shown.args["blocks"], "ts": ts, "channel": "C_GENERAL"}
    click = await slack.click(message, CANCEL_ACTION, user_id="U_ALICE", channel_id="C_GENERAL", message_ts=ts)
    assert click.status == 200

    def final(c: Call) -> bool:
        return c.args.get("ts") == ts and any(w in _text(c) for w in FINAL)

    done = _text(await fake_slack.wait_for_call("chat.update", final, timeout=15))
    assert "cancelled by <@U_ALICE>" in done and "the container was not touched" in done
    assert _state(docker_api, name)["Running"]
