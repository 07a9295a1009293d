"""End to end: volume and network commands from signed requests, their output compared with the real docker CLI."""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Iterator

import docker
import pytest

from bot.fakeslack import Call, FakeSlack, SlackSender
from tests.helpers import all_text, docker_cli, output_text, run_command
from tests.rig import TEST_LABEL, Containers

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _text(call: Call) -> str:
    return all_text({"text": call.args.get("text", ""), "blocks": call.args.get("blocks") or []})


async def _job(slack: SlackSender, fake: FakeSlack, text: str, user: str = "U_ALICE") -> str:
    """Run a job command; the final text of its status message."""
    since = len(fake.calls)
    ack = await slack.command(text, user_id=user)
    assert ack.status == 200 and ack.elapsed < 3.0
    posted = await fake.wait_for_call("chat.postMessage", lambda c: text.split()[1] in _text(c), since=since)
    ts = posted.response["ts"]
    final = await fake.wait_for_call(
        "chat.update",
        lambda c: c.args.get("ts") == ts and any(w in _text(c) for w in ("succeeded", "failed")),
        since=since,
        timeout=30,
    )
    return _text(final)


class Made:
    """Volumes and networks of this test session: labelled, and removed afterwards whatever happened."""

    def __init__(self, api: docker.APIClient, session: str) -> None:
        self.api = api
        self.session = session
        self.prefix = f"dockbell-t{session}"

    def cleanup(self) -> None:
        label = f"{TEST_LABEL}={self.session}"
        for net in self.api.networks(filters={"label": [label]}):
            for cid in self.api.inspect_network(net["Id"]).get("Containers") or {}:
                with contextlib.suppress(docker.errors.APIError):
                    self.api.disconnect_container_from_network(cid, net["Id"], force=True)
            with contextlib.suppress(docker.errors.APIError):
                self.api.remove_network(net["Id"])
        for vol in (self.api.volumes(filters={"label": [label]}) or {}).get("Volumes") or []:
            with contextlib.suppress(docker.errors.APIError):
                self.api.remove_volume(vol["Name"], force=True)


@pytest.fixture
def made(docker_api: docker.APIClient, containers: Containers) -> Iterator[Made]:
    tracked = Made(docker_api, containers.session)
    yield tracked
    tracked.cleanup()


async def test_volume_create_ls_inspect_rm(
    slack: SlackSender, fake_slack: FakeSlack, made: Made, docker_api: docker.APIClient
) -> None:
    name = f"{made.prefix}-vol"
    other = f"{made.prefix}-vol10"  # natural order: vol, vol2, vol10
    second = f"{made.prefix}-vol2"
    for vol, team in ((name, "payments"), (other, "search"), (second, "payments")):
        final = await _job(
            slack, fake_slack, f"volume create --label {TEST_LABEL}={made.session} --label team={team} {vol}"
        )
        assert "succeeded" in final and vol in final, final
    assert docker_api.inspect_volume(name)["Labels"]["team"] == "payments"

    where = f"label={TEST_LABEL}={made.session}"
    for flags in ("", "-q", "--format '{{.Name}}\t{{.Label \"team\"}}'", "--format 'table {{.Name}}\t{{.Driver}}'"):
        ours = output_text(await run_command(slack, fake_slack, f"volume ls --filter {where} {flags}"))
        argv = ["volume", "ls", "--filter", where]
        if flags == "-q":
            argv.append("-q")
        elif flags:
            argv += ["--format", flags.split(" ", 1)[1].strip("'")]
        assert ours == docker_cli(*argv), flags
    listed = output_text(await run_command(slack, fake_slack, f"volume ls -q --filter {where}")).splitlines()
    assert listed == [name, second, other]

    ours = output_text(await run_command(slack, fake_slack, f"volume inspect {name} {other}"))
    assert ours == docker_cli("volume", "inspect", name, other)
    assert json.loads(ours)[0]["Labels"]["team"] == "payments"
    fmt = output_text(await run_command(slack, fake_slack, f"volume inspect -f '{{{{.Name}}}} {{{{.Driver}}}}' {name}"))
    assert fmt == docker_cli("volume", "inspect", "-f", "{{.Name}} {{.Driver}}", name)

    # Bob sees only team=payments: the search volume is missing for him, in the daemon's words.
    bob_ls = output_text(await run_command(slack, fake_slack, f"volume ls -q --filter {where}", user_id="U_BOB"))
    assert bob_ls.splitlines() == [name, second]
    hidden = all_text(await run_command(slack, fake_slack, f"volume inspect {other}", user_id="U_BOB"))
    missing = all_text(await run_command(slack, fake_slack, f"volume inspect {made.prefix}-nope", user_id="U_BOB"))
    assert f"Error response from daemon: get {other}: no such volume" in hidden
    assert hidden.replace(other, "X") == missing.replace(f"{made.prefix}-nope", "X")

    can = output_text(await run_command(slack, fake_slack, f"can-i volume-rm {name}"))
    assert can.startswith(f"yes: volume-rm volume {name} on host local"), can
    bob_can = all_text(await run_command(slack, fake_slack, f"can-i volume-inspect {other}", user_id="U_BOB"))
    assert f"Error response from daemon: get {other}: no such volume" in bob_can  # hidden: as missing

    # rm: all or nothing when one is missing; -f ignores the missing one.
    refused = all_text(await run_command(slack, fake_slack, f"volume rm {name} {made.prefix}-nope"))
    assert f"get {made.prefix}-nope: no such volume" in refused
    assert docker_api.inspect_volume(name)
    final = await _job(slack, fake_slack, f"volume rm {name}")
    assert "succeeded" in final and name in final
    with pytest.raises(docker.errors.NotFound):
        docker_api.inspect_volume(name)
    forced = output_text(await run_command(slack, fake_slack, f"volume rm -f {made.prefix}-nope"))
    assert forced == f"{made.prefix}-nope"


async def test_volume_refusals_and_docker_wording(slack: SlackSender, fake_slack: FakeSlack, made: Made) -> None:
    refused = all_text(await run_command(slack, fake_slack, f"volume create {made.prefix}-x", user_id="U_DAVE"))
    assert "Not allowed" in refused and "volume-create" in refused
    # -o is a host bind in disguise: Bob's read role has no such grant, and neither the verb.
    opts = all_text(await run_command(slack, fake_slack, "volume create -o device=/etc x", user_id="U_BOB"))
    assert "Not allowed" in opts
    both = all_text(await run_command(slack, fake_slack, "volume create --name a b"))
    assert "conflicting options: cannot specify a volume-name through both --name and as a positional arg" in both
    usage = all_text(await run_command(slack, fake_slack, "volume inspect"))
    assert '"docker volume inspect" requires at least 1 argument.' in usage
    bad = all_text(await run_command(slack, fake_slack, "volume ls --filter foo=bar"))
    assert "Error response from daemon: Invalid filter 'foo'" in bad


async def test_network_create_ls_inspect_connect_disconnect_rm(
    slack: SlackSender, fake_slack: FakeSlack, made: Made, containers: Containers, docker_api: docker.APIClient
) -> None:
    net = f"{made.prefix}-net"
    third = random.randint(1, 250)
    subnet, gateway, ip = f"10.214.{third}.0/24", f"10.214.{third}.1", f"10.214.{third}.10"
    final = await _job(
        slack,
        fake_slack,
        f"network create --label {TEST_LABEL}={made.session} --label team=payments "
        f"--subnet {subnet} --gateway {gateway} --internal -d bridge {net}",
    )
    assert "succeeded" in final, final
    info = docker_api.inspect_network(net)
    assert info["Id"] in final
    assert info["Internal"] is True and info["IPAM"]["Config"] == [{"Subnet": subnet, "Gateway": gateway}]

    where = f"label={TEST_LABEL}={made.session}"
    for flags in ([], ["-q"], ["--no-trunc"], ["--format", '{{.Name}} {{.Internal}} {{.IPv6}} {{.Label "team"}}']):
        shown = " ".join(f"'{f}'" if " " in f else f for f in flags)
        ours = output_text(await run_command(slack, fake_slack, f"network ls --filter {where} {shown}"))
        assert ours == docker_cli("network", "ls", "--filter", where, *flags), flags
    ours = output_text(await run_command(slack, fake_slack, f"network inspect {net}"))
    assert ours == docker_cli("network", "inspect", net)
    short = info["Id"][:12]
    by_prefix = output_text(await run_command(slack, fake_slack, f"network inspect -f '{{{{.Name}}}}' {short}"))
    assert by_prefix == net

    box = containers.run("net-box", ["sleep", "3600"])
    final = await _job(slack, fake_slack, f"network connect --alias web-alias --ip {ip} {net} {box}")
    assert "succeeded" in final and f"{box}: connected to {net}" in final
    endpoint = docker_api.inspect_container(box)["NetworkSettings"]["Networks"][net]
    assert "web-alias" in endpoint["Aliases"] and endpoint["IPAMConfig"]["IPv4Address"] == ip
    busy = await _job(slack, fake_slack, f"network rm {net}")
    assert "failed" in busy and "has active endpoints" in busy
    final = await _job(slack, fake_slack, f"network disconnect -f {net} {box}")
    assert "succeeded" in final and f"{box}: disconnected from {net}" in final
    assert net not in docker_api.inspect_container(box)["NetworkSettings"]["Networks"]

    missing = all_text(await run_command(slack, fake_slack, f"network connect {net} {made.prefix}-nobox"))
    assert f"Error response from daemon: No such container: {made.prefix}-nobox" in missing
    gone = all_text(await run_command(slack, fake_slack, f"network inspect {made.prefix}-nonet"))
    assert f"Error response from daemon: network {made.prefix}-nonet not found" in gone

    final = await _job(slack, fake_slack, f"network rm {net}")
    assert "succeeded" in final
    assert not docker_api.networks(names=[net])


async def test_network_checks_before_anything_is_sent(slack: SlackSender, fake_slack: FakeSlack, made: Made) -> None:
    cases = {
        "network create --gateway 10.214.0.1 x": "every ip-range or gateway must have a corresponding subnet",
        "network create --subnet 10.214.0.0/16 --subnet 10.214.1.0/24 x": (
            "multiple overlapping subnet configuration is not supported"
        ),
        "network create --subnet 10.214.0.0/24 --gateway 10.215.0.1 x": "no matching subnet for gateway 10.215.0.1",
        "network create --subnet nonsense x": "invalid subnet: invalid CIDR address: nonsense",
        "network create": '"docker network create" requires exactly 1 argument.',
        "network connect onlyone": '"docker network connect" requires exactly 2 arguments.',
    }
    for text, wanted in cases.items():
        assert wanted in all_text(await run_command(slack, fake_slack, text)), text
    # Bob may see payments-labelled things but not create networks.
    refused = all_text(await run_command(slack, fake_slack, f"network create {made.prefix}-n", user_id="U_BOB"))
    assert "Not allowed" in refused and "network-create" in refused
