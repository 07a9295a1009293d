"""The RunSpec of run/create: docker's values and refusals, the request planned from it, and one reading.

Pure: no Docker, no Redis.  tests/test_run_conformance.py compares the same with the real CLI.
"""

from __future__ import annotations

import pytest

from bot.core.dispatch import parse, read
from bot.core.registry import Registry
from bot.engine import runconfig
from bot.errors import ParseError
from bot.jobs.gate import guard_invocation, requested_capabilities
from bot.policy.flagguard import parse_command
from bot.policy.goparse import go_duration_ns, go_int, parse_cpus, ram_in_bytes
from bot.policy.ports import parse_expose, parse_publish
from bot.policy.runspec import RunSpec
from handlers import run as run_handlers


def spec(*argv: str, verb: str = "run") -> RunSpec:
    found = parse_command(verb, list(argv)).spec
    assert found is not None
    return found


# --- Go's readings of values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, size",
    [("512", 512), ("1k", 1024), ("1.5m", 1572864), ("64 MiB", 64 * 1024**2), ("2G", 2 * 1024**3), ("1b", 1)],
)
def test_ram_in_bytes(text: str, size: int) -> None:
    assert ram_in_bytes(text) == size


@pytest.mark.parametrize(
    "text, why", [("1x", "invalid suffix: 'x'"), ("x", "invalid size: 'x'"), ("1kbb", "invalid suffix: 'kbb'")]
)
def test_ram_in_bytes_refusals(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        ram_in_bytes(text)


def test_cpus_durations_and_base_zero_integers() -> None:
    assert parse_cpus("1.5") == 1_500_000_000 and parse_cpus("3/2") == 1_500_000_000
    with pytest.raises(ValueError, match="value is too precise"):
        parse_cpus("0.0000000001")
    assert go_duration_ns("1m30s") == 90 * 10**9 and go_duration_ns("1.5s") == 1_500_000_000
    assert go_duration_ns("1s500ms") == 1_500_000_000 and go_duration_ns("0") == 0
    with pytest.raises(ValueError, match='time: missing unit in duration "5"'):
        go_duration_ns("5")
    assert go_int("010") == 8 and go_int("0x10") == 16 and go_int("-7") == -7


# --- ports ------------------------------------------------------------------------------------------


def test_publish_in_every_form() -> None:
    exposed, bindings = parse_publish(
        [
            "80",
            "8080:81",
            "127.0.0.1:9000:82/udp",
            "[::1]::83",
            "7000-7001:90-91",
            "5000-5001:92",
            "published=1,target=2",
        ]
    )
    assert exposed == ["80/tcp", "81/tcp", "82/udp", "83/tcp", "90/tcp", "91/tcp", "92/tcp", "2/tcp"]
    assert bindings["80/tcp"] == [("", "")]
    assert bindings["81/tcp"] == [("", "8080")]
    assert bindings["82/udp"] == [("127.0.0.1", "9000")]
    assert bindings["83/tcp"] == [("::1", "")]
    assert bindings["90/tcp"] == [("", "7000")] and bindings["91/tcp"] == [("", "7001")]
    assert bindings["92/tcp"] == [("", "5000-5001")]
    assert parse_expose(["7000-7001/udp", "80"], exposed)[-2:] == ["7000/udp", "7001/udp"]


@pytest.mark.parametrize(
    "value, why",
    [
        ("70000", "invalid containerPort: 70000"),
        ("1.2.3:8080:80", "invalid IP address: 1.2.3"),
        ("80/xyz", "invalid proto: xyz"),
        ("8000-8002:80-81", "invalid ranges specified for container and host Ports: 80-81 and 8000-8002"),
    ],
)
def test_publish_refusals(value: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_publish([value])


# --- refusals, in docker's words ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["-a", "stdn"], 'invalid argument "stdn" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR'),
        (["--pid=container:"], "docker: --pid: invalid PID mode"),
        (["--uts=container:x"], "docker: --uts: invalid UTS mode"),
        (["--shm-size", "1x"], 'invalid argument "1x" for "--shm-size" flag: invalid suffix: \'x\''),
        (
            ["--network", "a", "--network", "host"],
            "docker: conflicting options: cannot attach both user-defined and non-user-defined network-modes",
        ),
        (
            ["--mount", "type=volume,dst=/x,tmpfs-size=1m"],
            "cannot mix 'tmpfs-*' options with mount type 'volume'",
        ),
        (["--mount", "type=tmpfs,dst=/x,tmpfs-size=big"], "invalid value for tmpfs-size: big"),
        (["--mount", "type=tmpfs,dst=/x,tmpfs-mode=999"], "invalid value for tmpfs-mode: 999"),
        (
            ["--mount", "type=bind,src=/a,dst=/x,bind-recursive=writable"],
            "option 'bind-recursive=writable' requires 'readonly' to be specified in conjunction",
        ),
        (
            ["--mount", "type=bind,src=/a,dst=/x,readonly,bind-recursive=readonly"],
            "option 'bind-recursive=readonly' requires 'bind-propagation=rprivate' to be specified in conjunction",
        ),
        (["--mount", "type=bind,src=/a,dst=/x,bind-recursive=x"], "invalid value for bind-recursive: x (must be"),
        (["--restart", "always", "--rm"], "docker: conflicting options: cannot specify both --restart and --rm"),
        (["--restart", "on-failure:x"], "maximum retry count must be an integer"),
        (["-e", "=x"], 'invalid argument "=x" for "-e, --env" flag: invalid environment variable: =x'),
        (["--add-host", "nohost"], 'bad format for add-host: "nohost"'),
        (["--dns", "1.2.3"], "IP address is not correctly formatted: 1.2.3"),
        (["--cpus", "x"], "failed to parse x as a rational number"),
        (["--health-interval", "-1s"], "docker: --health-interval cannot be negative"),
        (["--no-healthcheck", "--health-cmd", "x"], "--no-healthcheck conflicts with --health-* options"),
        (["-d", "-a", "stdout"], "conflicting options: cannot specify both --attach and --detach"),
        (["--network", "host", "--network-alias", "a"], "network-scoped aliases are only supported for user-defined"),
        (["--memory-swappiness", "101"], "invalid value: 101. Valid memory swappiness range is 0-100"),
        (["--pull", "sometimes"], "invalid pull option: 'sometimes'"),
        (["--ulimit", "nofile=2:1"], "ulimit soft limit must be less than or equal to hard limit: 2 > 1"),
    ],
)
def test_refused_as_docker_refuses(argv: list[str], message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_command("run", [*argv, "busybox"])
    assert message in caught.value.message
    assert caught.value.usage and "Run 'docker run --help' for more information" in caught.value.usage


# --- what the spec holds ----------------------------------------------------------------------------


def test_combined_short_flags_and_stop_at_the_image() -> None:
    s = spec("-dp", "80:80", "-e", "A=1", "busybox", "-e", "B=2")
    assert s.detach and s.port_bindings == (("80/tcp", (("", "80"),)),)
    assert s.image == "busybox" and s.cmd == ("-e", "B=2") and s.env == ("A=1",)
    assert spec("--", "busybox", "--rm").cmd == ("--rm",)


def test_fields_docker_sends_only_when_given() -> None:
    plain = runconfig.plan(spec("busybox")).body
    assert "StopTimeout" not in plain and "Init" not in plain["HostConfig"] and plain["Entrypoint"] is None
    given = runconfig.plan(spec("--stop-timeout", "0", "--init=false", "--entrypoint=", "busybox")).body
    assert given["StopTimeout"] == 0 and given["HostConfig"]["Init"] is False and given["Entrypoint"] == [""]
    assert plain["HostConfig"]["Dns"] == [] and plain["NetworkingConfig"] == {"EndpointsConfig": {"default": {
        "Aliases": None, "GwPriority": 0}}}  # fmt: skip


def test_the_request_body() -> None:
    s = spec(
        "--cap-add", "net_admin", "--cap-add=CAP_NET_ADMIN", "-v", "data:/d", "-v", "/anon", "--mount",
        "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770", "--health-cmd", "true", "--health-interval", "2s",
        "-m", "64m", "--cpus", "0.5", "--restart", "on-failure:3", "-l", "a=1", "busybox",
    )  # fmt: skip
    request = runconfig.plan(s, extra_labels={runconfig.CREATED_BY: "U1"})
    final = runconfig.body(request, environ={})
    host = final["HostConfig"]
    assert host["CapAdd"] == ["CAP_NET_ADMIN"]  # the client library normalises and de-duplicates
    assert host["Binds"] == ["data:/d"] and final["Volumes"] == {"/anon": {}}
    tmpfs = {"SizeBytes": 1048576, "Mode": 0o1770}
    assert host["Mounts"] == [{"Type": "tmpfs", "Source": "", "Target": "/t", "ReadOnly": False, "TmpfsOptions": tmpfs}]
    assert final["Healthcheck"] == {
        "Test": ["CMD-SHELL", "true"], "Interval": 2 * 10**9, "Timeout": 0, "StartPeriod": 0, "StartInterval": 0,
        "Retries": 0,
    }  # fmt: skip
    assert (host["Memory"], host["NanoCpus"]) == (64 * 1024**2, 500_000_000)
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert final["Labels"] == {"a": "1", runconfig.CREATED_BY: "U1"}


def test_env_as_the_cli_builds_it() -> None:
    request = runconfig.plan(spec("-e", "A=1", "-e", "A=2", "-e", "HOME", "-e", "UNSET", "busybox"))
    final = runconfig.body(request, env_from_files=["F=1", "A=0"], environ={"HOME": "/root"})
    # files first, as read; then -e through a map (one per name, the last winning); NAME from the environment
    assert final["Env"] == ["F=1", "A=0", "A=2", "HOME=/root", "UNSET"]


def test_create_json_round_trip() -> None:
    request = runconfig.plan(spec("-p", "80", "--name", "x", "busybox", verb="create"))
    assert runconfig.CreateRequest.from_json(request.to_json()) == request
    assert request.detach and request.name == "x"


# --- one reading, judged and run ------------------------------------------------------------------


def test_the_gate_and_the_handler_hold_the_same_reading() -> None:
    registry = Registry.from_modules([run_handlers])
    inv = parse(read("run --privileged -v /srv:/s --name web busybox"), registry)
    first = guard_invocation(inv)
    assert first is not None and first is guard_invocation(inv)  # the very same object
    assert requested_capabilities(inv) == first.capabilities == {"privileged", "bind:/srv"}
    assert first.spec is not None and first.spec.privileged and first.planned_container().name == "web"


@pytest.mark.parametrize(
    "argv",
    [
        ["--privileged", "busybox"],
        ["-v", "/etc:/e", "--mount", "type=bind,src=/srv,dst=/s", "busybox"],
        ["--cap-add", "sys_admin", "--net", "host", "--pid", "host", "busybox"],
        ["--env-file", "/x", "-e", "HOME", "--device", "/dev/fuse", "busybox"],
    ],
)
def test_what_runs_is_what_was_judged(argv: list[str]) -> None:
    """Every dangerous field of the body the engine gets has its capability among those judged."""
    guarded = parse_command("run", argv)
    caps = guarded.capabilities
    assert guarded.spec is not None
    final = runconfig.body(runconfig.plan(guarded.spec), environ={"HOME": "/root"})
    host = final["HostConfig"]
    assert host["Privileged"] == ("privileged" in caps)
    for bind in host["Binds"] or []:
        assert f"bind:{bind.split(':')[0]}" in caps
    for mount in host["Mounts"] or []:
        assert mount["Type"] != "bind" or f"bind:{mount['Source']}" in caps
    for cap in host["CapAdd"] or []:
        assert f"cap-add:{cap.removeprefix('CAP_')}" in caps
    for ns in ("NetworkMode", "PidMode"):
        assert host[ns] != "host" or f"{ns.removesuffix('Mode').lower()}:host" in caps
    for device in host["Devices"]:
        assert f"device:{device['PathOnHost']}" in caps
    if guarded.spec.env_files:
        assert "env-file" in caps
    for name in guarded.spec.inherited_env:
        assert f"env-inherit:{name}" in caps
