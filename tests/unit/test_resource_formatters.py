"""Pure parts of the volume, network and compose commands: formats, documents, IPAM checks, compose helpers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli_output.formatters import compose as cfmt
from bot.cli_output.formatters import networks as nfmt
from bot.cli_output.formatters import volumes as vfmt
from bot.cli_output.formatters.listing import render_list
from bot.core.dispatch import compose_flags_after_subcommand
from bot.engine.compose import ProjectFiles
from bot.errors import UserError
from handlers.networks import ipam_pools

pytestmark = pytest.mark.unit


def test_go_time_text() -> None:
    assert nfmt.go_time_text("2026-05-14T10:11:12.500000000Z") == "2026-05-14 10:11:12.5 +0000 UTC"
    assert nfmt.go_time_text("2026-05-14T10:11:12Z") == "2026-05-14 10:11:12 +0000 UTC"
    assert nfmt.go_time_text("2026-05-14T10:11:12.123+02:00") == "2026-05-14 10:11:12.123 +0200 +0200"
    assert nfmt.go_time_text("") == "0001-01-01 00:00:00 +0000 UTC"


def test_volume_document_is_the_cli_struct() -> None:
    api = {
        "Name": "v",
        "Driver": "local",
        "Mountpoint": "/m",
        "Labels": {"b": "2", "a": "1"},
        "Options": None,
        "Scope": "local",
        "CreatedAt": "2026-01-01T00:00:00Z",
    }
    doc = vfmt.volume_document(api)
    assert list(doc) == ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"]
    assert list(doc["Labels"]) == ["a", "b"] and doc["Options"] is None


def test_volume_and_network_rows() -> None:
    rows = vfmt.sorted_volumes([{"Name": "v10"}, {"Name": "v2"}, {"Name": "v1"}])
    assert [r["Name"] for r in rows] == ["v1", "v2", "v10"]
    ctx = vfmt.VolumeContext({"Name": "v", "Driver": "local", "Labels": {"z": "1", "a": "2"}})
    assert (ctx.Labels(), ctx.Links(), ctx.Size(), ctx.Status()) == ("a=2,z=1", "N/A", "N/A", "N/A")
    raw = render_list(vfmt.volumes_format("raw", quiet=False), default_table="", headers={}, contexts=[ctx])
    assert raw == "name: v\ndriver: local\n\n"
    net = nfmt.NetworkContext({"Id": "ab" * 32, "Name": "n", "Internal": True}, trunc=True)
    assert (net.ID(), net.IPv4(), net.IPv6(), net.Internal()) == ("ab" * 6, "false", "false", "true")
    table = render_list(None, default_table=nfmt.NETWORKS_DEFAULT_TABLE, headers=nfmt.NETWORK_HEADERS, contexts=[net])
    assert table.splitlines()[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]


@pytest.mark.parametrize(
    ("subnets", "ranges", "gateways", "message"),
    [
        ([], [], ["10.0.0.1"], "every ip-range or gateway must have a corresponding subnet"),
        (["10.0.0.0/16", "10.0.1.0/24"], [], [], "multiple overlapping subnet configuration is not supported"),
        (["10.0.0.0/24"], [], ["10.1.0.1"], "no matching subnet for gateway 10.1.0.1"),
        (["10.0.0.0/24"], ["10.1.0.0/28"], [], "no matching subnet for range 10.1.0.0/28"),
        (["bad"], [], [], "invalid subnet: invalid CIDR address: bad"),
        (["10.0.0.0/24"], ["x/1"], [], "invalid CIDR address: x/1"),
    ],
)
def test_ipam_checks(subnets: list[str], ranges: list[str], gateways: list[str], message: str) -> None:
    with pytest.raises(UserError) as err:
        ipam_pools(subnets, ranges, gateways, {})
    assert str(err.value.message) == message


def test_ipam_pools() -> None:
    pools = ipam_pools(["10.0.0.0/24", "fd00::/64"], ["10.0.0.128/25"], ["10.0.0.1"], {"h": "10.0.0.5"})
    assert pools[0].subnet == "10.0.0.0/24" and pools[0].gateway == "10.0.0.1" and pools[0].ip_range == "10.0.0.128/25"
    assert dict(pools[0].aux_addresses) == {"h": "10.0.0.5"} and pools[1].gateway == ""


def _item(project: str, state: str, files: str | None = "/p/compose.yml", name: str = "c") -> dict[str, object]:
    labels = {cfmt.PROJECT_LABEL: project}
    if files is not None:
        labels[cfmt.CONFIG_FILES_LABEL] = files
    return {"Names": ["/" + name], "State": state, "Labels": labels}


def test_compose_ls() -> None:
    items = [
        _item("shop", "running"),
        _item("blog", "exited", None),
        _item("shop", "exited", "/p/compose.yml,/p/override.yml"),
        _item("shop", "running"),
    ]
    found = cfmt.stacks(items)
    assert found == [
        cfmt.Stack("blog", "exited(1)", "N/A"),
        cfmt.Stack("shop", "exited(1), running(2)", "/p/compose.yml,/p/override.yml"),
    ]
    table = cfmt.render_stacks(found, None, quiet=False)
    assert table.splitlines()[1] == "blog".ljust(20) + "exited(1)".ljust(24) + "N/A"  # the widest status + 3
    assert json.loads(cfmt.render_stacks(found, "json", quiet=False))[1]["Status"] == "exited(1), running(2)"
    assert cfmt.render_stacks([], "json", quiet=False) == "null\n"
    assert cfmt.render_stacks(found, None, quiet=True) == "blog\nshop\n"
    with pytest.raises(UserError):
        cfmt.render_stacks(found, "yaml", quiet=False)


def test_compose_names_and_flags() -> None:
    v2 = {
        "Names": ["/shop-web-1"],
        "Labels": {cfmt.PROJECT_LABEL: "shop", cfmt.SERVICE_LABEL: "web", cfmt.NUMBER_LABEL: "1"},
    }
    v1 = {**v2, "Names": ["/shop_web_1"]}
    assert cfmt.container_name_without_project(v2) == "web-1"
    assert cfmt.container_name_without_project(v1) == "shop_web_1"
    assert compose_flags_after_subcommand(["compose", "-p", "x", "ps", "-a"]) == ["compose", "ps", "-p", "x", "-a"]
    assert compose_flags_after_subcommand(["compose", "-f", "y", "ps"]) == ["compose", "-f", "y", "ps"]
    assert compose_flags_after_subcommand(["ps", "-p", "x"]) == ["ps", "-p", "x"]


def test_project_files(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text("services: {}\n")
    labels = {
        "com.docker.compose.project.working_dir": str(tmp_path),
        "com.docker.compose.project.config_files": "docker-compose.yml",  # v1: relative
    }
    files = ProjectFiles.from_labels("shop", labels)
    assert files.config_files == (str(tmp_path / "docker-compose.yml"),) and files.problem() is None
    gone = ProjectFiles.from_labels("shop", {**labels, "com.docker.compose.project.config_files": "/nope/c.yml"})
    assert gone.problem() == "the compose file /nope/c.yml of project shop is not on this host"
    bare = ProjectFiles.from_labels("shop", {})
    assert "has no recorded compose files" in str(bare.problem())
