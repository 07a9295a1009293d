"""bot.cli_output.formatters against docker/cli's own tests (container_test.go, image_test.go,
formatter_stats_test.go, stats_helpers_test.go, port.go) and Engine API fixtures."""

from __future__ import annotations

from typing import Any

import pytest

from bot.cli_output.formatters import containers as cfmt
from bot.cli_output.formatters import images as ifmt
from bot.cli_output.formatters import stats as sfmt
from bot.cli_output.formatters import system as sysfmt
from bot.cli_output.formatters.listing import HeaderContext, pre_format, render_list
from bot.cli_output.formatters.reference import ReferenceError, parse_normalized_named, truncate_id
from bot.errors import TemplateError, UserError

NOW = 1_800_000_000.0
DAY = 86_400
FULL_ID = "b95a83497c9161c9b444e3d70e1a9dfba0c1840d41720e146a95a08ebf938afc"


def ps(rows: list[dict[str, Any]], fmt: str | None = None, *, trunc: bool = True, size: bool = False) -> str:
    contexts = [cfmt.ContainerContext(r, trunc=trunc, now=NOW) for r in rows]
    default = cfmt.PS_DEFAULT_TABLE_WITH_SIZE if size else cfmt.PS_DEFAULT_TABLE
    return render_list(fmt, default_table=default, headers=cfmt.CONTAINER_HEADERS, contexts=contexts)


# -- docker ps ------------------------------------------------------------------------------

TWO_CONTAINERS = [
    {"Id": "containerID1", "Names": ["/foobar_baz"], "Image": "ubuntu", "Created": NOW - DAY, "State": "running"},
    {"Id": "containerID2", "Names": ["/foobar_bar"], "Image": "ubuntu", "Created": NOW - DAY, "State": "running"},
]


@pytest.mark.parametrize(
    ("fmt", "size", "expected"),
    [
        (None, True,
         "CONTAINER ID   IMAGE     COMMAND   CREATED        STATUS    PORTS     NAMES        SIZE\n"
         'containerID1   ubuntu    ""        24 hours ago                       foobar_baz   0B\n'
         'containerID2   ubuntu    ""        24 hours ago                       foobar_bar   0B\n'),
        ("table", False,
         "CONTAINER ID   IMAGE     COMMAND   CREATED        STATUS    PORTS     NAMES\n"
         'containerID1   ubuntu    ""        24 hours ago                       foobar_baz\n'
         'containerID2   ubuntu    ""        24 hours ago                       foobar_bar\n'),
        ("table {{.Image}}", False, "IMAGE\nubuntu\nubuntu\n"),
        ("table {{.State}}", True, "STATE\nrunning\nrunning\n"),
        ("{{.Image}}", False, "ubuntu\nubuntu\n"),
        ('table {{split .Image ":"}}', False, "IMAGE\n[ubuntu]\n[ubuntu]\n"),
        ("table {{.ID}}\\t{{.Label \"com.docker.compose.project\"}}", False,
         "CONTAINER ID   project\ncontainerID1   \ncontainerID2   \n"),
        ("tablex{{.ID}}", False, "xCONTAINER ID\nxcontainerID1\nxcontainerID2\n"),  # only the prefix counts
        ("  {{.ID}}\\n", False, "containerID1\n\ncontainerID2\n\n"),
    ],
)  # fmt: skip
def test_container_write(fmt: str | None, size: bool, expected: str) -> None:
    assert ps(TWO_CONTAINERS, fmt, size=size) == expected


def test_container_special_headers() -> None:
    # docker/cli testdata/container-context-write-special-headers.golden
    fmt = (
        "table {{truncate .ID 5}}\\t{{json .Image}} {{.RunningFor}}/{{title .Status}}/"
        "{{pad .Ports 2 2}}.{{upper .Names}} {{lower .Status}}"
    )
    assert ps(TWO_CONTAINERS, fmt) == (
        "CONTAINER ID   IMAGE CREATED/STATUS/  PORTS  .NAMES STATUS\n"
        'conta          "ubuntu" 24 hours ago//.FOOBAR_BAZ \n'
        'conta          "ubuntu" 24 hours ago//.FOOBAR_BAR \n'
    )


def test_container_write_without_rows() -> None:
    assert ps([], "{{.Image}}") == ""
    assert ps([], "table {{.Image}}") == "IMAGE\n"
    assert ps([], "table {{.Image}}\t{{.Size}}") == "IMAGE     SIZE\n"


def test_container_json_lines() -> None:
    lines = ps([{**TWO_CONTAINERS[0], "Ports": [{"PrivatePort": 80, "Type": "tcp", "IP": "0.0.0.0",
                                                    "PublicPort": 80}]}], "json")  # fmt: skip
    assert lines == (
        '{"Command":"\\"\\"","CreatedAt":"2027-01-14 08:00:00 +0000 UTC","ID":"containerID1","Image":"ubuntu",'
        '"Labels":"","LocalVolumes":"0","Mounts":"","Names":"foobar_baz","Networks":"","Platform":null,'
        '"Ports":"0.0.0.0:80-\\u003e80/tcp","RunningFor":"24 hours ago","Size":"0B","State":"running","Status":""}\n'
    )


@pytest.mark.parametrize(
    ("api", "trunc", "field", "expected"),
    [
        ({"Id": FULL_ID}, True, "ID", FULL_ID[:12]),
        ({"Id": FULL_ID}, False, "ID", FULL_ID),
        ({"Names": ["/foobar_baz"]}, True, "Names", "foobar_baz"),
        ({"Names": ["/other/link", "/web", "/x"]}, True, "Names", "web"),
        ({"Names": ["/web", "/other/link"]}, False, "Names", "web,other/link"),
        ({"Image": "ubuntu"}, True, "Image", "ubuntu"),
        ({"Image": "verylongimagename"}, False, "Image", "verylongimagename"),
        ({"Image": "a5a665ff33eced1e0803148700880edab4",
          "ImageID": "a5a665ff33eced1e0803148700880edab4269067ed77e27737a708d0d293fbf5"}, True, "Image",
         "a5a665ff33ec"),
        ({"Image": "a5a665ff33eced1e0803148700880edab4",
          "ImageID": "a5a665ff33eced1e0803148700880edab4269067ed77e27737a708d0d293fbf5"}, False, "Image",
         "a5a665ff33eced1e0803148700880edab4"),
        ({"Image": "docker.io/library/busybox:1.36"}, True, "Image", "busybox:1.36"),
        ({"Image": "busybox:1.36@sha256:" + "a" * 64}, True, "Image", "busybox:1.36"),
        ({"Image": "localhost:5000/app@sha256:" + "a" * 64}, True, "Image", "localhost:5000/app"),
        ({"Image": "Not/Valid"}, True, "Image", "Not/Valid"),
        ({"Image": ""}, True, "Image", "<no image>"),
        ({"Command": "sh -c 'ls -la'"}, True, "Command", "\"sh -c 'ls -la'\""),
        ({"Command": "sh -c 'sleep 1; exit 3'"}, True, "Command", "\"sh -c 'sleep 1; exi…\""),
        ({"Command": "sh -c 'sleep 1; exit 3'"}, False, "Command", "\"sh -c 'sleep 1; exit 3'\""),
        ({"Created": NOW - 65}, True, "RunningFor", "About a minute ago"),
        ({"Created": 1796011314}, True, "CreatedAt", "2026-11-30 04:01:54 +0000 UTC"),
        ({"Ports": [{"PrivatePort": 8080, "PublicPort": 8080, "Type": "tcp"}]}, True, "Ports", "8080/tcp"),
        ({"Status": "RUNNING"}, True, "Status", "RUNNING"),
        ({"SizeRw": 10}, True, "Size", "10B"),
        ({"SizeRw": 10, "SizeRootFs": 20}, True, "Size", "10B (virtual 20B)"),
        ({"SizeRootFs": 1982298}, True, "Size", "0B (virtual 1.98MB)"),
        ({}, True, "Labels", ""),
        ({"Labels": {"storage": "ssd", "cpu": "6"}}, True, "Labels", "cpu=6,storage=ssd"),
        ({"Mounts": [{"Name": "this-is-a-long-volume-name-and-will-be-truncated-if-trunc-is-set",
                      "Driver": "local", "Source": "/a/path"}]}, True, "Mounts", "this-is-a-long…"),
        ({"Mounts": [{"Driver": "local", "Source": "/a/path"}]}, False, "Mounts", "/a/path"),
        ({"Mounts": [{"Driver": "local"}, {"Driver": "nfs"}, {"Driver": "local"}]}, True, "LocalVolumes", "2"),
        ({"NetworkSettings": {"Networks": {"bridge": {}, "front": {}}}}, True, "Networks", "bridge,front"),
        ({"NetworkSettings": None}, True, "Networks", ""),
    ],
)  # fmt: skip
def test_container_fields(api: dict[str, Any], trunc: bool, field: str, expected: str) -> None:
    context = cfmt.ContainerContext(api, trunc=trunc, now=NOW)
    assert getattr(context, field)() == expected


def test_container_label() -> None:
    context = cfmt.ContainerContext(
        {"Labels": {"com.docker.swarm.swarm-id": "33", "com.docker.swarm.node_name": "ubuntu"}}, trunc=True, now=NOW
    )
    assert context.Label("com.docker.swarm.swarm-id") == "33"
    assert context.Label("com.docker.swarm.node_name") == "ubuntu"
    assert cfmt.ContainerContext({}, trunc=True, now=NOW).Label("anything.really") == ""


def _port(private: int, proto: str, ip: str = "", public: int = 0) -> dict[str, Any]:
    port: dict[str, Any] = {"PrivatePort": private, "Type": proto}
    if ip:
        port["IP"] = ip
    if public:
        port["PublicPort"] = public
    return port


@pytest.mark.parametrize(
    ("ports", "expected"),
    [
        ([_port(9988, "tcp")], "9988/tcp"),
        ([_port(9988, "udp")], "9988/udp"),
        ([_port(9988, "tcp", "0.0.0.0")], "0.0.0.0:0->9988/tcp"),
        ([_port(9988, "tcp", public=8899)], "9988/tcp"),
        ([_port(9988, "tcp", "4.3.2.1", 8899)], "4.3.2.1:8899->9988/tcp"),
        ([_port(9988, "tcp", "4.3.2.1", 9988)], "4.3.2.1:9988->9988/tcp"),
        ([_port(9988, "udp"), _port(9988, "udp")], "9988/udp, 9988/udp"),
        ([_port(9998, "udp", "1.2.3.4", 9998), _port(9999, "udp", "1.2.3.4", 9999)],
         "1.2.3.4:9998-9999->9998-9999/udp"),
        ([_port(9998, "udp", "1.2.3.4", 8887), _port(9999, "udp", "1.2.3.4", 8888)],
         "1.2.3.4:8887->9998/udp, 1.2.3.4:8888->9999/udp"),
        ([_port(9998, "udp"), _port(9999, "udp")], "9998-9999/udp"),
        ([_port(6677, "tcp", "1.2.3.4", 7766), _port(9988, "udp", public=8899)], "9988/udp, 1.2.3.4:7766->6677/tcp"),
        ([_port(9988, "udp", "1.2.3.4", 8899), _port(9988, "tcp", "1.2.3.4", 8899),
          _port(2233, "tcp", "4.3.2.1", 3322)],
         "4.3.2.1:3322->2233/tcp, 1.2.3.4:8899->9988/tcp, 1.2.3.4:8899->9988/udp"),
        ([_port(80, "tcp"), _port(1024, "tcp"), _port(80, "udp"), _port(1024, "udp"),
          _port(1024, "tcp", "1.1.1.1", 80), _port(1024, "udp", "1.1.1.1", 80), _port(80, "tcp", "1.1.1.1", 1024),
          _port(80, "udp", "1.1.1.1", 1024), _port(1024, "tcp", "2.1.1.1", 80), _port(1024, "udp", "2.1.1.1", 80),
          _port(80, "tcp", "2.1.1.1", 1024), _port(80, "udp", "2.1.1.1", 1024), _port(12345, "sctp")],
         "80/tcp, 80/udp, 1024/tcp, 1024/udp, 12345/sctp, 1.1.1.1:1024->80/tcp, 1.1.1.1:1024->80/udp, "
         "2.1.1.1:1024->80/tcp, 2.1.1.1:1024->80/udp, 1.1.1.1:80->1024/tcp, 1.1.1.1:80->1024/udp, "
         "2.1.1.1:80->1024/tcp, 2.1.1.1:80->1024/udp"),
        ([_port(5000, "tcp", "::", 5000), _port(5000, "tcp", "0.0.0.0", 5000), _port(5001, "udp", "127.0.0.1", 5001),
          _port(6000, "tcp")],
         "0.0.0.0:5000->5000/tcp, [::]:5000->5000/tcp, 127.0.0.1:5001->5001/udp, 6000/tcp"),
        ([_port(p, "tcp", "0.0.0.0", p) for p in (8000, 8001, 8002)], "0.0.0.0:8000-8002->8000-8002/tcp"),
        ([], ""),
    ],
)  # fmt: skip
def test_displayable_ports(ports: list[dict[str, Any]], expected: str) -> None:
    assert cfmt.display_ports(ports) == expected


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [("", 0, ""), ("hello world", 0, ""), ("hello world", 1, "h"), ("hello world", 5, "hell…"),
     ("hello world", 20, "hello world"), ("你好世界", 1, "你"), ("你好世界", 2, "你好世界"), ("你好世界", 3, "你…"),
     ("你好世界", 5, "你好…"), ("你好世界", 8, "你好世界"), ("abcd你好世界", 7, "abcd你…")],
)  # fmt: skip
def test_ellipsis(text: str, width: int, expected: str) -> None:
    # docker/cli displayutils_test.go (the CLI panics on ("", 1); we return "")
    assert cfmt.ellipsis(text, width) == expected


@pytest.mark.parametrize(
    ("fmt", "quiet", "size", "expected"),
    [(None, False, False, cfmt.PS_DEFAULT_TABLE), ("table", False, True, cfmt.PS_DEFAULT_TABLE_WITH_SIZE),
     ("table", True, False, "{{.ID}}"), ("{{.Names}}", True, False, "{{.ID}}"),
     ("raw", True, False, "container_id: {{.ID}}"), ("{{.Names}}", False, False, "{{.Names}}")],
)  # fmt: skip
def test_ps_format(fmt: str | None, quiet: bool, size: bool, expected: str) -> None:
    assert cfmt.ps_format(fmt, quiet=quiet, size=size) == expected


def test_ps_raw_format() -> None:
    out = ps(TWO_CONTAINERS[:1], cfmt.ps_format("raw", quiet=False, size=True))
    assert out == (
        'container_id: containerID1\nimage: ubuntu\ncommand: ""\ncreated_at: 2027-01-14 08:00:00 +0000 UTC\n'
        "state: running\nstatus:\nnames: foobar_baz\nlabels:\nports:\nsize: 0B\n\n"
    )


def test_ps_needs_size_like_the_cli() -> None:
    assert cfmt.ps_needs_size("table {{.ID}}\t{{.Size}}")
    assert cfmt.ps_needs_size("{{json .}}")  # json marshals every field, Size included
    assert not cfmt.ps_needs_size("json")  # ...but the "json" keyword is not executed
    assert not cfmt.ps_needs_size("{{.Names}}")
    assert not cfmt.ps_needs_size(None)
    with pytest.raises(TemplateError, match=r'^failed to parse template: template: :1: function "foo" not defined$'):
        cfmt.ps_needs_size("{{foo}}")
    with pytest.raises(TemplateError) as caught:
        cfmt.ps_needs_size("table {{.Foo}}")
    assert caught.value.message == (
        'failed to execute template: template: :1:8: executing "" at <.Foo>: '
        "can't evaluate field Foo in type *formatter.ContainerContext"
    )


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        ("{{InvalidFunction}}", 'template parsing error: template: :1: function "InvalidFunction" not defined'),
        ("{{nil}}", 'template parsing error: template: :1:2: executing "" at <nil>: nil is not a command'),
        ("table {{.Foo}}", 'template parsing error: template: :1:2: executing "" at <.Foo>: '
                           "can't evaluate field Foo in type *formatter.ContainerContext"),
    ],
)  # fmt: skip
def test_listing_errors(fmt: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        ps(TWO_CONTAINERS, fmt)
    assert caught.value.message == message


def test_listing_pre_format_and_header_labels() -> None:
    assert pre_format("table   {{.ID}}\\t{{.Names}}\\n  ") == "{{.ID}}\t{{.Names}}\n"
    assert pre_format("json") == "{{json .}}"
    assert HeaderContext({}).Label("com.example.my-label_x") == "my label x"


# -- docker port -------------------------------------------------------------------------------

INSPECT = {
    "NetworkSettings": {
        "Ports": {
            "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "::", "HostPort": "8080"}],
            "443/udp": [{"HostIp": "127.0.0.1", "HostPort": "4443"}],
            "9/tcp": [{"HostIp": "0.0.0.0", "HostPort": "10009"}],
            "5000/tcp": None,
        }
    }
}


def test_port_lists_all_bindings_in_natural_order() -> None:
    assert cfmt.format_port_output(INSPECT, None) == (
        "9/tcp -> 0.0.0.0:10009\n80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n443/udp -> 127.0.0.1:4443\n"
    )


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [("80", "0.0.0.0:8080\n[::]:8080\n"), ("80/tcp", "0.0.0.0:8080\n[::]:8080\n"), ("443/udp", "127.0.0.1:4443\n"),
     ("443", ""), ("5000", ""), ("1", "")],
)  # fmt: skip
def test_port_filter(wanted: str, expected: str) -> None:
    assert cfmt.format_port_output(INSPECT, wanted) == expected


def test_port_filter_must_be_a_port_number() -> None:
    with pytest.raises(UserError, match=r'invalid port \(abc\): strconv.ParseUint: parsing "abc": invalid syntax'):
        cfmt.format_port_output(INSPECT, "abc/tcp")
    with pytest.raises(UserError, match="value out of range"):
        cfmt.format_port_output(INSPECT, "70000")


@pytest.mark.parametrize(
    ("a", "b"), [("abc2", "abc12"), ("2", "02"), ("1/tcp", "a"), ("80/tcp -> 1", "443/udp -> 1"), ("a", "ab")]
)
def test_natural_less(a: str, b: str) -> None:
    assert cfmt.natural_less(a, b)
    assert not cfmt.natural_less(b, a)


# -- docker images ----------------------------------------------------------------------------

DIGEST = "sha256:cbbf2f9a99b47fc460d422812b6a5adff7dfee951d8fa2e4a98caa0382cfbdbf"
IMAGES = [
    {"Id": "imageID1", "RepoTags": ["image:tag1"], "RepoDigests": [f"image@{DIGEST}"], "Created": NOW - DAY},
    {"Id": "imageID2", "RepoTags": ["image:tag2"], "Created": NOW - DAY},
    {"Id": "imageID3", "RepoTags": ["<none>:<none>"], "RepoDigests": ["<none>@<none>"], "Created": NOW - DAY},
]


def images(fmt: str | None, *, digests: bool = False, quiet: bool = False) -> str:
    rows = ifmt.image_rows(IMAGES, digests=digests, trunc=True, now=NOW, fmt=fmt)
    source = ifmt.images_format(fmt, quiet=quiet, digests=digests)
    return render_list(source, default_table=source, headers=ifmt.IMAGE_HEADERS, contexts=rows)


@pytest.mark.parametrize(
    ("fmt", "digests", "quiet", "expected"),
    [
        ("table", False, False,
         "REPOSITORY   TAG       IMAGE ID   CREATED        SIZE\n"
         "image        tag1      imageID1   24 hours ago   0B\n"
         "image        tag2      imageID2   24 hours ago   0B\n"
         "<none>       <none>    imageID3   24 hours ago   0B\n"),
        ("table {{.Repository}}", False, False, "REPOSITORY\nimage\nimage\n<none>\n"),
        ("table {{.Repository}}", True, False,
         f"REPOSITORY   DIGEST\nimage        {DIGEST}\nimage        <none>\n<none>       <none>\n"),
        ("table {{.Repository}}", False, True, "REPOSITORY\nimage\nimage\n<none>\n"),
        ("table", False, True, "imageID1\nimageID2\nimageID3\n"),
        ("table", True, False,
         "REPOSITORY   TAG       DIGEST                                                                    IMAGE ID   "
         "CREATED        SIZE\n"
         f"image        tag1      {DIGEST}   imageID1   24 hours ago   0B\n"
         "image        tag2      <none>                                                                    imageID2   "
         "24 hours ago   0B\n"
         "<none>       <none>    <none>                                                                    imageID3   "
         "24 hours ago   0B\n"),
        ("{{.Repository}}", True, False, "image\nimage\n<none>\n"),
        ("{{.Repository}}:{{.Digest}}", False, False, f"image:{DIGEST}\nimage:<none>\n<none>:<none>\n"),
        ("raw", False, True, "image_id: imageID1\nimage_id: imageID2\nimage_id: imageID3\n"),
    ],
)  # fmt: skip
def test_image_write(fmt: str, digests: bool, quiet: bool, expected: str) -> None:
    assert images(fmt, digests=digests, quiet=quiet) == expected


def test_image_rows_expand_tags_and_digests() -> None:
    api = [{"Id": "sha256:" + "1" * 64, "RepoTags": ["a:1", "b:2", "a:3", "docker.io/library/c:4"],
            "RepoDigests": ["a@" + DIGEST, "d@" + DIGEST], "Created": NOW}]  # fmt: skip
    plain = [(r.Repository(), r.Tag(), r.Digest()) for r in ifmt.image_rows(api, digests=False, trunc=True, now=NOW)]
    assert plain == [("a", "1", "<none>"), ("a", "3", "<none>"), ("b", "2", "<none>"), ("c", "4", "<none>"),
                     ("d", "<none>", "")]  # fmt: skip
    dig = [(r.Repository(), r.Tag(), r.Digest()) for r in ifmt.image_rows(api, digests=True, trunc=True, now=NOW)]
    assert dig == [("a", "1", DIGEST), ("a", "3", DIGEST), ("b", "2", "<none>"), ("c", "4", "<none>"),
                   ("d", "<none>", DIGEST)]  # fmt: skip
    assert ifmt.image_rows(api, digests=False, trunc=True, now=NOW)[0].ID() == "1" * 12


@pytest.mark.parametrize(
    ("api", "field", "expected"),
    [({"Size": 10}, "Size", "10B"), ({"Containers": 10}, "Containers", "10"), ({"Containers": -1}, "Containers", "N/A"),
     ({"Size": 10000}, "VirtualSize", "10kB"), ({"Size": 1982298}, "VirtualSize", "1.982MB"),
     ({"SharedSize": 10000}, "SharedSize", "10kB"), ({"SharedSize": -1}, "SharedSize", "N/A"),
     ({"SharedSize": 5000, "Size": 20000}, "UniqueSize", "15kB"), ({"Size": 1, "SharedSize": -1}, "UniqueSize", "N/A"),
     ({"Created": 1796010962}, "CreatedAt", "2026-11-30 03:56:02 +0000 UTC")],
)  # fmt: skip
def test_image_fields(api: dict[str, Any], field: str, expected: str) -> None:
    row = ifmt.image_rows([{**api, "RepoTags": ["x:y"]}], digests=False, trunc=True, now=NOW)[0]
    assert getattr(row, field)() == expected


# -- image references -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "familiar", "tag"),
    [("busybox", "busybox", ""), ("busybox:latest", "busybox:latest", "latest"),
     ("docker.io/library/busybox:1", "busybox:1", "1"), ("index.docker.io/me/app", "me/app", ""),
     ("localhost:5000/app:1", "localhost:5000/app:1", "1"), ("Registry.Example/app", "Registry.Example/app", ""),
     ("[::1]:5000/app", "[::1]:5000/app", "")],
)  # fmt: skip
def test_reference_parsing(text: str, familiar: str, tag: str) -> None:
    ref = parse_normalized_named(text)
    assert ref.familiar_string() == familiar
    assert ref.tag == tag


@pytest.mark.parametrize("text", ["<none>:<none>", "UPPER", "a" * 64, "busybox@sha256:abc", "", "a:b:c"])
def test_reference_rejects(text: str) -> None:
    with pytest.raises(ReferenceError):
        parse_normalized_named(text)


def test_truncate_id() -> None:
    assert truncate_id("sha256:" + FULL_ID) == FULL_ID[:12]
    assert truncate_id("short") == "short"


# -- docker stats -----------------------------------------------------------------------------

STAT_ROWS = [
    sfmt.StatsEntry(name="/foo", id="abcdef", cpu_percentage=20, memory=20, memory_limit=20, memory_percentage=20,
                    network_rx=20, network_tx=20, block_read=20, block_write=20, pids_current=2),
    sfmt.StatsEntry(cpu_percentage=30, memory=30, memory_limit=30, memory_percentage=30, network_rx=30,
                    network_tx=30, block_read=30, block_write=30, pids_current=3, is_invalid=True),
]  # fmt: skip


def stats(fmt: str | None, os_type: str = "linux", trunc: bool = False) -> str:
    contexts = [sfmt.StatsContext(e, container=f"container{i + 1}", trunc=trunc, os_type=os_type)
                for i, e in enumerate(STAT_ROWS)]  # fmt: skip
    default = sfmt.WINDOWS_STATS_DEFAULT_TABLE if os_type == "windows" else sfmt.STATS_DEFAULT_TABLE
    return render_list(fmt, default_table=default, headers=sfmt.stats_headers(os_type), contexts=contexts)


@pytest.mark.parametrize(
    ("fmt", "os_type", "expected"),
    [
        ("table {{.MemUsage}}", "linux", "MEM USAGE / LIMIT\n20B / 20B\n-- / --\n"),
        ("{{.Container}}  {{.ID}}  {{.Name}}", "linux", "container1  abcdef  foo\ncontainer2    --\n"),
        ("{{.Container}}  {{.CPUPerc}}", "linux", "container1  20.00%\ncontainer2  --\n"),
        ("table {{.MemUsage}}", "windows", "PRIV WORKING SET\n20B\n-- / --\n"),
        ("{{.Container}}  {{.MemPerc}}  {{.PIDs}}", "windows", "container1  --  --\ncontainer2  --  --\n"),
        (None, "linux",
         "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O     BLOCK I/O   PIDS\n"
         "abcdef         foo       20.00%    20B / 20B           20.00%    20B / 20B   20B / 20B   2\n"
         "               --        --        -- / --             --        --          --          --\n"),
    ],
)  # fmt: skip
def test_stats_write(fmt: str | None, os_type: str, expected: str) -> None:
    assert stats(fmt, os_type) == expected


@pytest.mark.parametrize(
    ("entry", "field", "expected"),
    [(sfmt.StatsEntry(cpu_percentage=5.5), "CPUPerc", "5.50%"),
     (sfmt.StatsEntry(network_rx=0.31, network_tx=12.3), "NetIO", "0.31B / 12.3B"),
     (sfmt.StatsEntry(block_read=0.1, block_write=2.3), "BlockIO", "0.1B / 2.3B"),
     (sfmt.StatsEntry(memory_percentage=10.2), "MemPerc", "10.20%"),
     (sfmt.StatsEntry(memory=24, memory_limit=30), "MemUsage", "24B / 30B"),
     (sfmt.StatsEntry(memory=1289748, memory_limit=2084217856), "MemUsage", "1.23MiB / 1.941GiB"),
     (sfmt.StatsEntry(pids_current=10), "PIDs", "10"),
     (sfmt.StatsEntry(id=FULL_ID), "ID", FULL_ID[:12])],
)  # fmt: skip
def test_stats_fields(entry: sfmt.StatsEntry, field: str, expected: str) -> None:
    assert getattr(sfmt.StatsContext(entry), field)() == expected


SAMPLE = {
    "name": "/web",
    "id": FULL_ID,
    "read": "2026-11-30T04:10:00.123456789Z",
    "preread": "2026-11-30T04:09:59.123456789Z",
    "pids_stats": {"current": 3},
    "networks": {"eth0": {"rx_bytes": 1049, "tx_bytes": 0}, "eth1": {"rx_bytes": 1, "tx_bytes": 2}},
    "memory_stats": {"usage": 5_000_000, "limit": 2_084_217_856,
                     "stats": {"total_inactive_file": 1_000_000, "inactive_file": 10}},
    "blkio_stats": {"io_service_bytes_recursive": [
        {"op": "read", "value": 1234}, {"op": "Read", "value": 6}, {"op": "write", "value": 123},
        {"op": "Write", "value": 8}, {"op": "", "value": 456}, {"op": "Total", "value": 9999}]},
    "cpu_stats": {"cpu_usage": {"total_usage": 2_000_000, "percpu_usage": [1, 1]}, "system_cpu_usage": 200_000_000,
                  "online_cpus": 2},
    "precpu_stats": {"cpu_usage": {"total_usage": 1_000_000}, "system_cpu_usage": 100_000_000},
}  # fmt: skip


def test_compute_stats_like_stats_helpers() -> None:
    entry = sfmt.compute_stats(SAMPLE)
    assert entry.cpu_percentage == pytest.approx(2.0)  # 1e6 / 1e8 * 2 CPUs * 100
    assert entry.memory == 4_000_000  # cgroup v1: usage - total_inactive_file
    assert entry.memory_percentage == pytest.approx(4_000_000 / 2_084_217_856 * 100)
    assert (entry.network_rx, entry.network_tx) == (1050, 2)
    assert (entry.block_read, entry.block_write) == (1240, 131)
    assert entry.pids_current == 3
    row = sfmt.StatsContext(entry, container="web")
    assert [row.CPUPerc(), row.MemUsage(), row.MemPerc(), row.NetIO(), row.BlockIO(), row.PIDs(), row.Name()] == [
        "2.00%", "3.815MiB / 1.941GiB", "0.19%", "1.05kB / 2B", "1.24kB / 131B", "3", "web"]  # fmt: skip


@pytest.mark.parametrize(
    ("memory", "expected"),
    [({"usage": 500, "stats": {"total_inactive_file": 400}}, 100.0),
     ({"usage": 500, "stats": {"inactive_file": 100}}, 400.0),  # cgroup v2
     ({"usage": 500, "stats": {"total_inactive_file": 600, "inactive_file": 50}}, 450.0),
     ({"usage": 500, "stats": {"inactive_file": 600}}, 500.0),
     ({}, 0.0)],
)  # fmt: skip
def test_memory_usage_without_cache(memory: dict[str, Any], expected: float) -> None:
    assert sfmt.compute_stats({"memory_stats": memory}).memory == expected


def test_cpu_is_zero_without_a_previous_sample() -> None:
    assert sfmt.compute_stats({"cpu_stats": SAMPLE["cpu_stats"]}).cpu_percentage == 0.0
    assert sfmt.compute_stats({}).cpu_percentage == 0.0


def test_windows_stats() -> None:
    sample = {"read": "2026-11-30T04:10:01Z", "preread": "2026-11-30T04:10:00Z", "num_procs": 2,
              "cpu_stats": {"cpu_usage": {"total_usage": 5_000_000}},
              "precpu_stats": {"cpu_usage": {"total_usage": 1_000_000}},
              "memory_stats": {"privateworkingset": 24}}  # fmt: skip
    entry = sfmt.compute_stats(sample, os_type="windows")
    assert entry.cpu_percentage == pytest.approx(20.0)  # 4e6 / (1e9/100 * 2) * 100
    assert sfmt.StatsContext(entry, os_type="windows").MemUsage() == "24B"


# -- docker version / info / top --------------------------------------------------------------

VERSION = {
    "Platform": {"Name": "Docker Engine - Community"},
    "Components": [
        {"Name": "Engine", "Version": "20.10.24", "Details": {
            "ApiVersion": "1.41", "Arch": "amd64", "BuildTime": "2026-05-07T21:09:36.000000000+00:00",
            "Experimental": "false", "GitCommit": "5d6db84", "GoVersion": "go1.19.8", "MinAPIVersion": "1.12",
            "Os": "linux"}},
        {"Name": "containerd", "Version": "1.6.20", "Details": {"GitCommit": "abc"}},
        {"Name": "docker-init", "Version": "0.19.0", "Details": {"GitCommit": ""}},
    ],
    "Version": "20.10.24",
}  # fmt: skip


def test_format_version() -> None:
    text = sysfmt.format_version(VERSION, {"Version": "0.1.0", "ApiVersion": "1.41", "Os": "slack", "Arch": "chatops"})
    assert text == (
        "Client: dockbell\n"
        " Version:           0.1.0\n"
        " API version:       1.41\n"
        " OS/Arch:           slack/chatops\n"
        "\n"
        "Server: Docker Engine - Community\n"
        " Engine:\n"
        "  Version:          20.10.24\n"
        "  API version:      1.41 (minimum version 1.12)\n"
        "  Go version:       go1.19.8\n"
        "  Git commit:       5d6db84\n"
        "  Built:            Thu May  7 21:09:36 2026\n"
        "  OS/Arch:          linux/amd64\n"
        "  Experimental:     false\n"
        " containerd:\n"
        "  Version:          1.6.20\n"
        "  GitCommit:        abc\n"
        " docker-init:\n"
        "  Version:          0.19.0\n"
        "  GitCommit:        \n"
    )


def test_format_version_without_components_synthesizes_the_engine() -> None:
    old = {"Version": "1.13.1", "ApiVersion": "1.26", "MinAPIVersion": "1.12", "GitCommit": "092cba3",
           "GoVersion": "go1.7.5", "Os": "linux", "Arch": "amd64", "BuildTime": "2017-02-08T06:38:28.018621521+00:00",
           "Experimental": True}  # fmt: skip
    text = sysfmt.format_version(old, {"Version": "0.1.0", "ApiVersion": "1.26", "DefaultAPIVersion": "1.41"})
    assert " API version:       1.26 (downgraded from 1.41)\n" in text
    assert "\nServer:\n Engine:\n  Version:          1.13.1\n" in text
    assert "  Built:            Wed Feb  8 06:38:28 2017\n  OS/Arch:          linux/amd64\n" in text
    assert text.endswith("  Experimental:     true\n")


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [("2026-05-07T21:09:36.000000000+00:00", "Thu May  7 21:09:36 2026"),
     ("2025-05-30T12:07:14Z", "Fri May 30 12:07:14 2025"), ("2025-05-30T23:07:14-05:00", "Fri May 30 23:07:14 2025"),
     ("not a date", "not a date")],
)  # fmt: skip
def test_reformat_date(stamp: str, expected: str) -> None:
    assert sysfmt.reformat_date(stamp) == expected


INFO = {
    "ID": "QYD5:VCAU", "Containers": 3, "ContainersRunning": 1, "ContainersPaused": 0, "ContainersStopped": 2,
    "Images": 1, "Driver": "overlay2", "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]],
    "Plugins": {"Volume": ["local"], "Network": ["bridge", "host"], "Authorization": None, "Log": ["json-file"]},
    "Debug": False, "LoggingDriver": "json-file", "CgroupDriver": "cgroupfs", "CgroupVersion": "1",
    "KernelVersion": "6.18.44", "OperatingSystem": "Debian GNU/Linux 12 (bookworm)", "OSType": "linux",
    "Architecture": "x86_64", "NCPU": 2, "MemTotal": 25276063744, "DockerRootDir": "/var/lib/docker",
    "HttpProxy": "", "HttpsProxy": "", "NoProxy": "", "Name": "vm", "Labels": [], "ExperimentalBuild": False,
    "ServerVersion": "20.10.24", "Runtimes": {"io.containerd.runc.v2": {}, "runc": {}}, "DefaultRuntime": "runc",
    "Swarm": {"LocalNodeState": "inactive"}, "LiveRestoreEnabled": False, "InitBinary": "docker-init",
    "ContainerdCommit": {"ID": "1.6.20"}, "RuncCommit": {"ID": "1.1.5"}, "InitCommit": {"ID": ""},
    "SecurityOptions": ["name=seccomp,profile=default", "name=cgroupns"],
    "RegistryConfig": {"IndexConfigs": {"docker.io": {"Name": "docker.io", "Secure": True}},
                       "InsecureRegistryCIDRs": ["127.0.0.0/8"], "Mirrors": []},
    "Warnings": ["WARNING: No swap limit support"],
}  # fmt: skip


def test_format_info() -> None:
    assert sysfmt.format_info(INFO, None) == (
        "Server:\n Containers: 3\n  Running: 1\n  Paused: 0\n  Stopped: 2\n Images: 1\n Server Version: 20.10.24\n"
        " Storage Driver: overlay2\n  Backing Filesystem: extfs\n  Supports d_type: true\n Logging Driver: json-file\n"
        " Cgroup Driver: cgroupfs\n Cgroup Version: 1\n Plugins:\n  Volume: local\n  Network: bridge host\n"
        "  Log: json-file\n Swarm: inactive\n Runtimes: io.containerd.runc.v2 runc\n Default Runtime: runc\n"
        " Init Binary: docker-init\n containerd version: 1.6.20\n runc version: 1.1.5\n init version: \n"
        " Security Options:\n  seccomp\n   Profile: default\n  cgroupns\n Kernel Version: 6.18.44\n"
        " Operating System: Debian GNU/Linux 12 (bookworm)\n OSType: linux\n Architecture: x86_64\n CPUs: 2\n"
        " Total Memory: 23.54GiB\n Name: vm\n ID: QYD5:VCAU\n Docker Root Dir: /var/lib/docker\n Debug Mode: false\n"
        " Experimental: false\n Insecure Registries:\n  127.0.0.0/8\n Live Restore Enabled: false\n\n"
        "WARNING: No swap limit support\n"
    )


def test_format_info_swarm_and_debug() -> None:
    info = {**INFO, "Debug": True, "NFd": 26, "NGoroutines": 40, "SystemTime": "now", "NEventsListener": 0,
            "Swarm": {"LocalNodeState": "active", "NodeID": "n1", "ControlAvailable": False, "NodeAddr": "10.0.0.2",
                      "RemoteManagers": [{"Addr": "10.0.0.9:2377"}, {"Addr": "10.0.0.1:2377"}]}}  # fmt: skip
    text = sysfmt.format_info(info, None, include_warnings=False)
    assert (" Swarm: active\n  NodeID: n1\n  Is Manager: false\n  Node Address: 10.0.0.2\n"
            "  Manager Addresses:\n   10.0.0.1:2377\n   10.0.0.9:2377\n") in text  # fmt: skip
    assert " Debug Mode: true\n  File Descriptors: 26\n  Goroutines: 40\n  System Time: now\n" in text
    assert text.endswith("Live Restore Enabled: false\n\n")


def test_format_top() -> None:
    top = {"Titles": ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
           "Processes": [["root", "4683", "4662", "0", "04:01", "?", "00:00:00", "sleep 600"]]}  # fmt: skip
    assert sysfmt.format_top(top) == (
        "UID                 PID                 PPID                C                   STIME               "
        "TTY                 TIME                CMD\n"
        "root                4683                4662                0                   04:01               "
        "?                   00:00:00            sleep 600\n"
    )
