"""THE BYPASS TABLE: attempts to get past the policy by spelling.

The attacker holds role `dev` (see helpers.ATTACK_POLICY): run/create/exec/update on
containers named web-* from busybox or registry.example.com/team/*, on host staging,
with exactly three flag grants: cap-add:NET_ADMIN, bind:/srv/data, device:/dev/fuse.
Every attempt must be refused (by the gate, or by docker's own grammar) without an
exception; the few "allowed" rows are controls proving the refusals are not blanket.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from bot.errors import UserError
from bot.policy import Decision, Subject, Target
from tests.policy.helpers import DEV, VIEWER_ELSEWHERE, VIEWER_IN_PAY, attack_policy, attempt, container

POLICY = attack_policy()
NAME = ["--name", "web-x"]  # a name the role covers, so only the flags decide


@dataclass(frozen=True)
class Try:
    id: str
    verb: str
    argv: list[str] = field(default_factory=list)
    expect: str = "denied"  # denied | parse-error | allowed
    target: Target | None = None
    subject: Subject = DEV
    host: str = "staging"
    rule: str | None = None  # the deciding rule, when it matters


def run(id: str, *flags: str, image: str = "busybox", expect: str = "denied", rule: str | None = None) -> Try:
    return Try(id, "run", [*NAME, *flags, image], expect, rule=rule)


TRIES = [
    # --- bind mounts of host paths, in every spelling -----------------------------------
    run("combined-short-itv", "-itv", "/:/h", rule="deny[1] (the Docker socket is root on the host)"),
    run("glued-short-v", "-v/:/h"),
    run("short-v-equals", "-v=/:/h"),
    run("long-volume-equals", "--volume=/:/h"),
    run("long-volume-space", "--volume", "/:/h"),
    run("volume-readonly", "-v", "/:/h:ro"),
    run("mount-equals-bind-root", "--mount=type=bind,src=/,dst=/h"),
    run("mount-socket-source", "--mount", "type=bind,source=/var/run/docker.sock,target=/s"),
    run("mount-upper-case-keys", "--mount", "TYPE=BIND,SOURCE=/etc,TARGET=/e", rule="flag guard: bind:/etc"),
    run("mount-quoted-field", "--mount", 'type=bind,"src=/etc",dst=/e'),
    run("mount-destination-spelling", "--mount", "type=bind,src=/etc,destination=/e"),
    run("mount-repeated-source", "--mount", "type=bind,src=/srv/data,src=/etc,dst=/e"),
    run(
        "mount-volume-opt-bind",
        "--mount",
        "type=volume,volume-opt=type=none,volume-opt=o=bind,volume-opt=device=/etc,dst=/e",
    ),
    run("mount-volume-path-source", "--mount", "type=volume,src=/etc,dst=/e"),
    run("mount-npipe-engine", "--mount", "type=npipe,src=\\\\.\\pipe\\docker_engine,dst=/p"),
    run("var-run-holds-socket", "-v", "/var/run:/x"),
    run("run-holds-socket", "-v", "/run:/x"),
    run("var-holds-socket", "-v", "/var:/x"),
    run("double-slashes", "-v", "//var//run//docker.sock:/s"),
    run("dotdot-to-socket", "-v", "/srv/data/../../var/run/docker.sock:/s"),
    run("dotdot-out-of-grant", "-v", "/srv/data/../../etc:/x", rule="deny[1] (the Docker socket is root on the host)"),
    run("prefix-confusion", "-v", "/srv/database:/x", rule="flag guard: bind:/srv/database"),
    run("subpath-of-exact-grant", "-v", "/srv/data/sub:/x"),
    run("relative-path", "-v", "./data:/x"),
    run("dot", "-v", ".:/x"),
    run("tilde-path", "-v", "~/.ssh:/x"),
    run("proc-root", "-v", "/proc/1/root:/x"),
    run("repeated-volume-one-bad", "-v", "/srv/data:/d", "-v", "/etc:/e"),
    run("use-api-socket", "--use-api-socket"),
    run("volumes-from-db", "--volumes-from", "web-db1"),
    # --- privilege flags ---------------------------------------------------------------------
    run("privileged", "--privileged"),
    run("privileged-equals-true", "--privileged=true"),
    run("privileged-equals-1", "--privileged=1"),
    run("privileged-equals-True", "--privileged=True"),
    run("privileged-repeated-last-wins", "--privileged=false", "--privileged"),
    run("privileged-after-bool", "--rm", "--privileged"),
    run("cap-add-all", "--cap-add=all", rule="flag guard: cap-add:ALL"),
    run("cap-add-CAP-prefix", "--cap-add", "CAP_SYS_ADMIN", rule="flag guard: cap-add:SYS_ADMIN"),
    run("cap-add-lower", "--cap-add", "sys_admin"),
    run("cap-add-one-granted-one-not", "--cap-add", "NET_ADMIN", "--cap-add", "NET_RAW"),
    run("device-not-granted", "--device", "/dev/sda"),
    run("device-dotdot", "--device", "/dev/../dev/sda"),
    run("device-fuse-renamed", "--device", "/dev/fuse/../sda:/dev/fuse"),
    run("gpus", "--gpus", "all"),
    run("security-opt-seccomp", "--security-opt", "seccomp=unconfined"),
    run("security-opt-colon-form", "--security-opt", "apparmor:unconfined"),
    run("security-opt-label-disable", "--security-opt", "label=disable"),
    run("security-opt-local-file", "--security-opt", "seccomp=/etc/passwd"),
    run("sysctl", "--sysctl", "kernel.shm_rmid_forced=1"),
    run("runtime", "--runtime=io.containerd.runsc.v1"),
    run("oom-kill-disable", "--oom-kill-disable"),
    # --- namespaces ----------------------------------------------------------------------------
    run("network-equals-host", "--network=host", rule="flag guard: network:host"),
    run("net-alias-host", "--net", "host"),
    run("net-upper-case", "--net=HOST"),
    run("network-long-syntax", "--network", "name=host,gw-priority=1"),
    run("network-long-syntax-alias", "--network", "name=host,alias=x", expect="parse-error"),  # docker refuses it
    run("network-container", "--network", "container:web-db1"),
    run("network-second-is-host", "--network", "bridge", "--net", "host"),
    run("pid-host", "--pid=host"),
    run("pid-container", "--pid", "container:web-db1"),
    run("ipc-host", "--ipc", "host"),
    run("uts-host", "--uts=host"),
    run("userns-host", "--userns=host"),
    run("cgroupns-host", "--cgroupns", "host"),
    # --- the bot's own host ----------------------------------------------------------------------
    run("env-file", "--env-file", "/etc/dockbell.env"),
    run("env-inherit", "-e", "SLACK_BOT_TOKEN"),
    run("env-inherit-glued", "-eSLACK_SIGNING_SECRET"),
    run("label-file", "--label-file", "/etc/passwd"),
    run("cidfile", "--cidfile", "/etc/cron.d/x"),
    # --- docker grammar: refused before the gate ---------------------------------------------------
    run("typo-flag", "--priviledged", expect="parse-error"),
    # pflag: -p rivileged (a port spec docker refuses), never privileged
    run("single-dash-long", "-privileged", expect="parse-error"),
    run("unknown-short", "-Z", expect="parse-error"),
    run("bool-with-junk", "--privileged=yes", expect="parse-error"),
    run("mount-with-newline", "--mount", "dst=/x\ntype=bind,src=/", expect="parse-error"),
    run("mount-bare-quote", "--mount", 'src="/",dst=/x,type=bind', expect="parse-error"),
    run("security-opt-no-value", "--security-opt", "seccomp", expect="parse-error"),
    # --- flags after the image are the container's command ------------------------------------------
    Try("flags-after-image", "run", [*NAME, "busybox", "--privileged", "-v", "/:/h", "--net=host"], "allowed"),
    Try("double-dash-then-image", "run", [*NAME, "--", "busybox", "--privileged"], "allowed"),
    Try("flags-before-and-after", "run", [*NAME, "--privileged", "busybox", "--privileged=false"]),
    Try("bool-does-not-eat-image", "run", [*NAME, "--privileged", "false", "busybox"]),  # image is "false"
    # --- images ---------------------------------------------------------------------------------------------
    run("hub-busybox-normalized", image="docker.io/library/busybox:1.36", expect="allowed"),
    run("index-docker-io", image="index.docker.io/library/busybox", expect="allowed"),
    run("team-image", image="registry.example.com/team/api:v2", expect="allowed"),
    run("image-upper-case", image="BUSYBOX"),
    run("image-user-namespace", image="evil/busybox"),
    run("image-deeper-path", image="registry.example.com/team/app/sub"),
    run("image-lookalike-registry", image="registry.example.com.evil.io/team/app"),
    run("image-registry-as-path", image="evil.io/registry.example.com/team/app"),
    run("image-dotdot", image="registry.example.com/team/../admin/app"),
    run("image-id", image="a" * 64),
    run(
        "granted-flags-exactly",
        "--cap-add=cap_net_admin",
        "-v",
        "/srv/data/:/d",
        "--device",
        "/dev/fuse",
        expect="allowed",
    ),
    run("named-volume-is-fine", "-v", "data:/data", "--tmpfs", "/tmp", expect="allowed"),
    # --- names ------------------------------------------------------------------------------------------------
    Try("run-without-name", "run", ["busybox"]),
    Try("run-name-outside-glob", "run", ["--name", "db", "busybox"]),
    Try("run-cyrillic-name", "run", ["--name", "wеb-x", "busybox"]),
    Try("run-name-with-glob", "run", ["--name", "web-*", "busybox"]),  # not a name docker allows: never matches
    Try("exec-cyrillic-lookalike", "exec", ["wеb-1", "sh"], target=container("wеb-1")),
    Try("exec-glob-as-target", "exec", ["web-*", "sh"], target=container("web-*")),
    Try("exec-quoted-name", "exec", ['"web-1"', "sh"], target=container('"web-1"')),
    Try("exec-id-instead-of-name", "exec", ["3f2a4b5c6d7e", "sh"], target=container("")),
    Try("exec-id-as-name", "exec", ["3f2a4b5c6d7e", "sh"], target=container("3f2a4b5c6d7e")),
    Try(
        "exec-database", "exec", ["web-db1", "sh"], target=container("web-db1"), rule="deny[0] (no shells in databases)"
    ),
    Try("exec-database-alias", "container exec", ["web-db1", "sh"], target=container("/web-db1")),
    Try("exec-user-root", "exec", ["-u", "0", "web-1", "sh"], target=container("web-1"), rule="flag guard: user:root"),
    Try("exec-combined-user-root", "exec", ["-itu0", "web-1", "sh"], target=container("web-1")),
    Try("exec-user-plus-zero", "exec", ["--user=+0:0", "web-1", "sh"], target=container("web-1")),
    Try("exec-privileged", "exec", ["--privileged", "web-1", "sh"], target=container("web-1")),
    Try("exec-flags-after-container", "exec", ["web-1", "sh", "-u", "0"], "allowed", target=container("web-1")),
    Try("exec-leading-slash-name", "exec", ["web-1", "sh"], "allowed", target=container("/web-1")),
    # --- verbs by alias ----------------------------------------------------------------------------------------
    Try("alias-container-rm", "container rm", target=container("web-1")),
    Try("alias-extra-spaces", "container   rm", target=container("web-1")),
    Try("alias-upper-case", "CONTAINER RM", target=container("web-1")),
    Try("alias-image-rm", "image rm", target=Target("image", "busybox")),
    Try("alias-system-prune", "system prune"),
    Try("alias-container-restart", "container restart", target=container("web-1"), expect="allowed"),
    # --- hosts and channels ------------------------------------------------------------------------------------
    Try("unbound-host", "restart", target=container("web-1"), host="prod"),
    Try("host-case", "restart", target=container("web-1"), host="Staging"),
    Try("host-trailing-space", "restart", target=container("web-1"), host="staging "),
    Try("channel-binding-elsewhere", "logs", target=container("pay-1", {"team": "payments"}), subject=VIEWER_ELSEWHERE),
    Try(
        "channel-binding-in-channel",
        "logs",
        target=container("pay-1", {"team": "payments"}),
        subject=VIEWER_IN_PAY,
        expect="allowed",
    ),
    Try("label-value-lookalike", "logs", target=container("pay-1", {"team": "paymеnts"}), subject=VIEWER_IN_PAY),
    Try("label-key-case", "logs", target=container("pay-1", {"Team": "payments"}), subject=VIEWER_IN_PAY),
]


@pytest.mark.parametrize("t", TRIES, ids=[t.id for t in TRIES])
def test_bypass_attempt(t: Try) -> None:
    outcome = attempt(POLICY, t.subject, t.verb, t.argv, target=t.target, host=t.host)
    if t.expect == "parse-error":
        assert isinstance(outcome, UserError), outcome
        return
    assert isinstance(outcome, Decision), f"unexpected parse error: {outcome}"
    assert outcome.rule != "error", outcome
    assert outcome.allowed is (t.expect == "allowed"), (outcome.rule, outcome.reason)
    if t.rule is not None:
        assert outcome.rule == t.rule


def test_the_table_is_big_enough() -> None:
    assert sum(t.expect != "allowed" for t in TRIES) >= 50
