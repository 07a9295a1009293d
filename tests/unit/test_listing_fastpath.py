"""The fast path for plain `{{.Field}}` formats prints exactly what the template interpreter prints."""

from __future__ import annotations

import pytest

from bot.cli_output import gotemplate
from bot.cli_output.formatters import containers as cfmt
from bot.cli_output.formatters import images as ifmt
from bot.cli_output.formatters.listing import _simple_rows, pre_format

NOW = 1_800_000_000.0
CONTAINERS = [
    {
        "Id": "a" * 64,
        "Names": ["/web", "/other/link"],
        "Image": "nginx:1.27",
        "Command": "nginx -g 'daemon off;'",
        "Created": NOW - 300,
        "State": "running",
        "Status": "Up 5 minutes (healthy)",
        "Ports": [{"PrivatePort": 80, "PublicPort": 8080, "Type": "tcp", "IP": "0.0.0.0"}],
        "Labels": {"team": "payments", "x": "日本語"},
        "SizeRw": 12,
        "SizeRootFs": 4_260_000,
    },
    {
        "Id": "b" * 64,
        "Names": ["/db"],
        "Image": "sha256:" + "c" * 64,
        "Command": "",
        "Created": NOW - 86_400 * 3,
        "State": "exited",
        "Status": "Exited (137) 2 days ago",
        "Ports": [],
        "Labels": {},
    },
]
IMAGES = [
    {
        "Id": "sha256:" + "d" * 64,
        "RepoTags": ["busybox:latest", "busybox:1.36"],
        "RepoDigests": [],
        "Created": NOW - 3600,
        "Size": 4_261_550,
        "Labels": None,
    },
    {"Id": "sha256:" + "e" * 64, "RepoTags": None, "RepoDigests": None, "Created": NOW - 99, "Size": 0},
]


@pytest.mark.parametrize("trunc", [True, False])
@pytest.mark.parametrize(
    "fmt",
    [
        cfmt.PS_DEFAULT_TABLE,
        cfmt.PS_DEFAULT_TABLE_WITH_SIZE,
        "{{.ID}}",
        "{{.Names}}: {{.Status}}",
        "table {{.ID}}\\t{{.Labels}}\\t{{.Mounts}}\\t{{.Networks}}\\t{{.State}}\\t{{.CreatedAt}}",
    ],
)
def test_containers_fast_path_equals_interpreter(fmt: str, trunc: bool) -> None:
    contexts = [cfmt.ContainerContext(c, trunc=trunc, now=NOW) for c in CONTAINERS]
    text = pre_format(fmt)
    fast = _simple_rows(text, contexts)
    assert fast is not None
    template = gotemplate.parse(text)
    assert fast == [template.execute(c) + "\n" for c in contexts]


@pytest.mark.parametrize("fmt", ["table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.Size}}", "{{.ID}} {{.CreatedSince}}"])
def test_images_fast_path_equals_interpreter(fmt: str) -> None:
    contexts = ifmt.image_rows(IMAGES, digests=False, trunc=True, now=NOW)
    text = pre_format(fmt)
    fast = _simple_rows(text, contexts)
    assert fast is not None
    template = gotemplate.parse(text)
    assert fast == [template.execute(c) + "\n" for c in contexts]


@pytest.mark.parametrize("fmt", ["{{json .}}", '{{.Label "team"}}', "{{- .ID}}", "{{.ID | upper}}", "{{.Nope}}"])
def test_other_formats_take_the_interpreter(fmt: str) -> None:
    contexts = [cfmt.ContainerContext(c, trunc=True, now=NOW) for c in CONTAINERS]
    assert _simple_rows(pre_format(fmt), contexts) is None
