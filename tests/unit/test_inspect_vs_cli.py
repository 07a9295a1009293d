"""``inspect -f`` on Go structs, compared with the real docker CLI on this machine.

docker executes an inspect template on its Go types: structs print as ``{a b}``, nil
pointers as ``<nil>``, ``{{json .X}}`` writes a struct's fields in order without the empty
``omitempty`` ones, and a template that fails on the struct runs again on the raw JSON
with missing keys as errors.  For containers made to exercise most of HostConfig and
Config, and for the test image, every template below must print what ``docker inspect -f``
prints, byte for byte, pointer addresses aside (Go's are arbitrary: both sides read
``0xADDR``).  Containers are named ``dockbell-insp-*`` and labelled ``dockbell.test=1``.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import tarfile
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bot.cli_output.formatters import images as ifmt
from bot.cli_output.formatters.listing import render_list
from bot.cli_output.formatters.templated import render_each
from bot.errors import TemplateError

pytestmark = pytest.mark.integration

IMAGE = "dockbell-test/busybox:latest"
LABEL = "dockbell.test=1"
VOLUME = "dockbell-insp-vol"

CONTAINERS: dict[str, list[str]] = {
    # running, with most of what run can set
    "dockbell-insp-full": [
        "run", "-d", "-p", "127.0.0.1:28190:80", "-p", "28191:81/udp", "--expose", "7000", "-l", "team=payments",
        "-l", "x=日本語", "-e", "MODE=prod", "--restart", "on-failure:3", "-v", f"{VOLUME}:/data",
        "--mount", "type=tmpfs,dst=/scratch,tmpfs-size=1m,tmpfs-mode=1770", "--stop-timeout", "7",
        "--stop-signal", "SIGINT", "--add-host", "db:10.0.0.5", "--dns", "9.9.9.9", "-m", "64m", "--cpus", "0.5",
        "--ulimit", "nofile=1024:2048", "--init", "--cap-add", "NET_ADMIN", "--tmpfs", "/run:size=1m",
        "-u", "1000:1000", "-w", "/tmp", "-h", "insp-host", "--pids-limit", "50", "--sysctl", "net.ipv4.ip_forward=1",
        IMAGE, "sleep", "600",
    ],
    # health checks that have run, then stopped, so that State.Health stays as it is
    "dockbell-insp-health": [
        "run", "-d", "--health-cmd", "echo ok", "--health-interval", "1s", "--health-retries", "2",
        "--health-timeout", "5s", "--entrypoint", "sleep", IMAGE, "600",
    ],
    "dockbell-insp-created": ["create", "--network", "none", "--read-only", IMAGE, "true"],
}  # fmt: skip

CONTAINER_TEMPLATES = [
    "{{.State}}", "{{.Config}}", "{{.HostConfig}}", "{{.HostConfig.RestartPolicy}}", "{{.NetworkSettings}}",
    "{{.NetworkSettings.Ports}}", "{{.NetworkSettings.Networks}}", "{{range .NetworkSettings.Networks}}{{.}}{{end}}",
    "{{.Mounts}}", "{{.HostConfig.Mounts}}", "{{.Config.Healthcheck}}", "{{.State.Health}}", "{{.State.Health.Log}}",
    "{{range .State.Health.Log}}{{.}};{{end}}", "{{json .State}}", "{{json .Config}}", "{{json .HostConfig}}",
    "{{json .NetworkSettings}}", "{{json .Mounts}}", "{{json .}}", "{{.}}", "{{.GraphDriver}}",
    '{{printf "%+v" .HostConfig.RestartPolicy}}', '{{printf "%v" .State}}', '{{printf "%+v" .Config.Healthcheck}}',
    '{{printf "%T %T %T" .Config.StopTimeout .HostConfig.PortBindings .HostConfig.BlkioWeight}}',
    '{{printf "%s|%d" .HostConfig.RestartPolicy .HostConfig.LogConfig}}', "{{.Config.StopTimeout}}",
    "{{.HostConfig.Ulimits}}", "{{range .HostConfig.Ulimits}}{{.}}{{end}}", "{{.HostConfig.Init}}",
    "{{.HostConfig.PidsLimit}}", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}", "{{.HostConfig.ConsoleSize}}",
    "{{index .HostConfig.Mounts 0}}", "{{(index .HostConfig.Mounts 0).TmpfsOptions}}",
    "{{.Config.ExposedPorts}}", "{{.HostConfig.PortBindings}}", "{{.HostConfig.Tmpfs}}", "{{.HostConfig.Sysctls}}",
    '{{index .Config.Labels "x"}} {{index .Config.Labels "nope"}}|{{.Config.Labels.nope}}',
    "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}", "{{.Config.Volumes}}", "{{.SizeRw}}",
    "{{with .State.Health}}{{.Status}}{{else}}none{{end}}", "{{if .HostConfig.Init}}init{{end}}",
    "{{.State.Status}} {{.State.Running}} {{.RestartCount}} {{.Name}}",
    # these fail on the struct and run again on the JSON
    "{{.Nope}}", "{{.State.Nope}}", "{{len .State}}", "{{range $k, $v := .State}}{{$k}} {{end}}",
    "{{.State.Health.Status}}", "{{.State}} {{.Nope}}", "{{index .State \"Pid\"}}",
]  # fmt: skip

IMAGE_TEMPLATES = [
    "{{.Config}}", "{{json .Config}}", "{{.RootFS}}", "{{.Metadata}}", "{{json .Metadata}}", "{{json .}}", "{{.}}",
    "{{.ContainerConfig}}", "{{.GraphDriver.Name}}", "{{.Metadata.LastTagTime}}", "{{.Config.Cmd}}",
    "{{.Config.Labels}}", "{{.Config.Healthcheck}}", '{{printf "%T" .Config}}', "{{.Nope}}", "{{.RepoTags}}",
]  # fmt: skip

_ADDRESS = re.compile(r"0xc[0-9a-f]{9,}")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60, check=False)


def cli_out(*args: str) -> str:
    result = cli(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def api(docker_api: Any) -> Iterator[Any]:
    """The rig's engine (docker_api) with the containers above; only these are removed."""
    import docker

    client = docker.APIClient(version="auto")
    created: list[str] = []
    try:
        for name, args in CONTAINERS.items():
            cli("rm", "-f", name)  # a leftover from an interrupted run
            verb, *rest = args
            cli_out(verb, "--name", name, "--label", LABEL, *rest)
            created.append(name)
        for _ in range(100):  # two health checks have run
            if cli_out("inspect", "-f", "{{len .State.Health.Log}}", "dockbell-insp-health").strip() >= "2":
                break
            time.sleep(0.1)
        cli_out("stop", "-t", "0", "dockbell-insp-health")
        yield client
    finally:
        for name in created:
            cli("rm", "-f", "-v", name)
        cli("volume", "rm", VOLUME)


def ours(doc: object, fmt: str) -> str:
    try:
        return _ADDRESS.sub("0xADDR", render_each(fmt, [doc]))
    except TemplateError as err:
        return "ERROR " + _ADDRESS.sub("0xADDR", err.message)


def theirs(fmt: str, name: str) -> str:
    result = cli("inspect", "-f", fmt, name)
    if result.returncode:
        return "ERROR " + _ADDRESS.sub("0xADDR", result.stderr.strip())
    return _ADDRESS.sub("0xADDR", result.stdout.removesuffix("\n"))


@pytest.mark.parametrize("name", list(CONTAINERS))
@pytest.mark.parametrize("fmt", CONTAINER_TEMPLATES)
def test_container_templates(api: Any, name: str, fmt: str) -> None:
    # The engine lists Mounts in map order, which changes from one inspect to the next: a few
    # tries until both reads saw the same order.
    for _ in range(10):
        mine, real = ours(api.inspect_container(name), fmt), theirs(fmt, name)
        if mine == real:
            break
    assert mine == real


@pytest.mark.parametrize("fmt", IMAGE_TEMPLATES)
def test_image_templates(api: Any, fmt: str) -> None:
    assert ours(api.inspect_image(IMAGE), fmt) == theirs(fmt, IMAGE)


# -- docker images: an image without a creation date -----------------------------------------------

DATELESS = "dockbell-insp-dateless"


def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _image_archive(tag: str, created: str | None) -> bytes:
    """A one-layer `docker save` archive made here (no registry): ``created`` as the config has it."""
    layer = _tar({"hello.txt": tag.encode()})
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config: dict[str, Any] = {"architecture": "amd64", "os": "linux", "config": {"Labels": {"dockbell.test": "1"}},
                              "rootfs": {"type": "layers", "diff_ids": [diff_id]}}  # fmt: skip
    if created is not None:
        config["created"] = created
    raw = json.dumps(config).encode()
    name = hashlib.sha256(raw).hexdigest() + ".json"
    manifest = [{"Config": name, "RepoTags": [tag], "Layers": ["layer.tar"]}]
    return _tar({"layer.tar": layer, name: raw, "manifest.json": json.dumps(manifest).encode()})


@pytest.fixture(scope="module")
def dateless(docker_api: Any) -> Iterator[Any]:
    import docker

    client = docker.APIClient(version="auto")
    tags = {"none": None, "zero": "0001-01-01T00:00:00Z", "epoch": "1970-01-01T00:00:00Z"}
    for tag, created in tags.items():
        loaded = subprocess.run(["docker", "load"], input=_image_archive(f"{DATELESS}:{tag}", created),
                                capture_output=True, timeout=60, check=False)  # fmt: skip
        assert loaded.returncode == 0, loaded.stderr
    try:
        yield client
    finally:
        for tag in tags:
            cli("rmi", "-f", f"{DATELESS}:{tag}")


@pytest.mark.parametrize(
    "fmt", [None, "json", "{{.Tag}} {{.CreatedSince}}|{{.CreatedAt}}", "table {{.Tag}}\t{{.CreatedAt}}"]
)
def test_images_without_a_creation_date(dateless: Any, fmt: str | None) -> None:
    # CREATED is N/A for the zero time; 1970 is a date like any other ("56 years ago")
    raw = dateless.images(name=DATELESS)
    flags = ["--format", fmt] if fmt is not None else []
    t0 = time.time()
    real = cli_out("images", DATELESS, *flags).removesuffix("\n")
    t1 = time.time()
    source = ifmt.images_format(fmt, quiet=False, digests=False)
    mine = []
    for now in (t0, t1):
        rows = ifmt.image_rows(raw, digests=False, trunc=True, now=now, fmt=source)
        mine.append(render_list(source, default_table=source, headers=ifmt.IMAGE_HEADERS, contexts=rows))
    # the two images without a date tie on Created: the engine lists them in either order
    assert sorted(real.splitlines()) in [sorted(text.splitlines()) for text in mine]
    if fmt is None:
        assert "N/A" in real and "years ago" in real
