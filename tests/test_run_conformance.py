"""run and create, conformance with the docker CLI: the same command line makes the same container.

Each row of TABLE is created twice on the same engine: once by the real ``docker`` CLI and
once by dockbell, from a signed ``/docker`` request through serve, the gate and the host's
worker.  The two containers are then compared field by field through ``docker inspect``.
Labels dockbell adds itself (``dockbell.created-by``) are left out; so are what the engine
makes different for every container (its ID, a default hostname, anonymous volume names).
The CLI's own Env order is random (it passes -e through a Go map), so Env is compared as a set.

Failure paths (no such image, name already in use, port already allocated) are compared with
what the CLI prints for the same request; the policy's refusals come back naming the rule.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import tarfile
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from bot.fakeslack import Call, FakeSlack, SlackSender
from tests.helpers import all_text, run_command
from tests.rig import TEST_IMAGE, TEST_LABEL, LocalRegistry, free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")

SESSION = uuid.uuid4().hex[:8]
PREFIX = f"dockbell-t{SESSION}-run"
EXPOSE_IMAGE = f"dockbell-test/expose-{SESSION}:latest"
CREATED_BY = "dockbell.created-by"
FINAL = ("succeeded", "failed", "cancelled", "interrupted")


@dataclass(frozen=True)
class Case:
    id: str
    line: str  # after the verb, as a shell would split it: what the CLI is given
    verb: str = "create"
    slack: str | None = None  # the same line as Slack delivers it (smart quotes, &amp;, links)


P1, P2, P3, P4 = (free_port() for _ in range(4))

TABLE = [
    Case("plain", "{img}"),
    Case("command", "{img} sh -c 'echo hello; sleep 1'"),
    Case("entrypoint", "--entrypoint /bin/echo {img} a b"),
    Case("entrypoint-reset", "--entrypoint= {eimg} true"),
    Case("env", "-e A=1 -e B=two -e 'C=with space' {img}"),
    Case("env-repeated", "-e A=1 -e A=2 --env=B=3 {img}"),
    Case("env-unset-name", "-e DOCKBELL_SURELY_UNSET_VAR {img}"),
    Case("env-file", "--env-file {envfile} -e C=override {img}"),
    Case("labels", "-l a=1 -l b --label c=three {img}"),
    Case("label-file", "--label-file {labelfile} -l extra=1 {img}"),
    Case("publish-container-port", "-p 80 {img}"),
    Case("publish-host-port", f"-p {P1}:80 {{img}}"),
    Case("publish-ip-udp", f"-p 127.0.0.1:{P2}:80/udp {{img}}"),
    Case("publish-range", f"-p 127.0.0.1:{P3}-{P3 + 2}:7000-7002 {{img}}"),
    Case("publish-host-range-one-port", f"-p {P4}-{P4 + 1}:80 {{img}}"),
    Case("publish-ipv6", "-p '[::1]::8080' {img}"),
    Case("publish-long-form", "--publish published=18081,target=80,protocol=udp {img}"),
    Case("publish-all-with-expose", "-P {eimg}"),
    Case("expose", "--expose 7000-7001/udp --expose 53 {img}"),
    Case("rm", "--rm {img}"),
    Case("restart-always", "--restart always {img}"),
    Case("restart-on-failure", "--restart on-failure:3 {img}"),
    Case("restart-unless-stopped", "--restart=unless-stopped {img}"),
    Case("workdir-user", "-w /tmp -u 1000:1000 {img}"),
    Case("hostname", "-h myhost --domainname example.org {img}"),
    Case("network-named", "--network {net} --network-alias web {img}"),
    Case("network-none", "--network none {img}"),
    Case("network-host", "--net=host {img}"),
    Case("volume-named", "-v {vol}:/data {img}"),
    Case("volume-anonymous", "-v /anon {img}"),
    Case("volume-bind-readonly", "-v {dir}:/host:ro {img}"),
    Case("mount-volume", "--mount type=volume,src={vol},dst=/m,readonly {img}"),
    Case("mount-bind", "--mount 'type=bind,source={dir},target=/b,bind-propagation=rslave' {img}"),
    Case("mount-tmpfs", "--mount type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770 {img}"),
    Case("memory", "-m 64m {img}"),
    Case("memory-swap", "--memory=128m --memory-swap 256m --memory-reservation 32m {img}"),
    Case("cpus", "--cpus 1.5 {img}"),
    Case("cpus-fraction", "--cpus=0.25 --cpu-shares 512 {img}"),
    Case(
        "health",
        "--health-cmd 'echo ok' --health-interval 5s --health-timeout 2s --health-retries 3 "
        "--health-start-period 1s500ms {img}",
    ),
    Case("no-healthcheck", "--no-healthcheck {eimg}"),
    Case("init", "--init {img}"),
    Case("init-false", "--init=false {img}"),
    Case("stop-timeout-signal", "--stop-timeout 5 --stop-signal SIGUSR1 {img}"),
    Case("add-host", "--add-host db:10.0.0.5 --add-host h=1.2.3.4 --add-host v6:::1 {img}"),
    Case("dns", "--dns 1.1.1.1 --dns 8.8.8.8 --dns-search example.com --dns-option ndots:2 {img}"),
    Case("tmpfs-shm-readonly", "--tmpfs /run:size=1m --shm-size 16m --read-only {img}"),
    Case("caps-ulimit", "--cap-add NET_ADMIN --cap-drop MKNOD --ulimit nofile=1024:2048 {img}"),
    Case("log-opts", "--log-driver json-file --log-opt max-size=1m --pids-limit 100 {img}"),
    Case("flags-with-equals", "--env=A=1 --workdir=/w --user=nobody --hostname=h1 {img}"),
    Case("double-dash", "-e A=1 -- {img} -e not-a-flag"),
    Case("stops-at-image", "{img} -e A=1 --rm"),
    Case("smart-quotes", "{img} sh -c \"echo 'a b'\"", slack="{img} sh -c \u201cecho \u2018a b\u2019\u201d"),
    Case("html-escapes", "-e 'Q=a&b<c>' {img}", slack="-e 'Q=a&amp;b&lt;c&gt;' {img}"),
    Case("slack-link", "-e URL=example.com {img}", slack="-e URL=<http://example.com|example.com> {img}"),
    Case(
        "device-secopt-sysctl",
        "--device /dev/null:/dev/xnull:r --security-opt no-new-privileges --sysctl net.ipv4.ip_forward=1 {img}",
    ),
    Case("groups-oom-namespaces", "--group-add 10 --oom-score-adj 100 --cgroupns private --ipc shareable {img}"),
    Case("ip-on-named-network", "--network {net} --ip 10.231.77.10 {img}"),
    Case("attach-one-stream", "-a stdout -a STDERR {img}"),
    Case("platform-pull-never", "--platform linux/amd64 --pull never -q {img}"),
    Case("blkio-and-cpu-quota", "--blkio-weight 300 --cpu-period 100000 --cpu-quota 50000 --cpuset-cpus 0 {img}"),
    Case("run-detached", "-d {img} sleep 60", verb="run"),
    Case("run-combined-short", "-dp 127.0.0.1::80 {img} sleep 60", verb="run"),
    Case("run-detached-rm", "-d --rm -e A=1 {img} sleep 60", verb="run"),
    Case("run-dit", "-itd {img} sh", verb="run"),
]


# --- fixtures: what the lines refer to ---------------------------------------------------------


@pytest.fixture(scope="module")
def world(docker_api: docker.APIClient) -> Iterator[dict[str, str]]:
    """The images, network, volume, host directory and files the table's lines name."""
    work = Path(tempfile.mkdtemp(prefix="dockbell-run-"))
    (work / "env").write_text("# comment\nFROM_FILE=1\nC=from-file\n\nDOCKBELL_SURELY_UNSET_TOO\n")
    (work / "labels").write_text("lf=1\nlg\n")
    _build_expose_image(docker_api)
    network = f"{PREFIX}-net"
    pool = docker.types.IPAMPool(subnet="10.231.77.0/24")  # --ip needs a subnet the user chose
    docker_api.create_network(network, labels={TEST_LABEL: SESSION}, ipam=docker.types.IPAMConfig(pool_configs=[pool]))
    volume = f"{PREFIX}-vol"
    docker_api.create_volume(volume, labels={TEST_LABEL: SESSION})
    try:
        yield {
            "img": TEST_IMAGE,
            "eimg": EXPOSE_IMAGE,
            "net": network,
            "vol": volume,
            "dir": str(work),
            "envfile": str(work / "env"),
            "labelfile": str(work / "labels"),
        }
    finally:
        _remove_containers(docker_api)
        docker_api.remove_network(network)
        for vol in docker_api.volumes(filters={"label": f"{TEST_LABEL}={SESSION}"}).get("Volumes") or []:
            docker_api.remove_volume(vol["Name"], force=True)
        with contextlib.suppress(docker.errors.NotFound):
            docker_api.remove_volume(volume, force=True)
        docker_api.remove_image(EXPOSE_IMAGE, force=True)
        subprocess.run(["rm", "-rf", str(work)], check=False)


def _build_expose_image(api: docker.APIClient) -> None:
    dockerfile = f'FROM {TEST_IMAGE}\nEXPOSE 8080 9090/udp\nENTRYPOINT ["sh"]\nHEALTHCHECK CMD true\n'
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile.encode()))
    buf.seek(0)
    for item in api.build(fileobj=buf, custom_context=True, tag=EXPOSE_IMAGE, rm=True, decode=True):
        if "error" in item:
            raise RuntimeError(item["error"])


def _remove_containers(api: docker.APIClient) -> None:
    for c in api.containers(all=True, filters={"label": f"{TEST_LABEL}={SESSION}"}):
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_container(c["Id"], force=True, v=True)


# --- the two ways of creating a container -------------------------------------------------------


def _words(case: Case, world: dict[str, str], name: str) -> list[str]:
    return [case.verb, "--name", name, "-l", f"{TEST_LABEL}={SESSION}", *shlex.split(case.line.format(**world))]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKBELL_SURELY")}
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, env=env, check=False)


def _status_text(call: Call) -> str:
    return all_text({"text": call.args.get("text", ""), "blocks": call.args.get("blocks") or []})


async def dockbell(slack: SlackSender, fake: FakeSlack, text: str, *, user: str = "U_ALICE") -> str:
    """Send ``/docker TEXT`` signed; the final text of its job's status message."""
    since = len(fake.calls)
    ack = await slack.command(text, user_id=user)
    assert ack.status == 200 and ack.elapsed < 3.0, ack
    posted = await fake.wait_for_call(
        "chat.postMessage", lambda c: "docker " in _status_text(c), timeout=60, since=since
    )
    ts = posted.response["ts"]
    final = await fake.wait_for_call(
        "chat.update",
        lambda c: c.args.get("ts") == ts and any(w in _status_text(c) for w in FINAL),
        timeout=60,
        since=since,
    )
    return _status_text(final)


def slack_text(case: Case, world: dict[str, str], name: str) -> str:
    head = f"{case.verb} --name {name} -l {TEST_LABEL}={SESSION} "
    return head + (case.slack or case.line).format(**world)


# --- comparing -----------------------------------------------------------------------------------

CONFIG_FIELDS = (
    "Image",
    "Cmd",
    "Entrypoint",
    "Env",
    "Labels",
    "ExposedPorts",
    "WorkingDir",
    "User",
    "Hostname",
    "Domainname",
    "Healthcheck",
    "StopTimeout",
    "StopSignal",
    "Volumes",
    "Tty",
    "OpenStdin",
    "AttachStdin",
    "AttachStdout",
    "AttachStderr",
    "MacAddress",
)
HOST_FIELDS = (
    "PortBindings",
    "PublishAllPorts",
    "RestartPolicy",
    "Memory",
    "MemoryReservation",
    "MemorySwap",
    "NanoCpus",
    "CpuShares",
    "ExtraHosts",
    "Dns",
    "DnsSearch",
    "DnsOptions",
    "Init",
    "AutoRemove",
    "NetworkMode",
    "Binds",
    "Tmpfs",
    "ShmSize",
    "ReadonlyRootfs",
    "CapAdd",
    "CapDrop",
    "Ulimits",
    "LogConfig",
    "PidsLimit",
    "Privileged",
    "Devices",
    "SecurityOpt",
    "Sysctls",
    "GroupAdd",
    "OomScoreAdj",
    "CgroupnsMode",
    "IpcMode",
    "BlkioWeight",
    "CpuPeriod",
    "CpuQuota",
    "CpusetCpus",
)
_ANONYMOUS = re.compile(r"^[0-9a-f]{64}$")


def comparable(info: dict[str, Any]) -> dict[str, Any]:
    config, host = info["Config"], info["HostConfig"]
    out: dict[str, Any] = {f"Config.{k}": config.get(k) for k in CONFIG_FIELDS}
    out["Config.Env"] = sorted(config.get("Env") or [])
    out["Config.Labels"] = {k: v for k, v in (config.get("Labels") or {}).items() if k != CREATED_BY}
    if config.get("Hostname") == info["Id"][:12]:
        out["Config.Hostname"] = "<its own ID>"
    out.update({f"HostConfig.{k}": host.get(k) for k in HOST_FIELDS})
    mounts = []
    for m in info.get("Mounts") or []:
        m = dict(m)
        if m.get("Type") == "volume" and _ANONYMOUS.match(m.get("Name", "")):
            m["Name"], m["Source"] = "<anonymous>", "<anonymous>"
        mounts.append(m)
    out["Mounts"] = sorted(mounts, key=lambda m: str(m.get("Destination")))
    out["HostConfig.Mounts"] = host.get("Mounts")
    return out


def _diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


@pytest.mark.parametrize("case", TABLE, ids=[c.id for c in TABLE])
async def test_same_container_as_the_cli(
    case: Case, world: dict[str, str], slack: SlackSender, fake_slack: FakeSlack, docker_api: docker.APIClient
) -> None:
    ours, theirs = f"{PREFIX}-{case.id}-bot", f"{PREFIX}-{case.id}-cli"
    done = cli(*_words(case, world, theirs))
    assert done.returncode == 0, done.stderr
    status = await dockbell(slack, fake_slack, slack_text(case, world, ours))
    assert "succeeded" in status, status
    mine, reference = docker_api.inspect_container(ours), docker_api.inspect_container(theirs)
    assert mine["Id"] in status  # create and run -d print the container's ID, as docker does
    assert mine["Config"]["Labels"][CREATED_BY] == "U_ALICE"
    assert _diff(comparable(mine), comparable(reference)) == {}
    if case.verb == "run":
        assert mine["State"]["Running"] == reference["State"]["Running"]


# --- run attached: output and exit code as a terminal shows them ---------------------------------


async def test_attached_run_posts_output_and_exit_code(
    world: dict[str, str], slack: SlackSender, fake_slack: FakeSlack, docker_api: docker.APIClient
) -> None:
    # stdout and stderr are two streams: the pause orders them, as it would on a terminal
    line = "{img} sh -c 'echo out; sleep 0.3; echo err >&2; exit 3'"
    theirs = cli(*_words(Case("x", line, "run"), world, f"{PREFIX}-attached-cli"))
    assert (theirs.stdout, theirs.stderr, theirs.returncode) == ("out\n", "err\n", 3)
    name = f"{PREFIX}-attached-bot"
    status = await dockbell(slack, fake_slack, slack_text(Case("x", line, "run"), world, name))
    assert "failed" in status
    assert "out\nerr\nexit code 3" in status
    state = docker_api.inspect_container(name)["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 3)


async def test_attached_run_with_rm_removes_the_container(
    world: dict[str, str], slack: SlackSender, fake_slack: FakeSlack, docker_api: docker.APIClient
) -> None:
    name = f"{PREFIX}-attached-rm-bot"
    status = await dockbell(slack, fake_slack, slack_text(Case("x", "--rm {img} echo bye", "run"), world, name))
    assert "succeeded" in status and "bye\nexit code 0" in status
    with pytest.raises(docker.errors.NotFound):
        docker_api.inspect_container(name)


async def test_interactive_run_is_refused_with_the_way_to_do_it(slack: SlackSender, fake_slack: FakeSlack) -> None:
    answer = all_text(await run_command(slack, fake_slack, f"run -it --name {PREFIX}-it {TEST_IMAGE} sh"))
    assert "chat has no terminal" in answer
    assert "docker run -dit" in answer and "docker exec" in answer and "docker logs -f" in answer


# --- failure paths, in docker's words ------------------------------------------------------------


def _cli_error(result: subprocess.CompletedProcess[str]) -> str:
    return result.stderr.strip()


async def test_name_already_in_use(world: dict[str, str], slack: SlackSender, fake_slack: FakeSlack) -> None:
    name = f"{PREFIX}-taken"
    assert cli(*_words(Case("x", "{img}"), world, name)).returncode == 0
    theirs = _cli_error(cli(*_words(Case("x", "{img}", "run"), world, name)))
    status = await dockbell(slack, fake_slack, slack_text(Case("x", "{img}", "run"), world, name))
    assert "failed" in status
    assert theirs.startswith('docker: Error response from daemon: Conflict. The container name "/')
    assert theirs.split("\n")[0] in status
    created = _cli_error(cli(*_words(Case("x", "{img}"), world, name)))
    status = await dockbell(slack, fake_slack, slack_text(Case("x", "{img}"), world, name))
    assert created.startswith("Error response from daemon: Conflict.") and created in status


async def test_port_already_allocated(world: dict[str, str], slack: SlackSender, fake_slack: FakeSlack) -> None:
    port = free_port()
    line = f"-d -p 127.0.0.1:{port}:80 {{img}} sleep 60"
    assert cli(*_words(Case("x", line, "run"), world, f"{PREFIX}-port-1")).returncode == 0
    theirs = _cli_error(cli(*_words(Case("x", line, "run"), world, f"{PREFIX}-port-2")))
    assert "port is already allocated" in theirs
    status = await dockbell(slack, fake_slack, slack_text(Case("x", line, "run"), world, f"{PREFIX}-port-3"))
    assert "failed" in status and "port is already allocated" in status
    assert "docker: Error response from daemon: driver failed programming external connectivity" in status


@pytest.fixture(scope="module")
def registry(docker_api: docker.APIClient) -> Iterator[LocalRegistry]:
    with LocalRegistry.start() as reg:
        try:
            reg.push(docker_api, TEST_IMAGE, f"dockbell-test/run-{SESSION}", "v1")
            yield reg
        finally:
            reg.remove_local_images(docker_api)


async def test_no_such_image(
    world: dict[str, str], registry: LocalRegistry, slack: SlackSender, fake_slack: FakeSlack
) -> None:
    ref = registry.ref(f"dockbell-test/nope-{SESSION}")
    theirs = _cli_error(cli("run", "--rm", ref))
    assert theirs.startswith(f"Unable to find image '{ref}' locally")
    status = await dockbell(slack, fake_slack, f"run --rm --name {PREFIX}-nope {ref}")
    assert "failed" in status
    assert f"Unable to find image '{ref}' locally" in status
    assert theirs.split("\n")[-3] in status  # docker: Error response from daemon: manifest for ... not found


async def test_missing_image_is_pulled_as_docker_run_pulls_it(
    world: dict[str, str],
    registry: LocalRegistry,
    slack: SlackSender,
    fake_slack: FakeSlack,
    docker_api: docker.APIClient,
) -> None:
    ref = registry.ref(f"dockbell-test/run-{SESSION}")
    status = await dockbell(slack, fake_slack, f"run --rm --name {PREFIX}-pulled {ref} echo pulled")
    assert "succeeded" in status, status
    assert f"Unable to find image '{ref}' locally" in status
    assert "Status: Downloaded newer image for" in status and "pulled\nexit code 0" in status
    assert docker_api.inspect_image(ref)["Id"]


# --- the policy, through a signed request ---------------------------------------------------------


async def test_role_without_run_is_refused_with_the_rule(slack: SlackSender, fake_slack: FakeSlack) -> None:
    answer = all_text(await run_command(slack, fake_slack, f"run {TEST_IMAGE}", user_id="U_DAVE"))
    assert "Not allowed" in answer and "`run`" in answer and "Refused by: default" in answer


@pytest.mark.parametrize(
    "flags, rule",
    [
        ("--privileged", "flag guard: privileged"),
        ("-v /etc:/host", "flag guard: bind:/etc"),
        ("-itv /:/h", "flag guard: bind:/"),
        ("--mount=type=bind,src=/,dst=/h", "flag guard: bind:/"),
        ("--cap-add=sys_admin", "flag guard: cap-add:SYS_ADMIN"),
        ("--net host", "flag guard: network:host"),
        ("--env-file /etc/passwd", "flag guard: env-file"),
        ("-e HOME", "flag guard: env-inherit:HOME"),
    ],
)
async def test_privileged_flag_without_its_capability_is_refused(
    flags: str, rule: str, slack: SlackSender, fake_slack: FakeSlack, docker_api: docker.APIClient
) -> None:
    name = f"{PREFIX}-refused"
    answer = all_text(
        await run_command(slack, fake_slack, f"run --name {name} {flags} {TEST_IMAGE}", user_id="U_RUNNER")
    )
    assert "Not allowed" in answer and f"Refused by: {rule}" in answer, answer
    with pytest.raises(docker.errors.NotFound):
        docker_api.inspect_container(name)


async def test_role_with_run_runs_without_flags(
    world: dict[str, str], slack: SlackSender, fake_slack: FakeSlack, docker_api: docker.APIClient
) -> None:
    name = f"{PREFIX}-rita"
    status = await dockbell(
        slack, fake_slack, f"create --name {name} -l {TEST_LABEL}={SESSION} {TEST_IMAGE}", user="U_RUNNER"
    )
    assert "succeeded" in status
    assert docker_api.inspect_container(name)["Config"]["Labels"][CREATED_BY] == "U_RUNNER"


# --- parse errors in docker's words --------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "-a stdn {img}",
        "--pid=container: {img}",
        "--uts=container:x {img}",
        "--shm-size 1x {img}",
        "--network a --network host {img}",
        "--mount type=volume,dst=/x,tmpfs-size=1m {img}",
        "--mount type=tmpfs,dst=/x,tmpfs-size=big {img}",
        "--mount type=tmpfs,dst=/x,tmpfs-mode=999 {img}",
        "--mount type=bind,src=/tmp,dst=/x,bind-recursive=readonly {img}",
        "--restart always --rm {img}",
        "-z {img}",
        "-p 70000 {img}",
        "-e =x {img}",
        "--cpus x {img}",
        "--health-interval 5 {img}",
        "--add-host nohost {img}",
    ],
)
async def test_refused_as_docker_refuses(
    line: str, world: dict[str, str], slack: SlackSender, fake_slack: FakeSlack
) -> None:
    words = shlex.split(line.format(**world))
    theirs = _cli_error(cli("create", *words)).split("\n")[0]
    answer = all_text(await run_command(slack, fake_slack, "create " + line.format(**world)))
    assert theirs and theirs in answer, (theirs, answer)


async def test_missing_image_argument(slack: SlackSender, fake_slack: FakeSlack) -> None:
    answer = all_text(await run_command(slack, fake_slack, "run"))
    assert '"docker run" requires at least 1 argument.' in answer
    assert "Usage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]" in answer


async def test_long_output_also_goes_up_as_a_file_in_the_status_thread(
    world: dict[str, str], slack: SlackSender, fake_slack: FakeSlack
) -> None:
    name = f"{PREFIX}-long-bot"
    status = await dockbell(slack, fake_slack, slack_text(Case("x", "--rm {img} seq 1 500", "run"), world, name))
    assert "succeeded" in status and "500\nexit code 0" in status  # the status shows the end
    call = await fake_slack.wait_for_call("files.completeUploadExternal", timeout=10)
    assert call.args.get("thread_ts")  # in the status message's thread
    found = [f for f in fake_slack.files.values() if f.filename == "output.txt" and f.completed]
    assert found and found[-1].content.decode().splitlines() == [str(i) for i in range(1, 501)]


async def test_attached_run_past_its_limit_is_left_running(docker_api: docker.APIClient) -> None:
    """run.attach_timeout: dockbell stops watching, the container goes on (as after a detach)."""
    from bot.engine import run as engine
    from bot.engine.gateway import DockerGateway

    gateway = DockerGateway()
    name = f"{PREFIX}-limit"
    made = await engine.create(
        gateway,
        {"Image": TEST_IMAGE, "Cmd": ["sh", "-c", "echo early; sleep 30"], "Labels": {TEST_LABEL: SESSION}},
        name=name,
        platform="",
    )
    try:
        seen = await engine.run_attached(gateway, made.id, auto_remove=False, limit=1.5, keep=1024)
        assert seen.exit_code is None and bytes(seen.output) == b"early\n"
        assert docker_api.inspect_container(made.id)["State"]["Running"]
    finally:
        docker_api.remove_container(made.id, force=True)
        await gateway.close()


@pytest.mark.parametrize("flag", ["--env-file", "--label-file"])
async def test_a_missing_file_is_refused_as_docker_refuses_it(
    flag: str, world: dict[str, str], slack: SlackSender, fake_slack: FakeSlack, docker_api: docker.APIClient
) -> None:
    path = f"{world['dir']}/missing"
    theirs = _cli_error(cli("create", flag, path, TEST_IMAGE))
    name = f"{PREFIX}-missing{flag}"
    status = await dockbell(slack, fake_slack, f"create --name {name} {flag} {path} {TEST_IMAGE}")
    assert "failed" in status and theirs.split("\n")[0] in status  # docker: open ...: no such file or directory
    with pytest.raises(docker.errors.NotFound):
        docker_api.inspect_container(name)


async def test_cidfile_gets_the_id(
    world: dict[str, str], slack: SlackSender, fake_slack: FakeSlack, docker_api: docker.APIClient
) -> None:
    path = Path(world["dir"]) / "cid"
    name = f"{PREFIX}-cid"
    status = await dockbell(slack, fake_slack, slack_text(Case("x", f"--cidfile {path} {{img}}"), world, name))
    assert "succeeded" in status
    assert path.read_text() == docker_api.inspect_container(name)["Id"]
    again = await dockbell(slack, fake_slack, slack_text(Case("x", f"--cidfile {path} {{img}}"), world, name + "2"))
    assert f"container ID file found, make sure the other container isn't running or delete {path}" in again


async def test_too_old_an_engine_is_refused_as_the_cli_refuses_it(
    world: dict[str, str], slack: SlackSender, fake_slack: FakeSlack, docker_api: docker.APIClient
) -> None:
    """docker 28 sends --mac-address per network, which needs API 1.44: against an older engine
    the client library refuses it before sending anything, and so does dockbell."""
    line = "--mac-address 02:42:ac:11:00:09 {img}"
    theirs = cli(*_words(Case("x", line), world, f"{PREFIX}-mac-cli"))
    name = f"{PREFIX}-mac-bot"
    status = await dockbell(slack, fake_slack, slack_text(Case("x", line), world, name))
    if theirs.returncode == 0:  # an engine new enough: the same container
        assert "succeeded" in status
        assert (
            _diff(
                comparable(docker_api.inspect_container(name)),
                comparable(docker_api.inspect_container(f"{PREFIX}-mac-cli")),
            )
            == {}
        )
        return
    assert "failed" in status and _cli_error(theirs) in status
    with pytest.raises(docker.errors.NotFound):
        docker_api.inspect_container(name)
