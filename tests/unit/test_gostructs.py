"""Go struct values in templates, without an engine: what tests/unit/test_inspect_vs_cli.py checks
against the docker CLI, on a recorded document, plus the Stringer types and docker's zero times.

The expected strings are the docker 28.2 CLI's own output for these values.
"""

from __future__ import annotations

import pytest

from bot.cli_output import gotemplate
from bot.cli_output.formatters import images as ifmt
from bot.cli_output.formatters.containers import ContainerContext, go_time_string
from bot.cli_output.formatters.gotypes import GoFileMode, decode, go_time_text
from bot.cli_output.formatters.inspect_types import SCHEMA, typed
from bot.cli_output.formatters.templated import render_each
from bot.cli_output.gotemplate.values import format_duration
from bot.errors import TemplateError

DOC = {
    "Id": "f2f0cf80823a",
    "Created": "2026-12-01T18:33:01.515190682Z",
    "Path": "sleep",
    "Args": ["600"],
    "State": {"Status": "running", "Running": True, "Paused": False, "Restarting": False, "OOMKilled": False,
              "Dead": False, "Pid": 27293, "ExitCode": 0, "Error": "", "StartedAt": "2026-12-01T18:33:01.75381783Z",
              "FinishedAt": "0001-01-01T00:00:00Z"},
    "Name": "/web",
    "HostConfig": {"RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}, "LogConfig": {"Type": "json-file",
                   "Config": {}}, "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]},
                   "Ulimits": [{"Name": "nofile", "Hard": 2048, "Soft": 1024}], "Memory": 0, "ConsoleSize": [0, 0],
                   "Mounts": [{"Type": "tmpfs", "Target": "/x", "TmpfsOptions": {"SizeBytes": 1048576, "Mode": 1016}}]},
    "GraphDriver": {"Data": {"MergedDir": "/m"}, "Name": "overlay2"},
    "Mounts": [],
    "Config": {"Hostname": "f2f0cf80823a", "Cmd": ["sleep", "600"], "Image": "busybox", "Labels": {"b": "2", "a": "1"},
               "Healthcheck": {"Test": ["CMD", "true"], "Interval": 90000000000, "Retries": 3}, "StopTimeout": 7},
    "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2", "IPPrefixLen": 16}}},
}  # fmt: skip


def run(fmt: str, doc: object = DOC) -> str:
    return render_each(fmt, [doc])


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("{{.State}}", "{running true false false false false 27293 0  2026-12-01T18:33:01.75381783Z "
                       "0001-01-01T00:00:00Z <nil>}"),
        ("{{.HostConfig.RestartPolicy}}", "{no 0}"),
        ("{{.HostConfig.LogConfig}}", "{json-file map[]}"),
        ("{{.GraphDriver}}", "{map[MergedDir:/m] overlay2}"),
        ("{{.HostConfig.PortBindings}}", "map[80/tcp:[{127.0.0.1 8080}]]"),
        ("{{.HostConfig.Ulimits}}", "[nofile=1024:2048]"),  # (*Ulimit).String
        ("{{.HostConfig.ConsoleSize}}", "[0 0]"),
        ("{{(index .HostConfig.Mounts 0).TmpfsOptions}}", "{1048576 -rwxrwx--- []}"),
        ("{{.Config.Healthcheck}}", "{[CMD true] 1m30s 0s 0s 0s 3}"),
        ("{{.Config.StopTimeout}} {{.SizeRw}} {{.State.Health}}", "7 <nil> <nil>"),
        ("{{.Config.Labels}} {{.Config.Labels.nope}}", "map[a:1 b:2] <no value>"),
        ("{{.NetworkSettings.Networks.bridge.IPAddress}}", "172.17.0.2"),
        ('{{printf "%+v" .HostConfig.RestartPolicy}}', "{Name:no MaximumRetryCount:0}"),
        ('{{printf "%s|%d" .HostConfig.RestartPolicy .HostConfig.RestartPolicy}}',
         "{no %!s(int=0)}|{%!d(container.RestartPolicyMode=no) 0}"),
        ('{{printf "%T %T %T" .State .Config.StopTimeout .HostConfig.PortBindings}}',
         "*container.State *int nat.PortMap"),
        ('{{printf "%6v|" .HostConfig.RestartPolicy}}', "{    no      0}|"),
        ('{{printf "%+v" 5}}', "5"),
        ("{{json .State}}", '{"Status":"running","Running":true,"Paused":false,"Restarting":false,"OOMKilled":false,'
                            '"Dead":false,"Pid":27293,"ExitCode":0,"Error":"","StartedAt":"2026-12-01T18:33:01.75381783Z",'
                            '"FinishedAt":"0001-01-01T00:00:00Z"}'),
        ("{{json .Config.Healthcheck}}", '{"Test":["CMD","true"],"Interval":90000000000,"Retries":3}'),
        ("{{json .Config.ExposedPorts}} {{json .Config.Env}}", "null null"),
        # these fail on the struct; docker runs them again on the JSON
        ("{{len .State}}", "11"),
        ("{{range $k, $v := .HostConfig.RestartPolicy}}{{$k}} {{end}}", "MaximumRetryCount Name "),
    ],
)  # fmt: skip
def test_inspect_values_print_as_go_prints_them(fmt: str, expected: str) -> None:
    assert run(fmt) == expected


def test_pointers_inside_values_are_addresses_and_on_top_dereferenced() -> None:
    assert run("{{.NetworkSettings.Networks}}").startswith("map[bridge:0xc")
    assert run('{{printf "%v" .NetworkSettings.Networks.bridge}}').startswith("&{<nil> [] [] ")
    assert run("{{.NetworkSettings.Networks.bridge}}").startswith("{<nil> [] [] ")
    assert run("{{.}}").startswith("{0xc")


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        ("{{.Nope}}", 'template parsing error: template: :1:2: executing "" at <.Nope>: '
                      'map has no entry for key "Nope"'),
        ("{{.State.Health.Status}}", 'template parsing error: template: :1:8: executing "" at <.State.Health.Status>: '
                                     'map has no entry for key "Health"'),
    ],
)  # fmt: skip
def test_a_failing_template_runs_again_on_the_json_with_missing_keys_as_errors(fmt: str, message: str) -> None:
    with pytest.raises(TemplateError) as err:
        run(fmt)
    assert err.value.message == message


def test_other_documents_stay_plain_json() -> None:
    volume = {"Name": "v", "Driver": "local", "Mountpoint": "/m", "Labels": None}
    assert typed(volume) is None
    assert run("{{.Name}} {{.Nope}}", volume) == "v <no value>"


def test_json_of_the_whole_document_is_the_structs() -> None:
    text = run("{{json .}}")
    assert text.startswith('{"Id":"f2f0cf80823a","Created":"2026-12-01T18:33:01.515190682Z","Path":"sleep"')
    assert '"SizeRw"' not in text  # omitempty nil pointer
    assert '"Mounts":[],"Config":{' in text  # after the embedded base's fields, in struct order


def test_ps_platform_is_an_object_in_json_and_a_string_in_text() -> None:
    api = {"Id": "abc", "Names": ["/x"], "ImageManifestDescriptor": {
        "mediaType": "m", "digest": "sha256:1", "size": 1,
        "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}}}  # fmt: skip
    ctx = ContainerContext(api, trunc=True, now=0)
    obj = '{"architecture":"arm64","os":"linux","variant":"v8"}'
    out = gotemplate.parse('{{.Platform}}|{{json .Platform}}|{{.Platform.OS}}|{{printf "%T" .Platform}}')
    assert out.execute(ctx) == f"linux/arm64/v8|{obj}|linux|*formatter.Platform"
    assert f'"Platform":{obj}' in gotemplate.parse("{{json .}}").execute(ctx)
    none = ContainerContext({"Id": "abc"}, trunc=True, now=0)
    assert gotemplate.parse("{{json .Platform}}|{{.Platform}}").execute(none) == "null|<nil>"
    platform = {"os": "windows", "os.version": "10.0.20348", "architecture": "amd64"}
    windows = decode(SCHEMA, "*formatter.Platform", platform)
    assert gotemplate.parse("{{.}}").execute(windows) == "windows(10.0.20348)/amd64"


@pytest.mark.parametrize(
    ("ns", "text"),
    [(0, "0s"), (1, "1ns"), (1500, "1.5µs"), (1_500_000, "1.5ms"), (90_000_000_000, "1m30s"),
     (3_600_000_000_000, "1h0m0s"), (3_723_500_000_000, "1h2m3.5s"), (-1_500_000, "-1.5ms"),
     (2**63 - 1, "2562047h47m16.854775807s"), (-(2**63), "-2562047h47m16.854775808s")],
)  # fmt: skip
def test_duration_string(ns: int, text: str) -> None:
    assert format_duration(ns) == text


@pytest.mark.parametrize(("mode", "text"), [(0o755, "-rwxr-xr-x"), (0o1777, "-rwxrwxrwx"), (0, "----------"),
                                            (0o644 | 1 << 31, "drw-r--r--")])  # fmt: skip
def test_file_mode_string(mode: int, text: str) -> None:
    assert GoFileMode(mode).go_string() == text


def test_time_strings_pad_the_year() -> None:
    assert go_time_string(-62135596800) == "0001-01-01 00:00:00 +0000 UTC"  # Go's zero time
    assert go_time_string(0) == "1970-01-01 00:00:00 +0000 UTC"
    assert go_time_string(253402300800) == "10000-01-01 00:00:00 +0000 UTC"
    assert go_time_text("0001-01-01T00:00:00Z") == "0001-01-01 00:00:00 +0000 UTC"
    assert go_time_text("2026-12-01T18:48:28.654414940Z") == "2026-12-01 18:48:28.65441494 +0000 UTC"


def test_an_image_without_a_creation_date() -> None:
    api = {"Id": "sha256:" + "a" * 64, "RepoTags": ["x:zero"], "Created": ifmt.GO_ZERO_TIME, "Size": 3}
    epoch = {**api, "RepoTags": ["x:epoch"], "Created": 0}
    rows = ifmt.image_rows([api, epoch], digests=False, trunc=True, now=1_767_360_217)
    assert [r.CreatedSince() for r in rows] == ["", "56 years ago"]
    assert rows[0].CreatedAt() == "0001-01-01 00:00:00 +0000 UTC"
    table = gotemplate.parse(ifmt.IMAGES_DEFAULT_TABLE.removeprefix("table ")).execute(rows[0])
    assert "N/A" in table
