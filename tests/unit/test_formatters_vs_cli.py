"""Byte-for-byte comparison of bot.cli_output.formatters with the real docker CLI on this machine.

Run by hand (it needs the docker CLI, a running engine and the image
``dockbell-test/busybox:latest``); skipped elsewhere. It creates containers named
``dockbell-fmt-*`` labelled ``dockbell.test=1`` and one volume, and removes exactly those.

Time columns (CREATED, STATUS) tick between our API call and the CLI's, so comparisons that
show them retry, and render ours for every "now" the CLI may have used.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.cli_output.formatters import containers as cfmt
from bot.cli_output.formatters import images as ifmt
from bot.cli_output.formatters import stats as sfmt
from bot.cli_output.formatters import system as sysfmt
from bot.cli_output.formatters.listing import render_list
from bot.errors import TemplateError, UserError
from tests.unit.test_gotemplate import GO_CASES, GO_ERRORS, GO_PARSE_ERRORS

# Next to the unit tests it checks, but it needs the docker CLI and the rig's engine.
pytestmark = pytest.mark.integration

IMAGE = "dockbell-test/busybox:latest"
LABEL = "dockbell.test=1"
VOLUME = "dockbell-fmt-vol"


@pytest.fixture(scope="module", autouse=True)
def _engine(docker_api: Any) -> None:
    """The rig's engine and test image: conftest provides both and fails loudly without them,
    so this comparison never passes by being skipped."""


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60, check=False)


def cli_out(*args: str) -> str:
    result = cli(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout


CONTAINERS: dict[str, list[str]] = {
    # Host ports below the ephemeral range (32768+), where the session's own client sockets live.
    "dockbell-fmt-a": ["run", "-d", "-p", "127.0.0.1:28080:80", "-p", "28081:81",
                       "-p", "127.0.0.1:28090-28092:90-92/udp",
                       "--label", "x=日本語", "--label", "com.example.vendor=acme", IMAGE, "sleep", "600"],
    "dockbell-fmt-b": ["run", "-d", IMAGE, "sh", "-c", "exit 3"],
    "dockbell-fmt-c": ["run", "-d", "-v", f"{VOLUME}:/data", "--expose", "7000", IMAGE, "sh", "-c",
                       "sleep 600; echo a long command line that the CLI truncates"],
    "dockbell-fmt-d": ["create", IMAGE, "echo", "created only"],
}  # fmt: skip


@pytest.fixture(scope="module")
def api() -> Iterator[Any]:
    import docker

    client = docker.APIClient(version="auto")
    created: list[str] = []
    try:
        for name, args in CONTAINERS.items():
            cli("rm", "-f", name)  # a leftover from an interrupted run
            verb, *rest = args
            cli_out(verb, "--name", name, "--label", LABEL, *rest)
            created.append(name)
        assert cli_out("wait", "dockbell-fmt-b").strip() == "3"  # the short-lived one has exited
        yield client
    finally:
        for name in created:
            cli("rm", "-f", name)
        cli("volume", "rm", VOLUME)
        client.close()


def ours_for_any_now(render: Callable[[float], str], t0: float, t1: float) -> set[str]:
    """Our text for every whole second the CLI's clock may have read."""
    return {render(t0 - 1 + i) for i in range(int(t1 - t0) + 3)}


def eventually(check: Callable[[], tuple[str, set[str]]], attempts: int = 6) -> None:
    """Retry when a time column ticked between our API call and the CLI's."""
    for _ in range(attempts):
        theirs, ours = check()
        if theirs in ours:
            return
        time.sleep(0.7)
    assert theirs in ours, f"CLI:\n{theirs}\nours:\n" + "\n---\n".join(sorted(ours))


def ps_text(api: Any, fmt: str | None, *cli_flags: str, trunc: bool = True, size: bool = False) -> None:
    def check() -> tuple[str, set[str]]:
        rows = api.containers(all=True, filters={"label": LABEL}, size=size or cfmt.ps_needs_size(fmt))
        t0 = time.time()
        flags = [*cli_flags, *(["--format", fmt] if fmt is not None else [])]
        theirs = cli_out("ps", "-a", "--filter", f"label={LABEL}", *flags)
        t1 = time.time()
        source = cfmt.ps_format(fmt, quiet=False, size=size)

        def render(now: float) -> str:
            contexts = [cfmt.ContainerContext(r, trunc=trunc, now=now) for r in rows]
            return render_list(source, default_table=source, headers=cfmt.CONTAINER_HEADERS, contexts=contexts)

        return theirs, ours_for_any_now(render, t0, t1)

    eventually(check)


# -- docker ps ----------------------------------------------------------------------------------


def test_ps_default_table(api: Any) -> None:
    ps_text(api, None)


def test_ps_no_trunc_and_size(api: Any) -> None:
    ps_text(api, None, "--no-trunc", trunc=False)
    ps_text(api, None, "-s", size=True)


@pytest.mark.parametrize(
    "fmt",
    [
        "json",
        "{{json .}}",
        "table {{.ID}}\t{{.Names}}\t{{.Ports}}\t{{.Labels}}",
        'table {{.Names}}\t{{.Label "x"}}\t{{.Label "com.example.vendor"}}\t{{.State}}',
        "table {{.Mounts}}\t{{.LocalVolumes}}\t{{.Networks}}\t{{.Command}}\t{{.Image}}\t{{.CreatedAt}}",
        "{{.Names}}: {{.Size}}",
        "table {{.Platform}}\t{{json .Platform}}",
        "raw",
        "{{.ID}}\\t{{upper .Names}}\\n",
        "table {{json .}}",
        'table {{title .State}} {{pad .Names 2 1}}|{{truncate .Names 5}}|{{split .Names "-"}}',
    ],
)
def test_ps_formats(api: Any, fmt: str) -> None:
    ps_text(api, fmt)


# -- the Go template engine, through the CLI --------------------------------------------------------

ENGINE_TEMPLATES = [text for text, _ in GO_CASES] + [
    "{{.Names}} {{.Platform.OS}}",
    "{{.Platform.Foo}}",
    "{{with .Foo}}x{{end}}",
    '{{index .Names 0}}',
    "{{printf \"%s\" (index (split .Names \"-\") 1)}}",
    "{{call .Names}}",
    "{{.ID | .Names}}",
    '{{.Label "x" "y"}}',
    "{{.Label 3}}",
    "{{range .Names}}{{end}}",
    "{{len .Labels}} {{.Labels | len | printf \"%03d\"}}",
    "{{if .Names}}\n{{.Names\n}}{{end}}",
    "a \n{{- .Names -}}\n b",
    "x {{- /* comment */ -}} y",
    '{{js "é\\u2028"}}',
    "{{.Names}}\\t{{.ID}}",
] + [text for text, _ in GO_ERRORS] + [text for text, _ in GO_PARSE_ERRORS]  # fmt: skip


def _ours_for_template(rows: list[dict[str, Any]], fmt: str) -> tuple[str, str]:
    """(stdout, stderr) as our pipeline would give them for `docker ps --format fmt`."""
    try:
        cfmt.ps_needs_size(fmt)
        contexts = [cfmt.ContainerContext(r, trunc=True, now=time.time()) for r in rows]
        return render_list(fmt, default_table=cfmt.PS_DEFAULT_TABLE, headers=cfmt.CONTAINER_HEADERS,
                           contexts=contexts), ""  # fmt: skip
    except TemplateError as exc:
        return "", exc.message


@pytest.mark.parametrize("fmt", ENGINE_TEMPLATES)
def test_go_template_engine_matches(api: Any, fmt: str) -> None:
    rows = api.containers(all=True, filters={"name": "^dockbell-fmt-a$"})
    result = cli("ps", "-a", "--filter", "name=^dockbell-fmt-a$", "--format", fmt)
    stdout, stderr = _ours_for_template(rows, fmt)
    assert (stdout, stderr) == (result.stdout, result.stderr.removesuffix("\n"))


# -- docker port / top ------------------------------------------------------------------------


def test_port_lists_everything(api: Any) -> None:
    for name in CONTAINERS:
        assert cfmt.format_port_output(api.inspect_container(name), None) == cli_out("port", name)


@pytest.mark.parametrize("wanted", ["80", "80/tcp", "81", "91/udp", "92/udp"])
def test_port_filter(api: Any, wanted: str) -> None:
    assert cfmt.format_port_output(api.inspect_container("dockbell-fmt-a"), wanted) == cli_out(
        "port", "dockbell-fmt-a", wanted
    )


def test_port_errors(api: Any) -> None:
    inspect = api.inspect_container("dockbell-fmt-a")
    for missing in ("9999", "91/tcp", "7000"):
        assert cfmt.format_port_output(inspect, missing) == ""
        result = cli("port", "dockbell-fmt-a", missing)
        assert result.returncode == 1
        # The CLI quotes the argument as typed (no "/tcp" added).
        assert result.stderr.strip() == f"Error: No public port '{missing}' published for dockbell-fmt-a"
    with pytest.raises(UserError) as caught:
        cfmt.format_port_output(inspect, "abc")
    assert caught.value.message == cli("port", "dockbell-fmt-a", "abc").stderr.strip()


@pytest.mark.parametrize("ps_args", [(), ("-o", "pid,comm"), ("aux",)])
def test_top(api: Any, ps_args: tuple[str, ...]) -> None:
    top = api.top("dockbell-fmt-a", ps_args=" ".join(ps_args) or None)
    assert sysfmt.format_top(top) == cli_out("top", "dockbell-fmt-a", *ps_args)


# -- docker images ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "flags"),
    [(None, ()), (None, ("--digests",)), (None, ("--no-trunc",)), (None, ("-q",)), ("json", ()),
     ("table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.Containers}}\t{{.SharedSize}}\t{{.UniqueSize}}"
      "\t{{.VirtualSize}}\t{{.Size}}\t{{.CreatedAt}}", ()),
     ("table {{.Repository}}", ("--digests",)), ("{{.Repository}}:{{.Tag}} {{.Digest}}", ())],
)  # fmt: skip
def test_images(api: Any, fmt: str | None, flags: tuple[str, ...]) -> None:
    repo = IMAGE.split(":")[0]

    def check() -> tuple[str, set[str]]:
        raw = api.images(name=repo)
        t0 = time.time()
        theirs = cli_out("images", repo, *flags, *(["--format", fmt] if fmt is not None else []))
        t1 = time.time()
        digests, quiet = "--digests" in flags, "-q" in flags
        source = ifmt.images_format(fmt, quiet=quiet, digests=digests)

        def render(now: float) -> str:
            rows = ifmt.image_rows(raw, digests=digests, trunc="--no-trunc" not in flags, now=now, fmt=source)
            return render_list(source, default_table=source, headers=ifmt.IMAGE_HEADERS, contexts=rows)

        return theirs, ours_for_any_now(render, t0, t1)

    eventually(check)


def test_images_template_error(api: Any) -> None:
    result = cli("images", "--format", "{{.Foo}}")
    rows = ifmt.image_rows(api.images(name="dockbell-test/busybox"), digests=False, trunc=True, now=time.time())
    with pytest.raises(TemplateError) as caught:
        render_list("{{.Foo}}", default_table="", headers=ifmt.IMAGE_HEADERS, contexts=rows)
    assert caught.value.message == result.stderr.strip()


# -- docker stats -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flags", [(), ("--no-trunc",), ("--format", "json"), ("--format", "table {{.Container}}\t{{.Name}}\t{{.ID}}")]
)
def test_stats_of_a_stopped_container(api: Any, flags: tuple[str, ...]) -> None:
    # A stopped container's sample is all zeros: every column is deterministic.
    sample = api.stats("dockbell-fmt-b", stream=False)
    context = sfmt.StatsContext(sfmt.compute_stats(sample), container="dockbell-fmt-b", trunc="--no-trunc" not in flags)
    fmt = flags[1] if flags[:1] == ("--format",) else None
    ours = render_list(fmt, default_table=sfmt.STATS_DEFAULT_TABLE, headers=sfmt.STATS_HEADERS, contexts=[context])
    assert ours == cli_out("stats", "--no-stream", *flags, "dockbell-fmt-b")


def test_stats_of_a_running_container(api: Any) -> None:
    fmt = "{{.Container}} {{.ID}} {{.Name}} {{.PIDs}} {{.MemUsage}} {{.CPUPerc}} {{.MemPerc}} {{.NetIO}} {{.BlockIO}}"
    sample = api.stats("dockbell-fmt-a", stream=False)
    context = sfmt.StatsContext(sfmt.compute_stats(sample), container="dockbell-fmt-a")
    ours = render_list(fmt, default_table="", headers=sfmt.STATS_HEADERS, contexts=[context]).split()
    theirs = cli_out("stats", "--no-stream", "--format", fmt, "dockbell-fmt-a").split()
    # Identity, PIDs and the memory limit are stable; usage numbers come from another sample.
    assert ours[:4] == theirs[:4]
    assert ours[6] == theirs[6]  # the memory limit
    for value in (ours, theirs):
        assert re.fullmatch(r"\d+\.\d\dMiB|\d+(\.\d+)?(B|KiB|MiB)", value[4]), value
        assert re.fullmatch(r"\d+\.\d\d%", value[7]) and re.fullmatch(r"\d+\.\d\d%", value[8]), value


# -- docker version / info -------------------------------------------------------------------


def test_version_server_section(api: Any) -> None:
    ours = sysfmt.format_version(api.version(), {"Version": "0.1.0", "ApiVersion": api.api_version})
    theirs = cli_out("version")
    assert ours.split("\n\n", 1)[1] == theirs.split("\n\n", 1)[1]
    assert ours.startswith(f"Client: dockbell\n Version:           0.1.0\n API version:       {api.api_version}\n")


def test_info_server_section(api: Any) -> None:
    def runtimes_as_set(text: str) -> str:
        # The CLI lists runtimes in Go map order (random from run to run).
        return re.sub(r"(?m)^ Runtimes: (.*)$", lambda m: " Runtimes: " + " ".join(sorted(m[1].split())), text)

    def check() -> tuple[str, set[str]]:
        info, version = api.info(), api.version()
        result = cli("info")
        theirs = "Server:" + result.stdout.split("\nServer:", 1)[1] + result.stderr.replace("\n\n", "\n")
        return runtimes_as_set(theirs), {runtimes_as_set(sysfmt.format_info(info, version))}

    eventually(check)
