"""The flag guard parses run/create/exec/update exactly like docker and names what they ask for."""

from __future__ import annotations

import pytest

from bot.core.cliparse import Kind
from bot.errors import ParseError
from bot.policy.caps import FAMILIES
from bot.policy.flagguard import (
    CREATE_FLAGS,
    EXEC_FLAGS,
    HIDDEN_FLAGS,
    RUN_FLAGS,
    UPDATE_FLAGS,
    capabilities,
    flagset,
    parse_command,
    parse_mount,
    parse_network,
    parse_volume,
)

# `docker run --help` of docker 28 (visible flags), plus the hidden aliases.
DOCKER_RUN_FLAGS = set(
    """add-host annotation attach blkio-weight blkio-weight-device cap-add cap-drop cgroup-parent cgroupns
    cidfile cpu-count cpu-percent cpu-period cpu-quota cpu-rt-period cpu-rt-runtime cpu-shares cpus cpuset-cpus
    cpuset-mems detach detach-keys device device-cgroup-rule device-read-bps device-read-iops device-write-bps
    device-write-iops disable-content-trust dns dns-option dns-search domainname entrypoint env env-file expose
    gpus group-add health-cmd health-interval health-retries health-start-interval health-start-period
    health-timeout hostname init interactive io-maxbandwidth io-maxiops ip ip6 ipc isolation kernel-memory label
    label-file link link-local-ip log-driver log-opt mac-address memory memory-reservation memory-swap
    memory-swappiness mount name network network-alias no-healthcheck oom-kill-disable oom-score-adj pid
    pids-limit platform privileged publish publish-all pull quiet read-only restart rm runtime security-opt
    shm-size sig-proxy stop-signal stop-timeout storage-opt sysctl tmpfs tty ulimit use-api-socket user userns
    uts volume volume-driver volumes-from workdir net net-alias dns-opt""".split()
)
DOCKER_RUN_SHORTS = {
    "a": "attach",
    "c": "cpu-shares",
    "d": "detach",
    "e": "env",
    "h": "hostname",
    "i": "interactive",
    "l": "label",
    "m": "memory",
    "p": "publish",
    "P": "publish-all",
    "q": "quiet",
    "t": "tty",
    "u": "user",
    "v": "volume",
    "w": "workdir",
}


def test_run_table_is_dockers_complete_table() -> None:
    assert {f.name for f in RUN_FLAGS} == DOCKER_RUN_FLAGS
    assert {f.short: f.name for f in RUN_FLAGS if f.short} == DOCKER_RUN_SHORTS
    assert {f.name for f in CREATE_FLAGS} == DOCKER_RUN_FLAGS - {"detach", "detach-keys", "sig-proxy"}
    assert HIDDEN_FLAGS <= DOCKER_RUN_FLAGS


def test_exec_and_update_tables() -> None:
    assert {f.name for f in EXEC_FLAGS} == {
        "detach",
        "detach-keys",
        "env",
        "env-file",
        "interactive",
        "privileged",
        "tty",
        "user",
        "workdir",
    }
    assert {f.name for f in UPDATE_FLAGS} == {
        "blkio-weight",
        "cpu-period",
        "cpu-quota",
        "cpu-rt-period",
        "cpu-rt-runtime",
        "cpu-shares",
        "cpus",
        "cpuset-cpus",
        "cpuset-mems",
        "kernel-memory",
        "memory",
        "memory-reservation",
        "memory-swap",
        "pids-limit",
        "restart",
    }


def test_tables_are_sorted_and_repeatable_flags_are_lists() -> None:
    for table in (RUN_FLAGS, CREATE_FLAGS, EXEC_FLAGS, UPDATE_FLAGS):
        assert [f.name for f in table] == sorted(f.name for f in table)
    lists = {f.name for f in RUN_FLAGS if f.kind is Kind.LIST}
    assert {"volume", "mount", "cap-add", "device", "env", "publish", "network", "net", "security-opt"} <= lists


@pytest.mark.parametrize(
    ("argv", "caps"),
    [
        (["busybox"], set()),
        (["--rm", "--name", "web", "-p", "80:80", "-e", "A=1", "nginx"], set()),
        (["-v", "data:/data", "busybox"], set()),  # a named volume is not a bind
        (["--mount", "type=volume,src=data,dst=/data", "busybox"], set()),
        (["--mount", "type=tmpfs,dst=/tmp", "--tmpfs", "/run", "busybox"], set()),
        (["-v", "/anon", "busybox"], set()),  # anonymous volume: one part is the target
        (["--privileged", "busybox"], {"privileged"}),
        (["--privileged=false", "busybox"], set()),
        (["--privileged=false", "--privileged", "busybox"], {"privileged"}),
        (["--privileged", "--privileged=0", "busybox"], set()),
        (
            ["--cap-add", "net_admin", "--cap-add=CAP_SYS_PTRACE", "busybox"],
            {"cap-add:NET_ADMIN", "cap-add:SYS_PTRACE"},
        ),
        (["--cap-add=all", "busybox"], {"cap-add:ALL"}),
        (["--cap-drop", "ALL", "busybox"], set()),
        (["-v", "/srv/data:/data:ro", "busybox"], {"bind:/srv/data"}),
        (["-v", "/srv//data/./:/data", "busybox"], {"bind:/srv/data"}),
        (["-v", "/:/host", "busybox"], {"bind:/", "docker-socket"}),
        (["-v", "/var/run/docker.sock:/s", "busybox"], {"bind:/var/run/docker.sock", "docker-socket"}),
        (
            ["-v", "/home/me/.docker/run/docker.sock:/s", "busybox"],
            {"bind:/home/me/.docker/run/docker.sock", "docker-socket"},
        ),
        (["-v", "/proc:/p", "busybox"], {"bind:/proc", "docker-socket"}),
        (["--mount", "type=bind,src=/srv/data,dst=/d", "busybox"], {"bind:/srv/data"}),
        (["--volumes-from", "db:ro", "busybox"], {"volumes-from:db"}),
        (["--device", "/dev/fuse:/dev/fuse:rwm", "busybox"], {"device:/dev/fuse"}),
        (["--device", "nvidia.com/gpu=all", "busybox"], {"device:nvidia.com/gpu=all"}),
        (["--gpus", "all", "busybox"], {"gpus"}),
        (["--net=host", "busybox"], {"network:host"}),
        (["--network", "mynet", "--network", "other", "busybox"], set()),
        (["--network", "container:db", "busybox"], {"network:container"}),
        (["--pid", "container:db", "--ipc=shareable", "busybox"], {"pid:container"}),
        (["--security-opt", "no-new-privileges", "busybox"], set()),
        (["--security-opt", "no-new-privileges:true", "busybox"], set()),
        (["--security-opt", "no-new-privileges=false", "busybox"], {"security-opt:no-new-privileges=false"}),
        (["--security-opt", "label:disable", "busybox"], {"security-opt:label=disable"}),
        (["--security-opt", "systempaths=unconfined", "busybox"], {"security-opt:systempaths=unconfined"}),
        (["--sysctl", "net.ipv4.ip_forward=1", "busybox"], {"sysctl:net.ipv4.ip_forward"}),
        (["--runtime", "runc", "busybox"], set()),
        (["--runtime", "nvidia", "busybox"], {"runtime:nvidia"}),
        (["--annotation", "io.katacontainers.x=1", "busybox"], {"annotation:io.katacontainers.x"}),
        (["--cgroup-parent", "/", "busybox"], {"cgroup-parent"}),
        (["--device-cgroup-rule", "c 1:3 mr", "busybox"], {"device-cgroup-rule"}),
        (["--env-file", "/etc/passwd", "busybox"], {"env-file"}),
        (["--label-file", "x", "--cidfile", "/tmp/x", "busybox"], {"label-file", "cidfile"}),
        (["-e", "AWS_SECRET_ACCESS_KEY", "busybox"], {"env-inherit:AWS_SECRET_ACCESS_KEY"}),
        (["--oom-kill-disable", "--oom-score-adj", "-500", "busybox"], {"oom-kill-disable", "oom-score-adj"}),
        (["--oom-score-adj", "500", "busybox"], set()),
        (["--volume-driver", "local", "-v", "v:/v", "busybox"], set()),
        (["--volume-driver", "sshfs", "-v", "v:/v", "busybox"], {"volume-driver:sshfs"}),
        (["--use-api-socket", "busybox"], {"docker-socket", "bind:/var/run/docker.sock"}),
        (["busybox", "--privileged", "-v", "/:/h"], set()),  # the container's command
        (["--", "busybox", "--privileged"], set()),
        (["-h", "myhost", "busybox"], set()),  # -h is --hostname in run
    ],
)
def test_run_capabilities(argv: list[str], caps: set[str]) -> None:
    assert capabilities("run", argv) == caps
    assert capabilities("create", argv) == caps
    assert capabilities("container run", argv) == caps


@pytest.mark.parametrize(
    ("argv", "caps"),
    [
        (["web", "sh"], set()),
        (["-it", "web", "sh"], set()),
        (["-u", "0", "web", "sh"], {"user:root"}),
        (["-u", "root:root", "web", "sh"], {"user:root"}),
        (["-u", "+0", "web", "sh"], {"user:root"}),
        (["-u", "00:1000", "web", "sh"], {"user:root"}),
        (["-itu0", "web", "sh"], {"user:root"}),
        (["-u", "1000", "web", "sh"], set()),
        (["-u", "rootless", "web", "sh"], set()),
        (["--privileged", "web", "sh"], {"exec-privileged"}),
        (["--env-file", "/etc/shadow", "web", "sh"], {"env-file"}),
        (["-e", "HOME", "web", "sh"], {"env-inherit:HOME"}),
        (["web", "-u", "0", "--privileged"], set()),  # after the container: the command's own args
    ],
)
def test_exec_capabilities(argv: list[str], caps: set[str]) -> None:
    assert capabilities("exec", argv) == caps


def test_update_parses_interspersed_and_needs_a_flag() -> None:
    assert capabilities("update", ["web", "--memory", "1g", "api"]) == frozenset()
    guarded = parse_command("update", ["web", "--memory", "1g", "api", "-c", "512"])
    assert guarded.args == ("web", "api")
    assert guarded.opt("cpu-shares") == 512
    with pytest.raises(ParseError, match="you must provide one or more flags"):
        capabilities("update", ["web"])


@pytest.mark.parametrize(
    ("verb", "argv", "message"),
    [
        ("run", ["--foo", "busybox"], "unknown flag: --foo"),
        ("run", ["-x", "busybox"], "unknown shorthand flag: 'x' in -x"),
        ("run", ["--priviledged", "busybox"], "unknown flag: --priviledged"),
        ("run", [], '"docker run" requires at least 1 argument.'),
        ("exec", ["web"], '"docker exec" requires at least 2 arguments.'),
        ("run", ["--privileged=yes", "busybox"], 'invalid argument "yes" for "--privileged" flag'),
        ("run", ["--stop-timeout", "ten", "busybox"], 'invalid argument "ten" for "--stop-timeout" flag'),
        ("run", ["--name"], "flag needs an argument: --name"),
        ("run", ["--mount", "type=bind", "busybox"], "target is required"),
        ("run", ["--mount", "type=bind,src=/,dst=/h,bogus=1", "busybox"], "unexpected key 'bogus'"),
        ("run", ["--mount", "type=bind,src,dst=/h", "busybox"], "invalid field 'src' must be a key=value pair"),
        ("run", ["--mount", 'src="/",dst=/x', "busybox"], 'bare " in non-quoted-field'),
        ("run", ["--mount", '"src=/,dst=/x', "busybox"], 'extraneous or missing " in quoted-field'),
        ("run", ["--mount", "dst=/x\ntype=bind,src=/", "busybox"], "line breaks are not allowed"),
        ("run", ["-v", "/a::/b", "busybox"], "empty section between colons"),
        ("run", ["-v", "/a:/b:ro:x", "busybox"], "too many colons"),
        ("run", ["--network", "name=host,bogus=1", "busybox"], "invalid field key bogus"),
        ("run", ["--network", "alias=x", "busybox"], "network name/id is not specified"),
        ("run", ["--security-opt", "seccomp", "busybox"], "invalid --security-opt"),
        ("exec", ["-h", "web", "sh"], "unknown shorthand flag: 'h' in -h"),
    ],
)
def test_docker_refuses_what_docker_refuses(verb: str, argv: list[str], message: str) -> None:
    with pytest.raises(ParseError) as err:
        capabilities(verb, argv)
    assert message in err.value.message


def test_help_skips_argument_checks() -> None:
    assert parse_command("run", ["--help"]).help
    assert flagset("container exec").parse(["--help"]).opts["help"] is True


def test_other_verbs_have_no_guarded_flags() -> None:
    assert capabilities("restart", ["-t", "5", "web"]) == frozenset()
    with pytest.raises(ValueError):
        parse_command("restart", ["web"])


def test_mount_parsing_matches_docker() -> None:
    m = parse_mount('type=bind,"source=/srv/a,b",destination=/x,readonly,bind-propagation=rshared')
    assert (m.type, m.source, m.target, m.readonly) == ("bind", "/srv/a,b", "/x", True)
    assert m.option("bind-propagation") == ["rshared"]
    assert parse_mount("TYPE=Bind,SRC=/a,DST=/b").type == "bind"  # keys and type are case-insensitive
    assert parse_mount("dst=/b").type == "volume"  # the default type
    assert parse_mount("type=bind,src=/a,src=/b,dst=/c").source == "/b"  # last one wins


def test_volume_parsing_matches_docker() -> None:
    assert parse_volume("data:/data").type == "volume"
    v = parse_volume("/srv:/x:ro,z")
    assert (v.type, v.source, v.target, v.readonly) == ("bind", "/srv", "/x", True)
    assert parse_volume("~/x:/y").type == "bind"
    assert parse_volume("./x:/y").type == "bind"
    assert parse_volume("c:/x:/y").source == "c:/x"  # a Windows drive letter is not a separator
    assert parse_volume("/x").target == "/x"


def test_network_parsing_matches_docker() -> None:
    assert parse_network("host").target == "host"
    n = parse_network("name=mynet,alias=web,ip=10.0.0.2")
    assert (n.target, n.options) == ("mynet", (("alias", "web"), ("ip", "10.0.0.2")))
    assert parse_network("container:db").target == "container:db"


def test_guarded_command_is_reusable_for_the_api_payload() -> None:
    g = parse_command(
        "run",
        ["-d", "--name", "web-1", "--net", "a", "--network", "b", "--net", "c", "-l", "team=x", "nginx:1", "nginx"],
    )
    assert g.args == ("nginx:1", "nginx")
    assert [n.target for n in g.networks] == ["a", "b", "c"]  # --net and --network in typed order
    assert g.values("net", "network") == ["a", "b", "c"]
    assert g.opt("detach") is True
    target = g.planned_container()
    assert (target.kind, target.name, dict(target.labels), target.image) == (
        "container",
        "web-1",
        {"team": "x"},
        "nginx:1",
    )
    origins = dict(parse_command("run", ["-v", "/:/h", "busybox"]).origins)
    assert origins["bind:/"] == "-v /:/h"


def test_every_capability_belongs_to_a_known_family() -> None:
    argv = [
        "--privileged",
        "--cap-add=x",
        "--device=/dev/x",
        "--device-cgroup-rule=c 1:3 mr",
        "--gpus=all",
        "--pid=host",
        "--net=host",
        "--ipc=host",
        "--uts=host",
        "--userns=host",
        "--cgroupns=host",
        "--cgroup-parent=x",
        "--security-opt=a=b",
        "-v/x:/y",
        "--volumes-from=x",
        "--mount=type=npipe,src=x,dst=/y",
        "--mount=type=volume,volume-driver=x,dst=/z",
        "--volume-driver=x",
        "--env-file=x",
        "--label-file=x",
        "--cidfile=x",
        "-eX",
        "--sysctl=net.a=b",
        "--runtime=x",
        "--annotation=a=b",
        "--oom-kill-disable",
        "--oom-score-adj=-1",
        "--use-api-socket",
        "busybox",
    ]
    caps = capabilities("run", argv) | capabilities("exec", ["--privileged", "-u0", "c", "sh"])
    assert {c.partition(":")[0] for c in caps} == set(FAMILIES)
